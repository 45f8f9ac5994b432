#!/usr/bin/env python3
"""`make bench`: synth, test, cold-start, asset-size and memory figures with their budgets.

Shared 2-core machines are noisy, so every figure is a median over several samples (min and
max shown), and every budget is a ratio of two things measured alternately in the same run,
never an absolute time. Prints a table and writes it as JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
RESULTS = ROOT / "benchmarks" / "results"
# Function code assets must hold only the function's own code and bundled packages.
ASSET_BUDGET_BYTES = 200 * 1024
FORBIDDEN_IN_ASSETS = ("boto3", "botocore", "tests", "__pycache__", ".pytest_cache")
BUDGETS = {"synth": 1.8, "tests": 5.0, "api_cold_start": 1.3}
# Modules of the REST API's functions (lambda/api); other handlers are reported, not budgeted.
API_HANDLER_PREFIXES = ("groups_", "images_", "search")


@dataclass
class Row:
    name: str
    unit: str
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": round(self.median, 4),
            "min": round(min(self.samples), 4),
            "max": round(max(self.samples), 4),
            "samples": len(self.samples),
        }


def _timed(command: list[str], *, env: Mapping[str, str] | None = None, cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def alternate(
    runs: int, first: Callable[[], float], second: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """Sample two measurements alternately so that machine noise hits both alike."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        a.append(first())
        b.append(second())
    return a, b


def bench_synth(runs: int) -> list[Row]:
    empty_app = "from aws_cdk import App; App().synth()"
    with tempfile.TemporaryDirectory() as out:
        env_on = {"CDK_OUTDIR": out, "CDK_VALIDATION": "true"}
        env_off = {"CDK_OUTDIR": out, "CDK_VALIDATION": "false"}
        app_on, empty_on = alternate(
            runs,
            lambda: _timed([PYTHON, "app.py"], env=env_on),
            lambda: _timed([PYTHON, "-c", empty_app], env=env_on),
        )
        app_off, empty_off = alternate(
            runs,
            lambda: _timed([PYTHON, "app.py"], env=env_off),
            lambda: _timed([PYTHON, "-c", empty_app], env=env_off),
        )
    return [
        Row("synth: python app.py (validation on)", "s", app_on),
        Row("synth: empty App().synth() (validation on)", "s", empty_on),
        Row("synth: python app.py (validation off)", "s", app_off),
        Row("synth: empty App().synth() (validation off)", "s", empty_off),
    ]


def bench_tests(runs: int) -> list[Row]:
    tests, synth = alternate(
        runs,
        lambda: _timed(["make", "test"]),
        lambda: _timed(["make", "synth"]),
    )
    return [Row("tests: make test", "s", tests), Row("tests: make synth", "s", synth)]


def _lambda_functions(assembly: Path) -> list[dict[str, Any]]:
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


