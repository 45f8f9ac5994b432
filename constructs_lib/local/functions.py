"""The app's Lambda functions as one `LocalService`: a worker process per function (see `_workers`)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from constructs_lib.local._assembly import AssemblyError
from constructs_lib.local._aws import aws_environment
from constructs_lib.local._service import ServiceContext
from constructs_lib.local._workers import FunctionPool, FunctionSpec, display_name_of, function_spec
from constructs_lib.local.watch import source_directory

log = logging.getLogger("constructs_lib.local")


class Functions:
    """Every Python ``AWS::Lambda::Function``; the others are listed as not run, with the reason."""

    name = "functions"

    def __init__(self) -> None:
        self.pool: FunctionPool | None = None
        self._not_run: dict[str, str] = {}
        self.aliases: list[str] = []  # "Function:alias" of every alias in the app

    def start(self, context: ServiceContext) -> None:
        self._not_run = context.not_run
        specs = self._specs(context)
        self.aliases = _aliases(context, specs)
        self.pool = FunctionPool(
            specs,
            aws_environment=aws_environment(context.aws.url, context.region),
            credentials=lambda spec: context.aws.credentials(spec.arn),
            output=context.output,
        )

    def _specs(self, context: ServiceContext) -> list[FunctionSpec]:
        specs = []
        for stack in context.assembly.stacks:
            for logical_id, resource in stack.resources_of_type("AWS::Lambda::Function").items():
                display_name = display_name_of(resource, logical_id)
                try:
                    spec = function_spec(stack, logical_id, resource, display_name, context.endpoints)
                except (AssemblyError, KeyError, TypeError, ValueError, OSError) as error:
                    context.not_run[f"{stack.stack_name}/{display_name}"] = str(error)
                    continue
                if spec is None:
                    runtime = resource.get("Properties", {}).get("Runtime", "a container image")
                    context.not_run[f"{stack.stack_name}/{display_name}"] = (
                        f"runtime {runtime} is not run locally"
                    )
                    continue
                for layer in spec.missing_layers:
                    log.warning(
                        "%s: layer %s is not available locally; its packages are missing, as for a function "
                        "without it",
                        display_name,
                        layer,
                    )
                if context.options.watch and context.app_directory is not None:
                    source = source_directory(
                        spec.code_directory,
                        spec.handler,
                        context.app_directory,
                        context.assembly.directory.absolute(),
                    )
                    spec = dataclasses.replace(spec, source_directory=source)
                specs.append(spec)
        return specs

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def banner(self) -> list[str]:
        lines = []
        if self.pool is not None:
            names = ", ".join(sorted(spec.display_name for spec in self.pool.functions.values()))
            lines.append(f"Functions: {names}")
        if self.aliases:
            # A gradual deployment's alias points at one version in AWS; locally there is only one.
            lines.append(
                f"Aliases (each runs its function's one local copy, the code just synthesized): "
                f"{', '.join(self.aliases)}"
            )
        lines += [f"Not run: {name}: {reason}" for name, reason in sorted(self._not_run.items())]
        return lines

    def state(self) -> dict[str, Any]:
        return {}

    def not_emulated(self) -> list[str]:
        codedeploy = (
            [
                "CodeDeploy: traffic shifting, pre/post-traffic hooks and rollbacks of gradual deployments "
                "are not run; an alias invokes the function's current code."
            ]
            if self.aliases
            else []
        )
        return [
            *codedeploy,
            "Lambda limits and concurrency: one invocation per function at a time; "
            "only the timeout is enforced.",
            "Layers are not downloaded: the app's own layers and the Powertools layer (its packages from "
            "this environment) are available; other layers' packages are missing.",
        ]


def _aliases(context: ServiceContext, specs: list[FunctionSpec]) -> list[str]:
    """Each ``AWS::Lambda::Alias`` of the app as "<function display name>:<alias>"."""
    names = {spec.arn: spec.display_name for spec in specs} | {spec.name: spec.display_name for spec in specs}
    aliases = []
    for stack in context.assembly.stacks:
        for resource in stack.resources_of_type("AWS::Lambda::Alias").values():
            properties = stack.resolve(resource.get("Properties", {}))
            function = str(properties.get("FunctionName", ""))
            aliases.append(f"{names.get(function, function)}:{properties.get('Name', '')}")
    return sorted(aliases)
