"""`make compliance` fails on what it must: a seeded finding in each scanner, a reasonless acknowledgment,
a template a scanner cannot parse. One small single-stack app, synthesized once with every plugin; and
a second one holding the constructs the reference app does not use, which must pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import Acknowledgment, App, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3

from constructs_lib import (
    AlarmTopic,
    CompositeKeyTable,
    DataStream,
    EventBus,
    QueueWorker,
    ScheduledJob,
    UserDirectory,
    Workflow,
)
from constructs_lib.checks import add_nag_checks
from constructs_lib.serverless_function import ServerlessFunction
from constructs_lib.workflow import lambda_task
from scripts.compliance import (
    CFN_LINT,
    CHECKOV,
    PLUGINS,
    Result,
    ensure_checkov,
    exit_status,
    read_validation_report,
    report,
    run_cfn_lint,
    run_checkov,
    synth_with_plugins,
)
from tests.cdk import CDK_CONTEXT, new_stack

ECHO = Path(__file__).resolve().parent / "fixtures" / "echo_function"

# The five scanners the gate exists for, by the names its table prints.
SCANNERS = (
    CHECKOV,
    PLUGINS["cdk-validator-cfnguard"],
    PLUGINS["NIST.800.53.R5"],
    PLUGINS["HIPAA.Security"],
    PLUGINS["PCI.DSS.321"],
)
COMPLIANCE_PLUGINS = ("cdk-validator-cfnguard", "NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("seeded")
    app = App(
        context={**CDK_CONTEXT, "aws:cdk:version-reporting": False},
        outdir=str(outdir),
        builtin_cloud_formation_validation=False,
    )
    stack = new_stack(app, "Seeded")
    # Acknowledged by the library for every scanner (not in a VPC, no reserved concurrency, ...).
    ServerlessFunction(stack, "Acknowledged", entry=ECHO)
    # The seeded violation: a bucket without versioning, access logs or a KMS key.
    careless = s3.Bucket(stack, "Careless", enforce_ssl=True)
    # Acknowledgments without a reason, written past constructs_lib.acknowledge (which refuses them).
    Validations.of(careless).acknowledge(
        Acknowledgment(id="NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled", reason="")
    )
    careless.node.default_child.add_metadata("checkov", {"skip": [{"id": "CKV_AWS_18", "comment": ""}]})  # type: ignore[union-attr]
    assert synth_with_plugins(app, outdir) is None  # findings fail the validation, not the synth itself
    return outdir


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template cut short: no scanner can parse it."""
    broken = tmp_path_factory.mktemp("broken") / "Broken.template.json"
    broken.write_text('{"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": ')
    return broken


@pytest.fixture(scope="module")
def results(outdir: Path, broken: Path) -> dict[str, Result]:
    # One checkov run (its start-up is the cost): the seeded template and one it cannot parse.
    checkov = run_checkov(ensure_checkov(), [outdir / "Seeded.template.json", broken], "seeded")
    plugins = read_validation_report(outdir, "seeded", COMPLIANCE_PLUGINS)
    return {result.scanner: result for result in (checkov, *plugins)}


@pytest.mark.parametrize("scanner", SCANNERS)
def test_each_scanner_fails_the_gate_on_the_seeded_bucket(results: dict[str, Result], scanner: str) -> None:
    result = results[scanner]
    assert any("Careless" in finding for finding in result.unacknowledged), result.unacknowledged
    assert not result.ok
    assert exit_status([result]) == 1


@pytest.mark.parametrize("scanner", SCANNERS)
def test_the_library_acknowledgments_count_as_acknowledged(results: dict[str, Result], scanner: str) -> None:
    result = results[scanner]
    on_queue = [finding for finding in result.acknowledged if "Acknowledged" in finding]
    assert on_queue, result.acknowledged
    assert not any("Acknowledged" in finding for finding in result.unacknowledged)


def test_an_acknowledgment_without_a_reason_is_a_problem(results: dict[str, Result]) -> None:
    # Both aws-cdk-lib and checkov apply an acknowledgment without a reason: the gate must refuse it.
    nist = results[PLUGINS["NIST.800.53.R5"]]
    assert any(
        p.startswith(
            "acknowledged without a reason: NIST.800.53.R5-S3BucketReplicationEnabled on Seeded/Careless"
        )
        for p in nist.problems
    ), nist.problems
    assert not nist.ok
    checkov = results[CHECKOV]
    assert any(p.startswith("skipped without a comment: CKV_AWS_18") for p in checkov.problems), (
        checkov.problems
    )


