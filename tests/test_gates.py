"""The quality gates can fail: a seeded cdk-nag violation fails synth, a seeded cfn-lint error is reported."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from aws_cdk import aws_s3 as s3

from constructs_lib import ServerlessFunction
from tests.cdk import cfn_lint_findings, new_app, new_stack, synth_templates

ECHO = Path(__file__).resolve().parent / "fixtures" / "echo_function"


def test_seeded_nag_violation_fails_synth_naming_rule_and_resource(tmp_path: Path) -> None:
    app = new_app(outdir=tmp_path)
    stack = new_stack(app, "Seeded")
    s3.Bucket(stack, "Careless")  # no access logs, no TLS enforcement
    with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
        app.synth()
    assert "AwsSolutions-S1" in str(failure.value)
    assert "AwsSolutions-S10" in str(failure.value)
    assert "Seeded/Careless/Resource" in (tmp_path / "validation-report.json").read_text()


def test_cfn_lint_reports_a_seeded_error() -> None:
    app = new_app()
    stack = new_stack(app, "Lintable")
    ServerlessFunction(stack, "Fn", entry=ECHO)
    template = synth_templates(app)["Lintable"]
    assert cfn_lint_findings(template) == []

    broken = copy.deepcopy(template)
    for resource in broken["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            resource["Properties"]["Runtime"] = "python2.0"
            resource["Properties"]["MemorySize"] = "lots"
    findings = cfn_lint_findings(broken)
    assert any(finding.startswith("E") for finding in findings), findings
