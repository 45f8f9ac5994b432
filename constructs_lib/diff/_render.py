"""The diff as text: per stack, its resource changes, then its warnings; then one summary.

The format follows `cdk diff`: ``[+]`` added, ``[-]`` removed, ``[~]`` changed, with
``(replace)`` / ``(may replace)`` on the resources a change replaces.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from constructs_lib.diff._checks import Warning
from constructs_lib.diff._compare import EntryChange, ResourceChange, StackDiff

MAX_VALUE = 300  # characters of one old or new value; a policy or schema can be kilobytes
BANNERS = {"data-loss": "!!!! DATA LOSS", "security": "!!!! SECURITY", "iam": "---- IAM"}
_MARKS = {"added": "[+]", "removed": "[-]"}
_IMPACT = {"replaced": " (replace)", "may-replace": " (may replace)"}


def _value(value: Any) -> str:
    text = "(absent)" if value is None else json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_VALUE else f"{text[:MAX_VALUE]}... ({len(text)} characters)"


def _leaf_changes(path: str, old: Any, new: Any) -> Iterator[tuple[str, Any, Any]]:
    """The smallest changed parts of a value: keys of objects, items of lists, as (path, old, new)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted({*old, *new}):
            if old.get(key) != new.get(key):
                yield from _leaf_changes(f"{path}.{key}", old.get(key), new.get(key))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            if before != after:
                yield from _leaf_changes(f"{path}[{index}]", before, after)
    elif isinstance(old, list) and isinstance(new, list):  # items added or removed
        yield from ((f"{path}[{i}]", item, None) for i, item in enumerate(old) if item not in new)
        yield from ((f"{path}[{i}]", None, item) for i, item in enumerate(new) if item not in old)
    else:
        yield path, old, new


def _resource_lines(change: ResourceChange) -> Iterator[str]:
    mark = _MARKS.get(change.kind, "[~]")
    yield f"{mark} {change.type} {change.logical_id}{_IMPACT.get(change.kind, '')}"
    impact = {"yes": " (requires replacement)", "maybe": " (may require replacement)"}
    for value in change.changes:
        yield f"    ~ {value.name}{impact.get(value.replacement or '', '')}"
        for path, old, new in _leaf_changes("", value.old, value.new):
            where = f" {path.lstrip('.')}:" if path else ""
            if old is not None:
                yield f"        -{where} {_value(old)}"
            if new is not None:
                yield f"        +{where} {_value(new)}"


def _entry_line(entry: EntryChange) -> str:
    mark = "[+]" if entry.old is None else "[-]" if entry.new is None else "[~]"
    return f"{mark} {entry.section[:-1] if entry.section.endswith('s') else entry.section} {entry.name}"


def stack_lines(stack: StackDiff, warnings: list[Warning]) -> Iterator[str]:
    status = f" ({stack.status})" if stack.status else ""
    yield f"==== Stack {stack.name}{status} ===="
    if stack.is_empty:
        yield "There were no differences"
    for change in stack.resources:
        yield from _resource_lines(change)
    for entry in stack.entries:
        yield _entry_line(entry)
    if stack.hash_only:
        yield (
            f"({len(stack.hash_only)} resource(s) differ only in asset hashes, i.e. rebuilt code or "
            f"files, and are not listed: {', '.join(stack.hash_only)})"
        )
    for warning in warnings:
        if warning.stack == stack.name:
            yield f"{BANNERS[warning.category]}: {warning.line()}"
    yield ""


def summary_lines(stacks: list[StackDiff], warnings: list[Warning]) -> Iterator[str]:
    yield "==== Summary ===="
    for stack in stacks:
        counts = ", ".join(
            f"{stack.count(kind)} {kind}" for kind in ("added", "changed", "replaced", "removed")
        )
        found = [
            f"{count} {category}"
            for category in BANNERS
            if (count := sum(w.stack == stack.name and w.category == category for w in warnings))
        ]
        yield f"{stack.name}: {counts}{'; warnings: ' + ', '.join(found) if found else ''}"
    loud = [w for w in warnings if w.category != "iam"]
    if loud:
        yield ""
        yield f"!!!! {len(loud)} change(s) lose or expose data (see above): review before merging."
