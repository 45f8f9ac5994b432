"""Runtime code never imports the CDK: Lambda functions, the local runner and the ops commands run where
aws-cdk-lib (and its Node.js process) is not installed or must not start. Every module of those packages
is imported in a fresh interpreter, which must not have loaded aws_cdk, jsii or constructs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_PACKAGES = (
    "constructs_lib/runtime",
    "constructs_lib/functions",
    "constructs_lib/local",
    "constructs_lib/ops",
)


def _modules() -> list[str]:
    modules = []
    for package in RUNTIME_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name != "__main__.py":
                modules.append(
                    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                )
    return modules


def test_no_runtime_module_loads_the_cdk() -> None:
    modules = _modules()
    assert "constructs_lib.local.runner" in modules and "constructs_lib.ops.redrive" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'aws_cdk', 'jsii', 'constructs'}))"
    )
    probe = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert probe.stdout.strip() == "[]"
