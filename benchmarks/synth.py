"""Budgets 1 and 2: what the library adds to synthesis, against the CfnResource baseline.

1. Library overhead: ``python app.py`` against ``benchmarks.baseline_app`` emitting the same
   templates with CfnResource only, with aws-cdk-lib's built-in validation on and off; plus
   where the reference app's jsii calls go (``benchmarks.jsii_calls``).
2. Synth growth: ``benchmarks.growth_app`` with 1, 10 and 50 repetitions against the baseline
   of its own templates; the per-repetition slope (least squares) of each, and their ratio.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import PYTHON, Budget, Row, Section, alternate, run_json, timed
from benchmarks.baseline_app import same_templates, write_spec

OVERHEAD_BUDGET = {"on": 1.3, "off": 2.0}
GROWTH_BUDGET = 1.5
GROWTH_REPEATS = (1, 10, 50)
APP = [PYTHON, "app.py"]
BASELINE = [PYTHON, "-m", "benchmarks.baseline_app"]
GROWTH = [PYTHON, "-m", "benchmarks.growth_app"]
# The growth unit's aws-cdk-lib L2s repeated to about the reference app's size (12 x 16 resources).
REFERENCE_REPEATS = 12
PLAIN_LABEL = "the same unit from aws-cdk-lib L2s alone (reference)"
# Synthesis runs as `cdk synth` does on a developer's machine or a CI runner: with Python's
# bytecode cache (the first, untimed run of each app fills it).
_timed_synth = functools.partial(timed, bytecode_cache=True)


def _validation(on: bool, outdir: Path) -> dict[str, str]:
    return {"CDK_OUTDIR": str(outdir), "CDK_VALIDATION": "true" if on else "false"}


@dataclass
class _Paired:
    """An app's synth samples beside the CfnResource baseline's of the same templates."""

    resources: int
    same_templates: bool
    samples: dict[str, tuple[list[float], list[float]]]  # validation "on"/"off": (app's, baseline's)


def _against_baseline(command: list[str], work: Path, runs: int) -> _Paired:
    """Sample `command` and the CfnResource baseline of its templates alternately, validation on and off."""
    out, baseline_out, spec = Path(work, "app"), Path(work, "baseline"), Path(work, "spec.json")
    _timed_synth(command, env=_validation(False, out))
    resources = write_spec(out, spec)
    _timed_synth([*BASELINE, str(spec)], env=_validation(False, baseline_out))
    samples = {}
    for mode in ("on", "off"):
        app, baseline = alternate(
            runs,
            functools.partial(_timed_synth, command, env=_validation(mode == "on", out)),
            functools.partial(
                _timed_synth, [*BASELINE, str(spec)], env=_validation(mode == "on", baseline_out)
            ),
        )
        samples[mode] = (app, baseline)
    return _Paired(resources, same_templates(out, baseline_out), samples)


def library_overhead(runs: int) -> Section:
    section = Section()
    with tempfile.TemporaryDirectory() as work:
        paired = _against_baseline(APP, Path(work, "app"), runs)
        section.details["baseline"] = {
            "resources": paired.resources,
            "same_templates": paired.same_templates,
        }
        if not paired.same_templates:
            section.notes.append("the baseline's templates differ from the app's: budget 1 is not comparable")
        for mode, (app, baseline) in paired.samples.items():
            app_row = Row(f"synth: python app.py (validation {mode})", "s", app)
            baseline_row = Row(
                f"synth: CfnResource baseline, same {paired.resources} resources (validation {mode})",
                "s",
                baseline,
            )
            section.rows += [app_row, baseline_row]
            section.budgets.append(
                Budget(
                    f"1. library overhead, validation {mode} (app.py / CfnResource baseline)",
                    app_row.median / baseline_row.median,
                    OVERHEAD_BUDGET[mode],
                )
            )
        # A reference, not a budget: what aws-cdk-lib's own L2s cost against CfnResource in an app
        # about the reference app's size, with none of the library (no alarms, acknowledgments,
        # dashboard or validation of its own).
        reference = [*GROWTH, str(REFERENCE_REPEATS), "--plain"]
        paired = _against_baseline(reference, Path(work, "reference"), runs)
        if not paired.same_templates:
            section.notes.append("the baseline's templates differ from the L2 reference's: not comparable")
        ratios = {}
        for mode, (plain, baseline) in paired.samples.items():
            plain_row = Row(
                f"synth: aws-cdk-lib L2s alone, {paired.resources} resources (validation {mode})", "s", plain
            )
            baseline_row = Row(f"synth: CfnResource baseline of those (validation {mode})", "s", baseline)
            section.rows += [plain_row, baseline_row]
            ratios[mode] = round(plain_row.median / baseline_row.median, 3)
        section.details["plain_l2_overhead"] = {"resources": paired.resources, "ratio": ratios}
        section.details["jsii_calls"] = run_json(
            [PYTHON, "-m", "benchmarks.jsii_calls"], env=_validation(False, Path(work, "counted"))
        )
    return section


def _slope(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope of y over x, and the fit's R²."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    syy = sum((y - mean_y) ** 2 for _, y in points)
    slope = sxy / sxx
    r2 = (sxy * sxy) / (sxx * syy) if syy else 1.0
    return slope, r2


def _growth_series(
    section: Section,
    name: str,
    *,
    label: str,
    options: Sequence[str],
    work: Path,
    runs: int,
    repeats: Sequence[int],
) -> tuple[float, float, float, float]:
    """Time the growth app (with `options`) for each count in `repeats` against the baseline of its
    own templates; return the least-squares slope (seconds per repetition) and R² of each:
    (app, app R², baseline, baseline R²)."""
    app_points: list[tuple[float, float]] = []
    baseline_points: list[tuple[float, float]] = []
    for count in repeats:
        app_out = Path(work, f"{name.replace(' ', '-')}-{count}")
        baseline_out = Path(app_out.parent, f"{app_out.name}-baseline")
        spec = Path(app_out.parent, f"{app_out.name}-spec.json")
        repeated = [*GROWTH, str(count), *options]
        _timed_synth(repeated, env=_validation(False, app_out))
        resources = write_spec(app_out, spec)
        app, baseline = alternate(
            runs,
            functools.partial(_timed_synth, repeated, env=_validation(False, app_out)),
            functools.partial(_timed_synth, [*BASELINE, str(spec)], env=_validation(False, baseline_out)),
        )
        if not same_templates(app_out, baseline_out):
            section.notes.append(f"growth x{count}: the CfnResource baseline of {name} emits other templates")
        app_row = Row(f"growth: {label}, x{count} ({resources} resources)", "s", app)
        baseline_row = Row(f"growth: CfnResource baseline of {name}, x{count}", "s", baseline)
        section.rows += [app_row, baseline_row]
        app_points.append((count, app_row.median))
        baseline_points.append((count, baseline_row.median))
    return (*_slope(app_points), *_slope(baseline_points))


def synth_growth(runs: int, repeats: Sequence[int] = GROWTH_REPEATS) -> Section:
    section = Section()
    with tempfile.TemporaryDirectory() as work:
        series = functools.partial(_growth_series, section, work=Path(work), runs=runs, repeats=repeats)
        library_slope, library_r2, baseline_slope, baseline_r2 = series(
            "the same", label="table + function + API with 2 routes", options=()
        )
        plain_slope, _, plain_baseline_slope, _ = series(
            "the reference", label=PLAIN_LABEL, options=("--plain",)
        )
    section.details["growth"] = {
        "repeats": list(repeats),
        "library_seconds_per_repeat": round(library_slope, 4),
        "baseline_seconds_per_repeat": round(baseline_slope, 4),
        "library_r2": round(library_r2, 4),
        "baseline_r2": round(baseline_r2, 4),
        # What aws-cdk-lib's own L2s cost against CfnResource: a reference, not a budget.
        "plain_l2_seconds_per_repeat": round(plain_slope, 4),
        "plain_l2_baseline_seconds_per_repeat": round(plain_baseline_slope, 4),
        "plain_l2_slope_ratio": round(plain_slope / plain_baseline_slope, 3)
        if plain_baseline_slope > 0
        else None,
    }
    if baseline_slope <= 0:
        # Noise swamped the baseline's growth (a loaded machine, too few samples): no ratio to give.
        section.notes.append(f"baseline slope {baseline_slope:.4f} s per repetition is not positive")
    ratio = library_slope / baseline_slope if baseline_slope > 0 else float("inf")
    section.budgets.append(
        Budget("2. synth growth, slope per repetition (library / CfnResource baseline)", ratio, GROWTH_BUDGET)
    )
    return section