def test_a_template_checkov_cannot_parse_is_a_problem(results: dict[str, Result]) -> None:
    assert any("Broken.template.json" in problem for problem in results[CHECKOV].problems), results[CHECKOV]


def test_cfn_lint_fails_the_gate_on_an_error_and_on_an_unparsable_template(
    outdir: Path, broken: Path, tmp_path: Path
) -> None:
    template = json.loads((outdir / "Seeded.template.json").read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            resource["Properties"]["MemorySize"] = "lots"
    seeded = tmp_path / "Seeded.template.json"
    seeded.write_text(json.dumps(template))
    result = run_cfn_lint([seeded, broken], "seeded")
    assert result.scanner == CFN_LINT
    assert any(finding.startswith("E3012") and "Seeded" in finding for finding in result.unacknowledged), (
        result
    )
    assert any("Broken.template.json" in problem for problem in result.problems), result
    assert exit_status([result]) == 1


def test_a_plugin_that_did_not_report_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "validation-report.json").write_text(json.dumps({"pluginReports": []}))
    missing = read_validation_report(tmp_path, "empty", COMPLIANCE_PLUGINS)
    assert all(result.problems and not result.ok for result in missing)
    (tmp_path / "synth-error.txt").write_text("the app could not be built: ValueError: ...")
    failed = read_validation_report(tmp_path, "empty", COMPLIANCE_PLUGINS)
    assert all("the app could not be built" in result.problems[0] for result in failed)


def test_the_report_is_one_table_and_a_verdict(results: dict[str, Result]) -> None:
    text = report(list(results.values()))
    header, _rule, *rows = text.splitlines()[: 2 + len(results)]
    assert header.split(" | ")[0].strip() == "scanner"
    assert [row.split(" | ")[0].strip() for row in rows] == list(results)
    assert text.endswith("compliance FAILED: unacknowledged findings or problems above")
    clean = [Result(CHECKOV, "dev", acknowledged=["CKV_AWS_117 on a function: a reason"])]
    assert report(clean).endswith("compliance passed")
    assert exit_status(clean) == 0


@pytest.fixture(scope="module")
def every_construct(tmp_path_factory: pytest.TempPathFactory) -> list[Result]:
    """The constructs the reference app does not use, each with its defaults, through every scanner."""
    outdir = tmp_path_factory.mktemp("constructs")
    app = App(
        context={**CDK_CONTEXT, "aws:cdk:version-reporting": False},
        outdir=str(outdir),
        builtin_cloud_formation_validation=False,
    )
    add_nag_checks(app)
    stack = new_stack(app, "Constructs")
    alarms = AlarmTopic(stack, "Alarms", email_addresses=["oncall@example.com"])
    worker = QueueWorker(
        stack, "Worker", function=ServerlessFunction(stack, "Work", entry=ECHO), alarm_topic=alarms.topic
    )
    bus = EventBus(stack, "Bus", alarm_topic=alarms.topic)
    target = ServerlessFunction(stack, "Target", entry=ECHO, invoked_asynchronously=True)
    bus.add_rule("Placed", event_pattern={"source": ["app.orders"]}, targets=[target, worker])
    DataStream(stack, "Stream", alarm_topic=alarms.topic).add_consumer(
        ServerlessFunction(stack, "Reader", entry=ECHO).function
    )
    table = CompositeKeyTable(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        stream=dynamodb.StreamViewType.NEW_IMAGE,
        alarms=True,
        alarm_topic=alarms.topic,
    )
    table.add_stream_consumer(ServerlessFunction(stack, "TableReader", entry=ECHO).function)
    ScheduledJob(
        stack,
        "Nightly",
        function=ServerlessFunction(stack, "Job", entry=ECHO, invoked_asynchronously=True),
        schedule="cron(0 3 * * ? *)",
        alarm_topic=alarms.topic,
    )
    step = lambda_task(stack, "Step", ServerlessFunction(stack, "StepFunction", entry=ECHO))
    Workflow(stack, "Flow", definition=step, alarm_topic=alarms.topic)
    UserDirectory(stack, "Users")
    assert synth_with_plugins(app, outdir) is None
    checkov = run_checkov(ensure_checkov(), [outdir / "Constructs.template.json"], "constructs")
    return [checkov, *read_validation_report(outdir, "constructs")]


def test_every_construct_leaves_no_unexplained_finding(every_construct: list[Result]) -> None:
    """The reference app's gate covers the constructs it uses; this covers the others."""
    assert {result.scanner for result in every_construct} >= set(SCANNERS)
    assert exit_status(every_construct) == 0, report(every_construct)
    assert all(result.acknowledged for result in every_construct if result.scanner in SCANNERS)
