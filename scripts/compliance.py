#!/usr/bin/env python3
"""`make compliance`: the scanners teams run over a CDK app, on the reference app's dev and prod stages.

Scanners (versions pinned in requirements-dev.txt and scripts/checkov-requirements.txt):
- checkov (``--framework cloudformation``) over the synthesized templates; acknowledgments are the
  ``Metadata.checkov.skip`` entries constructs_lib.acknowledge writes, reported as skipped.
- AWS Control Tower proactive controls: the ``CfnGuardValidator`` policy-validation plugin.
- cdk-nag ``NIST80053R5Checks``, ``HIPAASecurityChecks`` and ``PCIDSS321Checks``.
The cdk-nag AwsSolutions and Serverless packs run too (the app adds them), as in every synth, and
cfn-lint with the repository's .cfnlintrc.yaml (informational checks included).

The policy-validation plugins run in the synth itself; their counts come from the validation
report (``validation-report.json``), never from a plugin's conclusion: aws-cdk-lib marks a report
"success" once any acknowledgment applies, even with findings left. Each violating resource of
each rule is one finding.

Exit status 1 when any finding is unacknowledged, an acknowledgment has no reason, or a scanner
could not parse a template or did not report. Run one stage with ``--stage dev``; keep the synthesized
output with ``--outdir``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("dev", "prod")
CHECKOV_VENV = ROOT / ".venv" / "checkov"
CHECKOV_REQUIREMENTS = ROOT / "scripts" / "checkov-requirements.txt"
# Policy-validation plugin name -> the scanner's name in the table. AwsSolutions and Serverless are
# the packs every synth of the app runs; they are listed so that a finding of theirs is never missed.
PLUGINS = {
    "cdk-validator-cfnguard": "Control Tower (cfn-guard)",
    "NIST.800.53.R5": "cdk-nag NIST 800-53 R5",
    "HIPAA.Security": "cdk-nag HIPAA Security",
    "PCI.DSS.321": "cdk-nag PCI DSS 3.2.1",
    "AwsSolutions": "cdk-nag AwsSolutions",
    "Serverless": "cdk-nag Serverless",
}
CHECKOV = "checkov"
CFN_LINT = "cfn-lint"


@dataclass
class Result:
    """One scanner's findings on one stage."""

    scanner: str
    stage: str
    unacknowledged: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # missing reasons, parse errors, missing reports

    @property
    def ok(self) -> bool:
        return not self.unacknowledged and not self.problems


# --- synthesis with the policy-validation plugins ---------------------------------------------------


def add_compliance_plugins(app: Any) -> None:
    """Add the Control Tower guard rules and the three cdk-nag compliance packs to `app`."""
    # Imported here: the gate's own process never loads the CDK (or starts its Node.js); children do.
    from aws_cdk import Validations  # noqa: PLC0415
    from cdk_nag import HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks  # noqa: PLC0415
    from cdklabs.cdk_validator_cfnguard import CfnGuardValidator  # noqa: PLC0415

    Validations.of(app).add_plugins(
        cast(Any, CfnGuardValidator()),  # a jsii plugin mypy cannot see implements IPolicyValidationPlugin
        NIST80053R5Checks(app),
        HIPAASecurityChecks(app),
        PCIDSS321Checks(app),
    )


def synth_with_plugins(app: Any, outdir: Path) -> str | None:
    """Synthesize `app` (built with outdir=`outdir`); the error if the synth failed for another
    reason than validation findings, else None."""
    add_compliance_plugins(app)
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error) or not (outdir / "validation-report.json").is_file():
            return f"synth failed: {str(error)[:2000]}"
    return None


def _synth_reference_stage(stage: str, outdir: Path) -> None:
    """Child process: synthesize the reference app's `stage` into `outdir` with the plugins."""
    sys.path.insert(0, str(Path.cwd()))
    from aws_cdk import App  # noqa: PLC0415

    from app import build_app  # noqa: PLC0415

    context = {"stage": stage, "aws:cdk:version-reporting": False}
    try:
        app = build_app(App(context=context, outdir=str(outdir), builtin_cloud_formation_validation=False))
        error = synth_with_plugins(app, outdir)
    except Exception as failure:  # any failure to build the app is reported, not raised
        error = f"the app could not be built: {type(failure).__name__}: {failure}"
    if error:
        (outdir / "synth-error.txt").write_text(error)