def _import_seconds(module: str, asset: Path | None, environment: Mapping[str, str]) -> float:
    code = (
        "import time, importlib; t = time.perf_counter(); "
        f"importlib.import_module({module!r}); print(time.perf_counter() - t)"
    )
    lambda_env = {
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
    # A fresh interpreter per sample: cold, as in a new Lambda container. -I would drop PYTHONPATH.
    result = subprocess.run(
        [PYTHON, "-c", code],
        cwd=asset or ROOT,
        env={**os.environ, **lambda_env},
        check=True,
        capture_output=True,
        text=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def bench_cold_start(assembly: Path, runs: int) -> tuple[list[Row], dict[str, float]]:
    rows = []
    ratios: dict[str, float] = {}
    baseline = Row("cold start: import boto3", "s")
    functions = _lambda_functions(assembly)
    handler_rows = {
        f"{f['stack']}/{f['logical_id']}": Row(f"cold start: import {f['module']} ({f['logical_id']})", "s")
        for f in functions
    }
    for _ in range(runs):
        baseline.samples.append(_import_seconds("boto3", None, {}))
        for function in functions:
            key = f"{function['stack']}/{function['logical_id']}"
            handler_rows[key].samples.append(
                _import_seconds(function["module"], function["asset"], function["environment"])
            )
    rows.append(baseline)
    for function in functions:
        row = handler_rows[f"{function['stack']}/{function['logical_id']}"]
        rows.append(row)
        ratios[row.name] = row.median / baseline.median
    return rows, ratios


def asset_sizes(assembly: Path) -> list[dict[str, Any]]:
    sizes = []
    for function in _lambda_functions(assembly):
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
    return sizes


def peak_synth_memory() -> int:
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
    return peak


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="samples per measurement (default 5)")
    parser.add_argument(
        "--test-runs", type=int, default=3, help="samples of make test / make synth (default 3)"
    )
    parser.add_argument("--skip-tests", action="store_true", help="skip the slow make test / make synth row")
    args = parser.parse_args()

    # The synthesized assembly, with asset metadata, as `make synth` leaves it.
    subprocess.run(["make", "synth"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    assembly = ROOT / "cdk.out"

    rows = bench_synth(args.runs)
    cold_rows, cold_ratios = bench_cold_start(assembly, args.runs)
    rows += cold_rows
    if not args.skip_tests:
        rows += bench_tests(args.test_runs)
    by_name = {row.name: row for row in rows}
    sizes = asset_sizes(assembly)
    memory = peak_synth_memory()

    checks = []
    synth_ratio = (
        by_name["synth: python app.py (validation on)"].median
        / by_name["synth: empty App().synth() (validation on)"].median
    )
    checks.append(("synth ratio (app / empty app, validation on)", synth_ratio, BUDGETS["synth"]))
    if not args.skip_tests:
        tests_ratio = by_name["tests: make test"].median / by_name["tests: make synth"].median
        checks.append(("tests ratio (make test / make synth)", tests_ratio, BUDGETS["tests"]))
    for name, ratio in cold_ratios.items():
        if any(f"import {prefix}" in name for prefix in API_HANDLER_PREFIXES):
            checks.append((f"{name} / import boto3", ratio, BUDGETS["api_cold_start"]))

    print(f"\n{'measurement':<70} {'median':>9} {'min':>9} {'max':>9}")
    for row in rows:
        print(f"{row.name:<70} {row.median:>9.3f} {min(row.samples):>9.3f} {max(row.samples):>9.3f}")
    print("\ncold-start ratios (handler import / boto3 import):")
    for name, ratio in cold_ratios.items():
        print(f"  {name:<80} {ratio:5.2f}")
    print("\nfunction code assets:")
    for size in sizes:
        note = f"  FORBIDDEN: {', '.join(size['forbidden_contents'])}" if size["forbidden_contents"] else ""
        print(f"  {size['function']:<70} {size['bytes'] / 1024:9.1f} KB{note}")
    print(f"\npeak synth memory (python + node): {memory / 2**20:.0f} MiB")

    failures = []
    print("\nbudgets:")
    for name, value, budget in checks:
        verdict = "ok" if value <= budget else "OVER BUDGET"
        failures += [] if value <= budget else [name]
        print(f"  {name:<95} {value:5.2f} <= {budget:<4} {verdict}")
    for size in sizes:
        thumbnail = size["module"].startswith("thumbnail")
        if size["forbidden_contents"] or (not thumbnail and size["bytes"] > ASSET_BUDGET_BYTES):
            failures.append(f"asset {size['function']}")
    print(
        f"  assets: only own code and bundled packages, all but thumbnail < 200 KB: "
        f"{'ok' if not any(f.startswith('asset') for f in failures) else 'OVER BUDGET'}"
    )

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result = {
        "timestamp": stamp,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "rows": [row.summary() for row in rows],
        "cold_start_ratios": cold_ratios,
        "assets": sizes,
        "peak_synth_memory_bytes": memory,
        "budgets": [{"name": n, "value": round(v, 3), "budget": b, "ok": v <= b} for n, v, b in checks],
        "failures": failures,
    }
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwritten: benchmarks/results/bench-{stamp}.json")
    if failures:
        sys.exit(f"over budget: {', '.join(failures)}")


if __name__ == "__main__":
    main()
