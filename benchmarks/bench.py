#!/usr/bin/env python3
"""`make bench`: every budget of the performance issue, measured, printed and written to JSON.

Shared 2-core machines are noisy, so every figure is a median over several samples (min and max
shown), and every budget is a ratio of two things measured alternately in the same run, never an
absolute time. One module per job:

1. benchmarks.synth     library overhead at synth against a CfnResource baseline; jsii calls
2. benchmarks.synth     synth growth with 1, 10 and 50 repetitions, slope against the baseline
3. benchmarks.api       REST API latency, cold and warm, against minimal boto3 handlers
4. benchmarks.fanout    the notifier's fan-out to 10,000 WebSocket connections
5. benchmarks.media     thumbnails of a 12 MP JPEG and PNG, with peak memory
6. benchmarks.indexing  the search indexer against one bulk request
7. benchmarks.project   make test / make synth, handler imports, asset sizes, synth memory

Prints a table and the budgets (ok / OVER BUDGET) and writes benchmarks/results/latest.json
(read by the docs site's Performance page) and a timestamped copy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from benchmarks import api, fanout, indexing, media, project, synth
from benchmarks._common import RESULTS, ROOT, Section

JOBS = ("overhead", "growth", "api", "fanout", "thumbnails", "indexing", "imports", "tests")


def _print_section(title: str, section: Section) -> None:
    print(f"\n{title}")
    if section.rows:
        print(f"  {'measurement':<84} {'median':>9} {'min':>9} {'max':>9} {'n':>3}")
    for row in section.rows:
        print(
            f"  {row.name:<84} {row.median:>9.4f} {min(row.samples):>9.4f} {max(row.samples):>9.4f}"
            f" {len(row.samples):>3}"
        )
    for note in section.notes:
        print(f"  NOTE: {note}")


def _print_jsii_calls(calls: dict[str, Any]) -> None:
    print("\n  where the reference app's time and jsii calls go (one in-process run, validation off):")
    for step, seconds in calls["wall_seconds"].items():
        print(f"    {step:<40} {seconds:7.3f} s")
    for phase, figures in calls["phases"].items():
        print(
            f"    jsii calls while {phase:<24} {figures['calls']:6d}"
            f"  ({figures['jsii_seconds']:.3f} s waiting on jsii)"
        )
    print(f"    {'construct':<28} {'instances':>9} {'jsii calls':>10} {'per instance':>12} {'jsii s':>7}")
    for name, figures in calls["constructs"].items():
        per = figures["calls"] / max(figures["instances"], 1)
        print(
            f"    {name:<28} {figures['instances']:>9} {figures['calls']:>10} {per:>12.1f}"
            f" {figures['jsii_seconds']:>7.3f}"
        )


def _print_growth(growth: dict[str, Any]) -> None:
    print(
        f"\n  seconds per repetition: library {growth['library_seconds_per_repeat']:.4f}, its baseline "
        f"{growth['baseline_seconds_per_repeat']:.4f}; aws-cdk-lib L2s alone (reference) "
        f"{growth['plain_l2_seconds_per_repeat']:.4f}, their baseline "
        f"{growth['plain_l2_baseline_seconds_per_repeat']:.4f} (ratio {growth['plain_l2_slope_ratio']})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="samples per measurement (default 5)")
    parser.add_argument(
        "--test-runs", type=int, default=1, help="samples of make test / make synth (default 1)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="2 samples, 1 of the slow jobs: checks the harness"
    )
    parser.add_argument("--only", nargs="+", choices=JOBS, help="run only these jobs")
    parser.add_argument("--skip", nargs="+", choices=JOBS, default=[], help="skip these jobs (e.g. tests)")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    slow_runs = 1 if args.quick else 3
    selected = [job for job in (args.only or JOBS) if job not in args.skip]

    # The synthesized assembly, with asset metadata, as `make synth` leaves it.
    subprocess.run(["make", "synth"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    assembly = ROOT / "cdk.out"
    jobs: dict[str, tuple[str, Callable[[], Section]]] = {
        "overhead": ("1. Library overhead at synth", lambda: synth.library_overhead(runs)),
        "growth": ("2. Synth growth", lambda: synth.synth_growth(slow_runs)),
        "api": ("3. API latency, cold and warm", lambda: api.api_latency(slow_runs, assembly)),
        "fanout": ("4. WebSocket fan-out", lambda: fanout.notifier_fan_out(slow_runs)),
        "thumbnails": ("5. Thumbnails", lambda: media.thumbnails(runs, assembly)),
        "indexing": ("6. Search indexing", lambda: indexing.search_indexing(runs)),
        "imports": ("7. Handler imports, assets, synth memory", lambda: _imports(assembly, runs)),
        "tests": ("7. make test / make synth", lambda: project.tests_against_synth(args.test_runs)),
    }
    sections: dict[str, Section] = {}
    durations: dict[str, float] = {}
    for job in selected:
        title, run = jobs[job]
        print(f"running {title} ...", flush=True)
        start = time.perf_counter()
        sections[job] = run()
        durations[job] = round(time.perf_counter() - start, 1)
        _print_section(title, sections[job])
        if job == "overhead":
            reference = sections[job].details["plain_l2_overhead"]
            on, off = reference["ratio"]["on"], reference["ratio"]["off"]
            print(
                f"\n  reference: aws-cdk-lib L2s alone, {reference['resources']} resources, against their "
                f"CfnResource baseline: {on} with validation on, {off} off"
            )
            _print_jsii_calls(sections[job].details["jsii_calls"])
        if job == "growth":
            _print_growth(sections[job].details["growth"])

    budgets = [budget for section in sections.values() for budget in section.budgets]
    print("\nbudgets:")
    for budget in budgets:
        verdict = "ok" if budget.ok else "OVER BUDGET"
        print(f"  {budget.name:<100} {budget.value:7.3f} <= {budget.limit:<4g} {verdict}")

    details: dict[str, Any] = {}
    for section in sections.values():
        details.update(section.details)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result = {
        "timestamp": stamp,
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average": os.getloadavg(),
        },
        "quick": args.quick,
        "jobs": selected,
        "job_seconds": durations,
        "rows": [row.summary() for section in sections.values() for row in section.rows],
        "budgets": [budget.summary() for budget in budgets],
        "assets": details.pop("assets", []),
        "peak_synth_memory_bytes": details.pop("peak_synth_memory_bytes", None),
        **details,
        "notes": [note for section in sections.values() for note in section.notes],
        "failures": [budget.name for budget in budgets if not budget.ok],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, default=str) + "\n"
    (RESULTS / f"bench-{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    print(
        f"\nwritten: benchmarks/results/latest.json and bench-{stamp}.json ({sum(durations.values()):.0f} s)"
    )
    if result["failures"]:
        sys.exit(f"over budget: {len(result['failures'])} of {len(budgets)}")


def _imports(assembly: Any, runs: int) -> Section:
    imports = project.handler_imports(assembly, runs)
    assets = project.asset_sizes(assembly)
    memory = project.peak_synth_memory()
    return Section(
        rows=imports.rows,
        budgets=imports.budgets + assets.budgets,
        details={**assets.details, **memory.details},
    )


if __name__ == "__main__":
    main()
