"""The CfnResource baseline: an app that emits given templates with nothing but `CfnResource`.

``python -m benchmarks.baseline_app SPEC`` reads SPEC (written by `write_spec` from a synthesized
cloud assembly: each stack's name, environment, dependencies and template) and builds one Stack
per template holding each resource as a `CfnResource` with the same type, properties, logical
id, dependencies and attributes, and each output, then synthesizes with cdk.json's context. It
is the least the CDK itself needs to emit these templates: the yardstick of the library's overhead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The CDK adds these itself, in both apps.
_CDK_OWN = {"Parameters": {"BootstrapVersion"}, "Rules": {"CheckBootstrapVersion"}}
_RESOURCE_ATTRIBUTES = (
    "DependsOn",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "UpdatePolicy",
    "CreationPolicy",
)


def cdk_json_context() -> dict[str, Any]:
    """The context the CDK CLI passes from cdk.json: both apps synthesize with the same feature flags."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def write_spec(assembly: Path, spec: Path) -> int:
    """Write the baseline's input from a synthesized assembly; return the number of resources."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    stacks = []
    resources = 0
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        template = json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
        for section, names in template.items():
            unsupported = (
                set(names) - _CDK_OWN.get(section, set())
                if section not in ("Resources", "Outputs")
                else set()
            )
            if unsupported:
                raise ValueError(f"{name}: the baseline does not re-create {section} {sorted(unsupported)}")
        resources += len(template["Resources"])
        account, region = artifact["environment"].removeprefix("aws://").split("/")
        stacks.append(
            {
                "name": name,
                "account": account,
                "region": region,
                "termination_protection": artifact["properties"].get("terminationProtection", False),
                "dependencies": [
                    d
                    for d in artifact.get("dependencies", [])
                    if d in manifest["artifacts"]
                    and manifest["artifacts"][d]["type"] == "aws:cloudformation:stack"
                ],
                "template": template,
            }
        )
    spec.write_text(json.dumps(stacks))
    return resources


def build(spec: list[dict[str, Any]]) -> Any:
    from aws_cdk import App, CfnOutput, CfnResource, Environment, Stack, Token  # noqa: PLC0415

    app = App(context=cdk_json_context())
    stacks: dict[str, Any] = {}
    for entry in spec:
        unknown = entry["account"].startswith("unknown")
        stack = Stack(
            app,
            entry["name"],
            env=None if unknown else Environment(account=entry["account"], region=entry["region"]),
            termination_protection=entry["termination_protection"],
        )
        stacks[entry["name"]] = stack
        template = entry["template"]
        for logical_id, resource in template["Resources"].items():
            # A construct directly in a stack takes its id as logical id: no override needed.
            cfn = CfnResource(stack, logical_id, type=resource["Type"], properties=resource.get("Properties"))
            for attribute in _RESOURCE_ATTRIBUTES:
                if attribute in resource:
                    cfn.add_override(attribute, resource[attribute])
            metadata = {k: v for k, v in resource.get("Metadata", {}).items() if k != "aws:cdk:path"}
            if metadata:
                cfn.add_override("Metadata", metadata)
        for logical_id, output in template.get("Outputs", {}).items():
            CfnOutput(
                stack,
                logical_id,
                value=Token.as_string(output["Value"]),
                export_name=output.get("Export", {}).get("Name"),
                description=output.get("Description"),
            )
    for entry in spec:
        for dependency in entry["dependencies"]:
            stacks[entry["name"]].add_stack_dependency(stacks[dependency])
    return app


def same_templates(first: Path, second: Path) -> bool:
    """Whether two cloud assemblies hold the same stack templates, apart from construct paths."""

    def templates(assembly: Path) -> dict[str, Any]:
        found = {}
        for path in sorted(assembly.glob("*.template.json")):
            template = json.loads(path.read_text())
            for resource in template.get("Resources", {}).values():
                resource.get("Metadata", {}).pop("aws:cdk:path", None)
                if resource.get("Metadata") == {}:
                    del resource["Metadata"]
            found[path.name] = template
        return found

    return templates(first) == templates(second)


def main() -> None:
    build(json.loads(Path(sys.argv[1]).read_text())).synth()


if __name__ == "__main__":
    main()
