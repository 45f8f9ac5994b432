"""A synthesized cloud assembly (``cdk.out``) read as CloudFormation would deploy it, with local values.

Every stack's intrinsic functions are resolved the way CloudFormation resolves them at deploy time:
``Ref`` and ``Fn::GetAtt`` of a resource give its physical name, id or attribute, which for resources
the runner creates in moto are moto's own (table names, queue URLs, stream ARNs, user pool ids).
Physical resources are made on first reference, so dependencies are created before what uses them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AWS_URL_SUFFIX = "amazonaws.com"


class AssemblyError(Exception):
    """The cloud assembly cannot be read or a template cannot be resolved; the message says where."""


@dataclass
class Physical:
    """A deployed resource: what ``Ref`` gives and its ``Fn::GetAtt`` attributes."""

    ref: str
    attributes: dict[str, Any] = field(default_factory=dict)


# Creates a resource (in moto, or only a name for it) from its resolved properties.
Provision = Callable[["StackTemplate", str, str, dict[str, Any]], Physical]


def stable_suffix(stack_name: str, logical_id: str) -> str:
    """16 upper-case hex digits derived from the resource: the same on every run."""
    return hashlib.sha256(f"{stack_name}/{logical_id}".encode()).hexdigest()[:16].upper()


def generated_name(stack_name: str, logical_id: str, *, max_length: int = 64, lowercase: bool = False) -> str:
    """A physical name as CloudFormation makes one (``<stack>-<logicalId>-<suffix>``), stable per input."""
    suffix = stable_suffix(stack_name, logical_id)[:12]
    head = f"{stack_name}-{logical_id}"[: max_length - len(suffix) - 1]
    name = f"{head}-{suffix}"
    return name.lower() if lowercase else name


class StackTemplate:
    """One synthesized stack, its intrinsics resolved against local resources (a `TemplateView`)."""

    def __init__(
        self,
        assembly: CloudAssembly,
        name: str,
        template: Mapping[str, Any],
        directory: Path,
        asset_manifest: Path | None = None,
    ) -> None:
        self.assembly = assembly
        self.directory = directory
        self._name = name
        self.template = template
        self.resources: dict[str, Mapping[str, Any]] = dict(template.get("Resources", {}))
        self._physical: dict[str, Physical] = {}
        self._resolving: list[str] = []
        self._asset_paths = _read_asset_manifest(directory, asset_manifest)

    @property
    def stack_name(self) -> str:
        return self._name

    @property
    def region(self) -> str:
        return self.assembly.region

    @property
    def account(self) -> str:
        return self.assembly.account

    def resources_of_type(self, *resource_types: str) -> dict[str, Mapping[str, Any]]:
        """Resources of these types that CloudFormation would create (their Condition, if any, holds)."""
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if resource.get("Type") in resource_types and self._created(resource)
        }

    def _created(self, resource: Mapping[str, Any]) -> bool:
        return "Condition" not in resource or self.condition(str(resource["Condition"]))

    def ref(self, logical_id: str) -> str:
        return str(self.resolve({"Ref": logical_id}))

    def physical(self, logical_id: str) -> Physical:
        """The resource's physical identity, creating it (and what it references) on first use."""
        if logical_id in self._physical:
            return self._physical[logical_id]
        if logical_id not in self.resources:
            raise AssemblyError(f"{self._name}: no resource '{logical_id}' in the template")
        if logical_id in self._resolving:
            cycle = " -> ".join([*self._resolving, logical_id])
            raise AssemblyError(f"{self._name}: circular reference {cycle}")
        self._resolving.append(logical_id)
        resource = self.resources[logical_id]
        resource_type = str(resource.get("Type"))
        if not self._created(resource):
            self._resolving.pop()
            raise AssemblyError(
                f"{self._name}/{logical_id} is not created: its condition {resource['Condition']} is false"
            )
        try:
            self._physical[logical_id] = self.assembly.provision(self, logical_id, resource_type, resource)
        except AssemblyError:
            raise
        except Exception as error:
            # moto refusing a definition (or any other failure) names the resource it was for.
            raise AssemblyError(
                f"{self._name}/{logical_id} ({resource_type}) could not be created locally: {error}"
            ) from error
        finally:
            self._resolving.pop()
        return self._physical[logical_id]

    def asset_directory(self, object_key: str) -> Path:
        """The staged directory of the file asset published under `object_key` (a function's S3Key)."""
        try:
            return self._asset_paths[object_key]
        except KeyError:
            raise AssemblyError(f"{self._name}: no file asset with object key '{object_key}'") from None

    def condition(self, name: str) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise AssemblyError(f"{self._name}: no condition '{name}'")
        return bool(self.resolve(conditions[name]))

    def output(self, output_name: str) -> Any:
        outputs = self.template.get("Outputs", {})
        if output_name not in outputs:
            raise AssemblyError(f"{self._name}: no output '{output_name}'")
        return self.resolve(outputs[output_name]["Value"])

    def exports(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for output in self.template.get("Outputs", {}).values():
            if "Export" in output:
                yield str(self.resolve(output["Export"]["Name"])), output

    # Intrinsic functions ------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        resolved = self._resolve(value)
        return None if resolved is _NO_VALUE else resolved

    def _resolve(self, value: Any) -> Any:
        """`resolve`, keeping ``AWS::NoValue`` so that the list or object holding it drops it."""
        if isinstance(value, list):
            return [item for item in (self._resolve(item) for item in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Condition":
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        return {
            key: item
            for key, item in ((k, self._resolve(v)) for k, v in value.items())
            if item is not _NO_VALUE
        }

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": AWS_URL_SUFFIX,
            "AWS::StackName": self._name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self._name}/local",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        parameters = self.template.get("Parameters", {})
        if name in parameters:
            return self._parameter(name, parameters[name])
        return self.physical(name).ref

    def _parameter(self, name: str, parameter: Mapping[str, Any]) -> Any:
        """A parameter's default as CloudFormation passes it: a string, or strings for list types."""
        if "Default" not in parameter:
            raise AssemblyError(f"{self._name}: parameter '{name}' has no default to run with locally")
        parameter_type = str(parameter.get("Type", "String"))
        default = parameter["Default"]
        if parameter_type.startswith("AWS::SSM::Parameter::Value<"):
            raise AssemblyError(
                f"{self._name}: parameter '{name}' is read from SSM parameter {default} at deploy time, "
                "which is not available locally"
            )
        if parameter_type == "CommaDelimitedList" or parameter_type.startswith("List<"):
            return [item.strip() for item in str(default).split(",")]
        return cfn_text(default)

    def _function(self, key: str, argument: Any) -> Any:  # noqa: PLR0911, PLR0912 -- one branch per intrinsic
        if key == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self._get_att(logical_id, str(self.resolve(attribute)))
        if key == "Fn::Join":
            separator, items = argument
            return str(separator).join(cfn_text(item) for item in self.resolve(items))
        if key == "Fn::Sub":
            return self._sub(argument)
        if key == "Fn::Select":
            index, items = self.resolve(argument)
            return items[int(index)]
        if key == "Fn::Split":
            separator, text = self.resolve(argument)
            return str(text).split(separator)
        if key == "Fn::If":
            name, when_true, when_false = argument
            return self._resolve(when_true if self.condition(name) else when_false)
        if key == "Fn::Equals":
            left, right = self.resolve(argument)
            return left == right
        if key == "Fn::Not":
            return not self.resolve(argument)[0]
        if key == "Fn::And":
            return all(self.resolve(argument))
        if key == "Fn::Or":
            return any(self.resolve(argument))
        if key == "Fn::ImportValue":
            return self.assembly.import_value(str(self.resolve(argument)))
        if key == "Fn::GetStackOutput":
            spec = self.resolve(argument)
            return self.assembly.stack(str(spec["StackName"])).output(str(spec["OutputName"]))
        if key == "Fn::Base64":
            return base64.b64encode(cfn_text(self.resolve(argument)).encode()).decode()
        if key == "Fn::GetAZs":
            return [f"{self.region}{zone}" for zone in "abc"]
        if key == "Fn::FindInMap":
            map_name, top, second = self.resolve(argument)
            return self.template["Mappings"][map_name][top][second]
        if key == "Fn::ToJsonString":
            return json.dumps(self.resolve(argument), separators=(",", ":"))
        raise AssemblyError(f"{self._name}: the intrinsic function {key} is not supported locally")

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        physical = self.physical(logical_id)
        if attribute not in physical.attributes:
            resource_type = self.resources[logical_id].get("Type")
            raise AssemblyError(
                f"{self._name}/{logical_id}: attribute '{attribute}' of {resource_type} "
                "is not emulated locally"
            )
        return physical.attributes[attribute]

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self.resolve(value) for name, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return cfn_text(values[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return cfn_text(self._get_att(logical_id, attribute))
            return cfn_text(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))


def _read_asset_manifest(directory: Path, manifest: Path | None) -> dict[str, Path]:
    """Where each file asset was staged, by the object key it is published under."""
    if manifest is None or not manifest.exists():
        return {}
    paths = {}
    for asset in json.loads(manifest.read_text()).get("files", {}).values():
        for destination in asset.get("destinations", {}).values():
            paths[destination["objectKey"]] = directory / asset["source"]["path"]
    return paths


class _NoValue:
    """``AWS::NoValue``: removes the property or list item it is the value of."""


_NO_VALUE = _NoValue()


def cfn_text(value: Any) -> str:
    """`value` as CloudFormation renders it in a string (booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class CloudAssembly:
    """Every stack of a ``cdk.out`` directory (nested stages included), in deployment order."""

    def __init__(self, directory: Path, *, region: str, account: str, provision: Provision) -> None:
        self.directory = directory
        self.region = region
        self.account = account
        self._provision = provision
        manifest_path = directory / "manifest.json"
        if not manifest_path.exists():
            raise AssemblyError(
                f"{directory} is not a cloud assembly (no manifest.json): run `cdk synth` first"
            )
        self.stacks: list[StackTemplate] = []
        self._load(directory)

    def _load(self, directory: Path) -> None:
        artifacts: dict[str, Any] = json.loads((directory / "manifest.json").read_text()).get("artifacts", {})
        order = _deployment_order(artifacts)
        for artifact_id in order:
            artifact = artifacts[artifact_id]
            properties = artifact.get("properties", {})
            if artifact["type"] == "aws:cloudformation:stack":
                template = json.loads((directory / properties["templateFile"]).read_text())
                stack_name = properties.get("stackName", artifact_id)
                # The asset manifest is named after the artifact id, which a stack name may differ from.
                manifests = [
                    directory / artifacts[dependency]["properties"]["file"]
                    for dependency in artifact.get("dependencies", [])
                    if artifacts.get(dependency, {}).get("type") == "cdk:asset-manifest"
                ]
                asset_manifest = manifests[0] if manifests else directory / f"{artifact_id}.assets.json"
                self.stacks.append(StackTemplate(self, stack_name, template, directory, asset_manifest))
            elif artifact["type"] == "cdk:cloud-assembly":
                self._load(directory / properties["directoryName"])

    def stack(self, name: str) -> StackTemplate:
        for stack in self.stacks:
            if stack.stack_name == name:
                return stack
        raise AssemblyError(f"no stack named '{name}' in {self.directory}")

    def import_value(self, export_name: str) -> Any:
        for stack in self.stacks:
            for name, output in stack.exports():
                if name == export_name:
                    return stack.resolve(output["Value"])
        raise AssemblyError(f"no stack exports '{export_name}'")

    def provision(
        self, stack: StackTemplate, logical_id: str, resource_type: str, resource: Mapping[str, Any]
    ) -> Physical:
        return self._provision(stack, logical_id, resource_type, dict(resource))


def _deployment_order(artifacts: Mapping[str, Any]) -> list[str]:
    """Artifact ids with every dependency before what depends on it, otherwise in manifest order."""
    ordered: list[str] = []

    def visit(artifact_id: str) -> None:
        if artifact_id in ordered or artifact_id not in artifacts:
            return
        for dependency in artifacts[artifact_id].get("dependencies", []):
            visit(dependency)
        ordered.append(artifact_id)

    for artifact_id in artifacts:
        visit(artifact_id)
    return ordered
