"""Which property changes replace a resource, from the CDK's own resource specification.

The pinned aws-cdk CLI ships the specification its `cdk diff` uses (``db.json.gz``, the
aws-service-spec database): for each resource type, each property's ``causesReplacement``
("yes" or "maybe"). Reading that file keeps this diff's replacement calls the CDK's own,
for the CLI version the app pins, without a second copy of the specification.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from constructs_lib.toolchain import venv_cli_package

SPEC_FILE = "db.json.gz"
CLI_PACKAGE = Path("node_modules") / "aws-cdk"


class DiffError(Exception):
    """A diff that cannot be made: a bad BASE, a missing CLI, a failed synth. Exit status 2."""


@dataclass(frozen=True)
class ReplacementSpec:
    """Property name -> "yes" or "maybe", per resource type; properties that never replace are absent."""

    by_type: Mapping[str, Mapping[str, str]]

    def replacement(self, resource_type: str, property_name: str) -> str | None:
        return self.by_type.get(resource_type, {}).get(property_name)


def find_cli_package(app_dir: Path) -> Path:
    """The aws-cdk CLI package for `app_dir`: its node_modules (or above), else the virtual environment's.

    The order is `npx --no-install cdk`'s, then `python -m constructs_lib.toolchain`'s install for
    apps without a package.json.
    """
    for directory in (app_dir, *app_dir.parents):
        if (directory / CLI_PACKAGE / SPEC_FILE).is_file():
            return directory / CLI_PACKAGE
    in_venv = venv_cli_package(Path(sys.prefix))
    if (in_venv / SPEC_FILE).is_file():
        return in_venv
    raise DiffError(
        f"no aws-cdk CLI in {app_dir}/node_modules (or above) or in {sys.prefix}: install the pinned CLI "
        "with `python -m constructs_lib.toolchain`"
    )


def load_spec(cli_package: Path) -> ReplacementSpec:
    database = json.loads(gzip.decompress((cli_package / SPEC_FILE).read_bytes()))
    by_type: dict[str, dict[str, str]] = {}
    for resource in database["schema"]["resource"]["entities"]:
        replacing = {
            name: prop["causesReplacement"]
            for name, prop in resource.get("properties", {}).items()
            if prop.get("causesReplacement") in {"yes", "maybe"}
        }
        by_type[resource["cloudFormationType"]] = replacing
    return ReplacementSpec(by_type)