def read_validation_report(outdir: Path, stage: str, plugins: Iterable[str] = PLUGINS) -> list[Result]:
    """One Result per plugin from `outdir`/validation-report.json."""
    error_file = outdir / "synth-error.txt"
    report_file = outdir / "validation-report.json"
    reports: dict[str, Any] = {}
    setup_problem = error_file.read_text() if error_file.is_file() else None
    if report_file.is_file():
        reports = {r["pluginName"]: r for r in json.loads(report_file.read_text())["pluginReports"]}
    elif setup_problem is None:
        setup_problem = f"no validation report in {outdir}"
    results = []
    for plugin in plugins:
        result = Result(PLUGINS.get(plugin, plugin), stage)
        report = reports.get(plugin)
        if setup_problem:
            result.problems.append(setup_problem)
        elif report is None and plugin in ("AwsSolutions", "Serverless"):
            pass  # a clean synth of these packs leaves no report of theirs when nothing was acknowledged
        elif report is None:
            result.problems.append(f"{plugin} did not report (it did not run, or could not read a template)")
        else:
            for violation in report.get("violations", []):
                for construct in violation["violatingConstructs"]:
                    result.unacknowledged.append(_describe(violation, construct))
            for violation in report.get("suppressedViolations", []):
                for construct in violation["violatingConstructs"]:
                    result.acknowledged.append(_describe(violation, construct))
                    if not str(violation.get("reason", "")).strip():
                        result.problems.append(
                            f"acknowledged without a reason: {_describe(violation, construct)}"
                        )
        results.append(result)
    return results


def _describe(violation: dict[str, Any], construct: dict[str, Any]) -> str:
    where = construct.get("constructPath") or construct.get("cloudFormationResource", {}).get("logicalId")
    return f"{violation['ruleName']} on {where}: {violation.get('description', '')[:160]}"


# --- checkov ---------------------------------------------------------------------------------------


def ensure_checkov() -> Path:
    """checkov in its own venv (its pins clash with the app's boto3 and packaging), as bootstrap does."""
    python = CHECKOV_VENV / "bin" / "python"
    stamp = CHECKOV_VENV / ".requirements"
    wanted = CHECKOV_REQUIREMENTS.read_text()
    if not (stamp.is_file() and stamp.read_text() == wanted):
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        print(f"+ installing checkov into {CHECKOV_VENV.relative_to(ROOT)}", flush=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
             str(CHECKOV_REQUIREMENTS)],
            check=True,
        )  # fmt: skip
        stamp.write_text(wanted)
    return CHECKOV_VENV / "bin" / "checkov"


def run_checkov(checkov: Path, templates: Sequence[Path], stage: str) -> Result:
    result = Result(CHECKOV, stage)
    if not templates:
        result.problems.append("no templates to scan")
        return result
    command = [str(checkov), "--framework", "cloudformation", "--output", "json", "--compact"]
    for template in templates:
        command += ["--file", str(template)]
    # Offline: no platform, no downloads, no version check.
    environment = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_SKIP_VERSION_CHECK": "true"}
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    try:
        output = json.loads(completed.stdout)
    except json.JSONDecodeError:
        result.problems.append(f"checkov failed (exit {completed.returncode}): {completed.stderr[-2000:]}")
        return result
    return parse_checkov(output, stage, expected_files=len(templates))


def parse_checkov(output: Any, stage: str, *, expected_files: int) -> Result:
    result = Result(CHECKOV, stage)
    reports = output if isinstance(output, list) else [output]
    cloudformation = [r for r in reports if r.get("check_type") == "cloudformation"]
    if not cloudformation:
        result.problems.append(f"checkov produced no CloudFormation report: {str(output)[:500]}")
        return result
    for report in cloudformation:
        summary = report.get("summary", {})
        results = report.get("results", {})
        for error in results.get("parsing_errors", []) or []:
            result.problems.append(f"checkov could not parse {error}")
        if summary.get("parsing_errors"):
            result.problems.append(f"checkov: {summary['parsing_errors']} template(s) could not be parsed")
        scanned = {check["file_path"] for kind in ("passed_checks", "failed_checks", "skipped_checks")
                   for check in results.get(kind, [])}  # fmt: skip
        if len(scanned) < expected_files:
            result.problems.append(f"checkov scanned {len(scanned)} of {expected_files} templates")
        for check in results.get("failed_checks", []):
            result.unacknowledged.append(f"{check['check_id']} on {check['resource']}: {check['check_name']}")
        for check in results.get("skipped_checks", []):
            described = f"{check['check_id']} on {check['resource']}: {check['check_name']}"
            result.acknowledged.append(described)
            if not str(check.get("check_result", {}).get("suppress_comment", "")).strip():
                result.problems.append(f"skipped without a comment: {described}")
    return result


