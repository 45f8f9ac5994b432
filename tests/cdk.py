"""Synthesis helpers shared by the construct and app tests.

Each test module synthesizes its app once (module- or session-scoped fixtures): every synth
goes through jsii and costs seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from aws_cdk import App, CfnParameter, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from cfnlint.version import __version__ as cfnlint_version

from constructs_lib import add_nag_checks, testing

ROOT = Path(__file__).resolve().parent.parent
CDK_CONTEXT: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
TEST_ENV = Environment(account=CDK_CONTEXT["account"], region=CDK_CONTEXT["region"])

LINT_CACHE = ROOT / ".cache" / "cfn-lint"
# The library's public test helpers (what a consumer app uses too), under the names these tests use.
normalized = testing.normalize_template
synth_templates = testing.synth_templates


def new_app(outdir: Path | None = None, **context: Any) -> App:
    """An App with the repository's feature flags, no version analytics, and both cdk-nag packs.

    aws-cdk-lib's built-in CloudFormation validation is off: it costs seconds per process and
    changes no template (cdk-nag still runs). The reference app's dev synth keeps it on.
    """
    app = App(
        context={**CDK_CONTEXT, "aws:cdk:version-reporting": False, **context},
        outdir=str(outdir) if outdir else None,
        builtin_cloud_formation_validation=False,
    )
    add_nag_checks(app)
    return app


def new_stack(app: App, name: str = "Test") -> Stack:
    return Stack(app, name, env=TEST_ENV)


def number_token(stack: Stack, name: str) -> Any:
    """A CfnParameter's value: a number token, which props typed int take too (jsii passes a number)."""
    return CfnParameter(stack, name, type="Number").value_as_number


# A token duration in another unit than CloudFormation's: aws-cdk-lib cannot convert it, our ValueError
# says so (issue #18). `{0}` is the unit ("seconds", "millis", ...).
TOKEN_UNIT = (
    "comes from a token, which aws-cdk-lib cannot convert at synth; give it in {0} (Duration.{0}(...)), "
    "the unit CloudFormation takes"
)


def new_vpc(
    stack: Stack, *, max_azs: int = 2, extra_subnets: Sequence[ec2.SubnetConfiguration] = ()
) -> ec2.Vpc:
    """A test VPC: public and private-with-egress subnets, one NAT gateway, flow logs (AwsSolutions-VPC7).

    Use it in an environment-agnostic stack: with an account and region set, ec2.Vpc makes up
    zone names cfn-lint rejects (W3010).
    """
    return ec2.Vpc(
        stack,
        "Vpc",
        max_azs=max_azs,
        nat_gateways=1,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="Private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            *extra_subnets,
        ],
        flow_logs={"All": ec2.FlowLogOptions(traffic_type=ec2.FlowLogTrafficType.ALL)},
    )


def new_isolated_vpc(stack: Stack) -> ec2.Vpc:
    """A VPC with isolated subnets only: a placement without internet access that props must reject."""
    return ec2.Vpc(
        stack,
        "IsolatedVpc",
        max_azs=2,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )


def cfn_lint_findings(template: dict[str, Any]) -> list[str]:
    """cfn-lint errors and warnings for `template`, honouring .cfnlintrc.yaml.

    Linting a large template takes about a second of schema validation, and most templates do
    not change between test runs. Like mypy's cache, results are kept under .cache/cfn-lint/,
    keyed by the template, the settings and the cfn-lint version: any change lints afresh.
    """
    settings_text = (ROOT / ".cfnlintrc.yaml").read_text()
    body = json.dumps(template, sort_keys=True)
    key = hashlib.sha256(f"{cfnlint_version}\n{settings_text}\n{body}".encode()).hexdigest()
    cached = LINT_CACHE / f"{key}.json"
    if cached.is_file():
        findings: list[str] = json.loads(cached.read_text())
        return findings
    # Imported on a cache miss only: cfn-lint takes half a second to import.
    from cfnlint.api import ManualArgs, lint

    settings = yaml.safe_load(settings_text)
    config = ManualArgs(
        regions=settings["regions"],
        include_checks=settings.get("include_checks") or [],
        ignore_checks=settings["ignore_checks"] or [],
    )
    findings = [
        f"{match.rule.id} {match.message} ({'/'.join(str(p) for p in match.path)})"
        for match in lint(body, config=config)
    ]
    LINT_CACHE.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(findings))
    partial.replace(cached)  # atomic: a concurrent run never reads half a file
    return findings
