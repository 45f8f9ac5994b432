"""The structural difference between two cloud assemblies, stack by stack, without the CDK's noise.

Left out: the ``AWS::CDK::Metadata`` resource and its ``CDKMetadataAvailable`` condition, the
bootstrap-version parameter and rule (the CDK adds them to every stack; they change with the
CLI, not with the app), and resources that differ only in asset hashes (a new bundle of the
same function: the code review shows that change, the template only its fingerprint).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_lib.diff._spec import DiffError, ReplacementSpec

Template = Mapping[str, Any]

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
IGNORED_RESOURCE_TYPES = frozenset({"AWS::CDK::Metadata"})
IGNORED_ENTRIES = {
    "Conditions": frozenset({"CDKMetadataAvailable"}),
    "Parameters": frozenset({"BootstrapVersion"}),
    "Rules": frozenset({"CheckBootstrapVersion"}),
}
OTHER_SECTIONS = ("Parameters", "Conditions", "Mappings", "Rules", "Outputs")
# Resource attributes compared besides Properties (Metadata is reviewers' noise: paths and asset ids).
RESOURCE_ATTRIBUTES = ("DeletionPolicy", "UpdateReplacePolicy", "DependsOn", "Condition", "UpdatePolicy")


@dataclass(frozen=True)
class ValueChange:
    """One changed top-level property (or resource attribute) of a resource."""

    name: str
    old: Any
    new: Any
    replacement: str | None = None  # "yes" or "maybe" from the specification


@dataclass(frozen=True)
class ResourceChange:
    logical_id: str
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    changes: tuple[ValueChange, ...] = ()

    @property
    def type(self) -> str:
        return str((self.new or self.old or {}).get("Type", "?"))

    @property
    def kind(self) -> str:
        """added, removed, replaced, may-replace or changed."""
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        impacts = {change.replacement for change in self.changes}
        if "yes" in impacts:
            return "replaced"
        return "may-replace" if "maybe" in impacts else "changed"


@dataclass(frozen=True)
class EntryChange:
    """An added, removed or changed output, parameter, condition, mapping or rule."""

    section: str
    name: str
    old: Any
    new: Any


@dataclass
class StackDiff:
    name: str
    old: Template | None
    new: Template | None
    resources: list[ResourceChange] = field(default_factory=list)
    entries: list[EntryChange] = field(default_factory=list)
    hash_only: list[str] = field(default_factory=list)  # logical ids left out

    @property
    def status(self) -> str:
        if self.old is None:
            return "new stack"
        return "stack removed" if self.new is None else ""

    @property
    def is_empty(self) -> bool:
        return not self.resources and not self.entries

    def count(self, kind: str) -> int:
        if kind == "replaced":
            return sum(change.kind in {"replaced", "may-replace"} for change in self.resources)
        return sum(change.kind == kind for change in self.resources)


def read_templates(directory: Path) -> dict[str, dict[str, Any]]:
    """The templates of a cloud assembly (or any folder of ``*.template.json``) by stack name.

    Stacks in a Stage live in ``assembly-<Stage>/``: they are named ``<Stage>/<file stem>``.
    """
    if not directory.is_dir():
        raise DiffError(f"{directory} is not a directory of templates")
    templates: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.template.json")):
        parts = [part.removeprefix("assembly-") for part in path.relative_to(directory).parent.parts]
        name = "/".join([*parts, path.name.removesuffix(".template.json")])
        try:
            templates[name] = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise DiffError(f"{path} is not JSON: {error}") from error
    return templates


def _without_hashes(value: Any) -> str:
    return ASSET_HASH.sub("<asset-hash>", json.dumps(value, sort_keys=True))


def _resources(template: Template | None) -> dict[str, Mapping[str, Any]]:
    resources = (template or {}).get("Resources", {})
    return {
        logical_id: resource
        for logical_id, resource in resources.items()
        if resource.get("Type") not in IGNORED_RESOURCE_TYPES
    }


def _value_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], spec: ReplacementSpec
) -> Iterator[ValueChange]:
    resource_type = str(new.get("Type"))
    if old.get("Type") != new.get("Type"):
        yield ValueChange("Type", old.get("Type"), new.get("Type"), "yes")
        return
    old_props, new_props = old.get("Properties", {}), new.get("Properties", {})
    for name in sorted({*old_props, *new_props}):
        if old_props.get(name) != new_props.get(name):
            yield ValueChange(
                name, old_props.get(name), new_props.get(name), spec.replacement(resource_type, name)
            )
    for attribute in RESOURCE_ATTRIBUTES:
        if old.get(attribute) != new.get(attribute):
            yield ValueChange(attribute, old.get(attribute), new.get(attribute))


def diff_stack(name: str, old: Template | None, new: Template | None, spec: ReplacementSpec) -> StackDiff:
    stack = StackDiff(name, old, new)
    before, after = _resources(old), _resources(new)
    for logical_id in sorted({*before, *after}):
        old_resource, new_resource = before.get(logical_id), after.get(logical_id)
        if old_resource is None or new_resource is None:
            stack.resources.append(ResourceChange(logical_id, old_resource, new_resource))
        elif old_resource != new_resource:
            if _without_hashes(old_resource) == _without_hashes(new_resource):
                stack.hash_only.append(logical_id)
                continue
            changes = tuple(_value_changes(old_resource, new_resource, spec))
            if changes:  # else only Metadata changed: construct paths, asset ids
                stack.resources.append(ResourceChange(logical_id, old_resource, new_resource, changes))
    for section in OTHER_SECTIONS:
        old_entries, new_entries = (old or {}).get(section, {}), (new or {}).get(section, {})
        for entry in sorted({*old_entries, *new_entries} - IGNORED_ENTRIES.get(section, frozenset())):
            old_value, new_value = old_entries.get(entry), new_entries.get(entry)
            if old_value != new_value and _without_hashes(old_value) != _without_hashes(new_value):
                stack.entries.append(EntryChange(section, entry, old_value, new_value))
    return stack


def diff_assemblies(
    base: Mapping[str, Template], head: Mapping[str, Template], spec: ReplacementSpec
) -> list[StackDiff]:
    return [diff_stack(name, base.get(name), head.get(name), spec) for name in sorted({*base, *head})]
