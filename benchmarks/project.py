"""Budget 7: `make test` against `make synth`, handler imports against `import boto3`, assets, memory."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks._common import PYTHON, ROOT, Budget, Row, Section, alternate, timed

TESTS_BUDGET = 5.0
API_IMPORT_BUDGET = 1.3
# Function code assets must hold only the function's own code and bundled packages.
ASSET_BUDGET_BYTES = 200 * 1024
FORBIDDEN_IN_ASSETS = ("boto3", "botocore", "tests", "__pycache__", ".pytest_cache")
# Modules of the REST API's functions (lambda/api); other handlers are reported, not budgeted.
API_HANDLER_PREFIXES = ("groups_", "images_", "search")


def tests_against_synth(runs: int) -> Section:
    tests, synth = alternate(
        runs,
        lambda: timed(["make", "test"], bytecode_cache=True),
        lambda: timed(["make", "synth"], bytecode_cache=True),
    )
    test_row, synth_row = Row("tests: make test", "s", tests), Row("tests: make synth", "s", synth)
    return Section(
        rows=[test_row, synth_row],
        budgets=[Budget("7. make test / make synth", test_row.median / synth_row.median, TESTS_BUDGET)],
    )


def lambda_functions(assembly: Path) -> list[dict[str, Any]]:
    """Every function of the synthesized app: its asset folder, handler module and environment."""
    functions = []
    for template_path in sorted(assembly.glob("*.template.json")):
        template = json.loads(template_path.read_text())
        for logical_id, resource in template.get("Resources", {}).items():
            asset = resource.get("Metadata", {}).get("aws:asset:path")
            if resource["Type"] != "AWS::Lambda::Function" or not asset:
                continue
            props = resource["Properties"]
            variables = props.get("Environment", {}).get("Variables", {})
            functions.append(
                {
                    "stack": template_path.name.removesuffix(".template.json"),
                    "logical_id": logical_id,
                    "asset": assembly / asset,
                    "module": props["Handler"].rpartition(".")[0],
                    # Tokens (Ref, GetAtt) become plausible strings: imports only need them to exist.
                    "environment": {
                        k: v if isinstance(v, str) else f"resolved-{k.lower()}" for k, v in variables.items()
                    },
                }
            )
    return functions


def lambda_environment(asset: Path | None, environment: Mapping[str, str]) -> dict[str, str]:
    """What Lambda's Python runtime sets, with the function's own variables."""
    return {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": str(asset or ROOT),
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "PYTHONPATH": str(asset) if asset else "",
        "PYTHONDONTWRITEBYTECODE": "1",
        **environment,
    }


def _import_seconds(module: str, asset: Path | None, environment: Mapping[str, str]) -> float:
    code = (
        "import time, importlib; t = time.perf_counter(); "
        f"importlib.import_module({module!r}); print(time.perf_counter() - t)"
    )
    # A fresh interpreter per sample: cold, as in a new Lambda container. -I would drop PYTHONPATH.
    result = subprocess.run(
        [PYTHON, "-c", code],
        cwd=asset or ROOT,
        env={**os.environ, **lambda_environment(asset, environment)},
        check=True,
        capture_output=True,
        text=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def handler_imports(assembly: Path, runs: int) -> Section:
    section = Section()
    functions = lambda_functions(assembly)
    baseline = Row("cold start: import boto3", "s")
    rows = {
        f"{f['stack']}/{f['logical_id']}": Row(f"cold start: import {f['module']} ({f['logical_id']})", "s")
        for f in functions
    }
    for _ in range(runs):
        baseline.samples.append(_import_seconds("boto3", None, {}))
        for function in functions:
            rows[f"{function['stack']}/{function['logical_id']}"].samples.append(
                _import_seconds(function["module"], function["asset"], function["environment"])
            )
    section.rows = [baseline, *rows.values()]
    for function in functions:
        row = rows[f"{function['stack']}/{function['logical_id']}"]
        if function["module"].startswith(API_HANDLER_PREFIXES):
            section.budgets.append(
                Budget(
                    f"7. import {function['module']} / import boto3",
                    row.median / baseline.median,
                    API_IMPORT_BUDGET,
                )
            )
    return section


def asset_sizes(assembly: Path) -> Section:
    sizes = []
    for function in lambda_functions(assembly):
        asset: Path = function["asset"]
        files = [p for p in asset.rglob("*") if p.is_file()]
        forbidden = sorted(
            {part for p in files for part in p.relative_to(asset).parts if part in FORBIDDEN_IN_ASSETS}
        )
        sizes.append(
            {
                "function": f"{function['stack']}/{function['logical_id']}",
                "module": function["module"],
                "bytes": sum(p.stat().st_size for p in files),
                "forbidden_contents": forbidden,
            }
        )
    over = [
        size
        for size in sizes
        if size["forbidden_contents"]
        or (not size["module"].startswith("thumbnail") and size["bytes"] > ASSET_BUDGET_BYTES)
    ]
    section = Section(details={"assets": sizes})
    # A count against zero: every asset holds only its own code and packages, all but thumbnail < 200 KB.
    section.budgets.append(
        Budget("7. function assets over 200 KB or holding boto3/tests/caches", len(over), 0)
    )
    return section


def peak_synth_memory() -> Section:
    """Peak resident memory, in bytes, of `python app.py` and its jsii Node.js process together."""
    with tempfile.TemporaryDirectory() as out:
        process = subprocess.Popen(
            [PYTHON, "app.py"],
            cwd=ROOT,
            env={**os.environ, "CDK_OUTDIR": out},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss(process.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        process.wait()
        done.set()
        sampler.join()
    return Section(details={"peak_synth_memory_bytes": peak})


def _tree_rss(pid: int) -> int:
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
        pending.extend(int(child) for child in children)
    return total