# --- cfn-lint ---------------------------------------------------------------------------------------


def run_cfn_lint(templates: Sequence[Path], stage: str) -> Result:
    """cfn-lint over `templates`, from the repository root so that it reads .cfnlintrc.yaml."""
    result = Result(CFN_LINT, stage)
    command = [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json", "--", *map(str, templates)]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    try:
        matches = json.loads(completed.stdout)
    except json.JSONDecodeError:
        result.problems.append(f"cfn-lint failed (exit {completed.returncode}): {completed.stderr[-2000:]}")
        return result
    for match in matches:
        where = f"{Path(match['Filename']).name}:{match['Location']['Start']['LineNumber']}"
        finding = f"{match['Rule']['Id']} at {where}: {match['Message']}"
        # cfn-lint's E0000 is a template it could not parse.
        (result.problems if match["Rule"]["Id"] == "E0000" else result.unacknowledged).append(finding)
    return result


# --- the gate ---------------------------------------------------------------------------------------


def table(results: Sequence[Result]) -> str:
    header = ("scanner", "stage", "findings", "acknowledged", "unacknowledged", "problems")
    rows = [
        (
            r.scanner,
            r.stage,
            str(len(r.unacknowledged) + len(r.acknowledged)),
            str(len(r.acknowledged)),
            str(len(r.unacknowledged)),
            str(len(r.problems)),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in (header, *rows)
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def details(results: Sequence[Result]) -> str:
    lines = []
    for result in results:
        for finding in result.unacknowledged:
            lines.append(f"UNACKNOWLEDGED [{result.scanner} / {result.stage}] {finding}")
        for problem in result.problems:
            lines.append(f"PROBLEM [{result.scanner} / {result.stage}] {problem}")
    return "\n".join(lines)


def scan_stages(
    stages: Sequence[str], outdir: Path, synth_stage: Callable[[str, Path], None]
) -> list[Result]:
    """Synthesize each stage (in parallel) and run every scanner over it."""
    checkov = ensure_checkov()
    with ThreadPoolExecutor(max_workers=len(stages)) as pool:
        list(pool.map(lambda stage: synth_stage(stage, outdir / stage), stages))
        templates = {stage: sorted((outdir / stage).glob("*.template.json")) for stage in stages}
        checkov_results = pool.map(lambda stage: run_checkov(checkov, templates[stage], stage), stages)
        lint_results = pool.map(lambda stage: run_cfn_lint(templates[stage], stage), stages)
        results = [*checkov_results, *lint_results]
    for stage in stages:
        results.extend(read_validation_report(outdir / stage, stage))
    order = [CHECKOV, *PLUGINS.values(), CFN_LINT]
    return sorted(results, key=lambda r: (order.index(r.scanner), r.stage))


def _synth_in_child(stage: str, outdir: Path) -> None:
    """Each stage in its own Python (and jsii Node.js) process, so the two run on both cores."""
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--synth-stage", stage, "--outdir", str(outdir)],
        cwd=ROOT,
        check=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stage", action="append", choices=STAGES, help="a stage to scan (default: all)")
    parser.add_argument("--outdir", type=Path, help="where to synthesize (default: a temporary directory)")
    parser.add_argument("--synth-stage", choices=STAGES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.synth_stage:
        _synth_reference_stage(args.synth_stage, args.outdir)
        return 0
    started = time.monotonic()
    stages = args.stage or list(STAGES)
    with tempfile.TemporaryDirectory(prefix="compliance-") as temporary:
        outdir = args.outdir or Path(temporary)
        results = scan_stages(stages, outdir, _synth_in_child)
    print(report(results))
    print(f"({time.monotonic() - started:.1f} s)")
    return exit_status(results)


def report(results: Sequence[Result]) -> str:
    """The table, then every unacknowledged finding and problem, then the verdict."""
    failed = exit_status(results) != 0
    verdict = "FAILED: unacknowledged findings or problems above" if failed else "passed"
    return "\n".join(part for part in (table(results), details(results), f"compliance {verdict}") if part)


def exit_status(results: Sequence[Result]) -> int:
    return 1 if any(not r.ok for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
