"""The notes app synthesizes from the installed library, with cdk-nag passing, and runs locally.

The app is synthesized once for the module (each synth starts the CDK's jsii runtime and
costs seconds); every test reads that one cloud assembly. Only the library's public helpers are
used: `constructs_lib.testing` for the App, the snapshot and the local run, and
`constructs_lib.acknowledge` for a scanner finding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import notes
import pytest
import requests
from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from syrupy.assertion import SnapshotAssertion

from app import MAX_NOTE_LENGTH, STACK_NAME, build_app
from constructs_lib import acknowledge
from constructs_lib.testing import app_for_tests, local_app, normalize_template

HERE = Path(__file__).resolve().parent.parent
NOTE_ID = "0123456789abcdef0123456789abcdef"


def new_app(outdir: Path) -> App:
    """An App as `cdk synth` makes it here: this app's cdk.json context (feature flags, account)."""
    return app_for_tests(HERE / "cdk.json", outdir=outdir)


@pytest.fixture(scope="module")
def assembly_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("cdk.out")
    build_app(new_app(outdir)).synth()  # raises if cdk-nag reports an unacknowledged finding
    return outdir


@pytest.fixture(scope="module")
def template_json(assembly_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((assembly_dir / f"{STACK_NAME}.template.json").read_text())
    return result


@pytest.fixture(scope="module")
def template(template_json: dict[str, Any]) -> Template:
    return Template.from_json(template_json)


def test_stack_snapshot(template_json: dict[str, Any], snapshot: SnapshotAssertion) -> None:
    """The whole template, asset hashes normalized: it changes only when the infrastructure does.
    After an intended change: ``pytest --snapshot-update``, and review the snapshot's diff."""
    assert normalize_template(template_json) == snapshot


def test_notes_table_is_keyed_by_user_and_note_and_kept(template: Template) -> None:
    template.resource_count_is("AWS::DynamoDB::GlobalTable", 1)
    template.has_resource(
        "AWS::DynamoDB::GlobalTable",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "KeySchema": [
                        {"AttributeName": "userId", "KeyType": "HASH"},
                        {"AttributeName": "noteId", "KeyType": "RANGE"},
                    ],
                    "Replicas": [
                        Match.object_like(
                            {
                                "DeletionProtectionEnabled": True,
                                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                            }
                        )
                    ],
                }
            ),
        },
    )


def test_attachment_bucket_is_private_encrypted_and_kept(template: Template) -> None:
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "BucketEncryption": Match.any_value(),
                    "VersioningConfiguration": {"Status": "Enabled"},
                }
            ),
        },
    )


@pytest.mark.parametrize(
    ("method", "resource"),
    [("GET", "Apinotes"), ("POST", "Apinotes"), ("POST", "ApinotesnoteIdattachments")],
)
def test_routes_are_iam_authorized_lambda_proxies(
    template: Template, template_json: dict[str, Any], method: str, resource: str
) -> None:
    (logical_id,) = [
        name
        for name, value in template_json["Resources"].items()
        if value["Type"] == "AWS::ApiGateway::Resource"
        and name.startswith(resource)
        and len(name) == len(resource) + 8  # the CDK appends an 8-character hash to the path's id
    ]
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": method,
            "ResourceId": {"Ref": logical_id},
            "AuthorizationType": "AWS_IAM",
            "Integration": Match.object_like({"Type": "AWS_PROXY"}),
        },
    )


def test_note_bodies_are_validated_by_the_gateway(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::Model",
        {
            "ContentType": "application/json",
            "Schema": Match.object_like(
                {"properties": {"text": {"type": "string", "minLength": 1, "maxLength": MAX_NOTE_LENGTH}}}
            ),
        },
    )


def test_function_may_use_the_table_and_assume_the_presign_role(template: Template) -> None:
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": Match.array_with(["dynamodb:PutItem", "dynamodb:Query"]),
                                "Effect": "Allow",
                            }
                        ),
                        Match.object_like(
                            {
                                "Action": "sts:AssumeRole",
                                "Effect": "Allow",
                                "Resource": {"Fn::GetAtt": [Match.string_like_regexp("PresignRole"), "Arn"]},
                            }
                        ),
                    ]
                ),
            },
            "Roles": [{"Ref": Match.string_like_regexp("NotesFunctionServiceRole")}],
        },
    )


def test_function_asset_holds_the_handler_and_the_library_runtime_helpers(
    template_json: dict[str, Any], assembly_dir: Path
) -> None:
    (function,) = [
        value
        for name, value in template_json["Resources"].items()
        if value["Type"] == "AWS::Lambda::Function" and name.startswith("NotesFunction")
    ]
    asset = assembly_dir / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    staged = {str(path.relative_to(asset)) for path in asset.rglob("*.py")}
    assert {"handler.py", "notes.py", "constructs_lib/runtime/presign.py"} <= staged
    assert function["Properties"]["Handler"] == "handler.handler"


def test_cdk_nag_fails_the_synth_of_a_noncompliant_resource(tmp_path: Path) -> None:
    app = build_app(new_app(tmp_path))
    # An SQS queue without a dead-letter queue or an SSL-only policy: AwsSolutions-SQS3 and SQS4.
    sqs.Queue(Stack(app, "Noncompliant"), "Queue")
    with pytest.raises(RuntimeError, match="AwsSolutions-SQS3"):
        app.synth()


def test_a_finding_acknowledged_on_its_resource_with_a_reason_passes(tmp_path: Path) -> None:
    app = build_app(new_app(tmp_path))
    # A dead-letter queue of its own needs no dead-letter queue (SQS3); its policy must still demand TLS.
    dead_letters = sqs.Queue(Stack(app, "Acknowledged"), "DeadLetters", enforce_ssl=True)
    acknowledge(
        dead_letters,
        reason="This queue is itself the dead-letter queue of the notes workers; "
        "a dead-letter queue for it would only move the same messages again.",
        cdk_nag=["AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy"],
    )
    app.synth()  # raises if any finding is left


@pytest.fixture(scope="module")
def local(assembly_dir: Path) -> Any:
    """The synthesized app running on 127.0.0.1 (moto and the real handler), for this module."""
    with local_app(assembly_dir) as running:
        yield running


def _signed(method: str, url: str, body: dict[str, str] | None, region: str) -> requests.Response:
    """A request signed with SigV4 for execute-api, as an IAM caller sends it."""
    data = json.dumps(body) if body is not None else None
    request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("AKIDLOCALNOTES", "secret"), "execute-api", region).add_auth(request)
    return requests.request(method, url, data=data, headers=dict(request.headers.items()), timeout=30)


def test_end_to_end_a_signed_caller_creates_and_lists_notes(local: Any) -> None:
    url = local.rest_api_url() + "notes"
    unsigned = requests.post(url, json={"text": "hello"}, timeout=30)
    created = _signed("POST", url, {"text": "hello"}, local.region)
    listed = _signed("GET", url, None, local.region)
    assert (unsigned.status_code, unsigned.json()) == (403, {"message": "Missing Authentication Token"})
    assert created.status_code == 201, created.text
    assert [note["text"] for note in listed.json()["items"]] == ["hello"]


def _event(method: str, resource: str, body: str | None = None, note_id: str | None = None) -> dict[str, Any]:
    return {
        "httpMethod": method,
        "resource": resource,
        "body": body,
        "pathParameters": {"noteId": note_id} if note_id else None,
        "requestContext": {"identity": {"caller": "AROAEXAMPLE:alice"}},
    }


def test_a_new_note_belongs_to_the_iam_caller() -> None:
    request = notes.parse_request(_event("POST", "/notes", '{"text": "buy milk"}'))
    item = notes.new_note(request, note_id=NOTE_ID, created_at="2026-01-01T00:00:00+00:00", max_length=10)
    assert item["userId"] == "AROAEXAMPLE:alice"
    assert notes.public_note(item) == {
        "noteId": NOTE_ID,
        "text": "buy milk",
        "createdAt": "2026-01-01T00:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({**_event("GET", "/notes"), "requestContext": {}}, "no IAM caller"),
        (_event("POST", "/notes", "{not json"), "not JSON"),
        (_event("POST", "/notes", "[1]"), "JSON object"),
        (_event("POST", "/notes/{noteId}/attachments", "{}", note_id="../x"), "noteId must be"),
    ],
)
def test_malformed_requests_are_rejected(event: dict[str, Any], message: str) -> None:
    with pytest.raises(notes.BadRequestError, match=message):
        notes.parse_request(event)


def test_note_text_length_is_enforced() -> None:
    request = notes.parse_request(_event("POST", "/notes", '{"text": "too long"}'))
    with pytest.raises(notes.BadRequestError, match="1 to 3 characters"):
        notes.new_note(request, note_id=NOTE_ID, created_at="now", max_length=3)


def test_attachments_are_keyed_under_the_upload_prefix_with_an_allowed_type() -> None:
    request = notes.parse_request(
        _event("POST", "/notes/{noteId}/attachments", '{"contentType": "image/png"}', note_id=NOTE_ID)
    )
    assert notes.attachment_content_type(request, ["image/png"]) == "image/png"
    assert notes.attachment_key("uploads/", NOTE_ID) == f"uploads/{NOTE_ID}"
    with pytest.raises(notes.BadRequestError, match="contentType must be one of image/jpeg"):
        notes.attachment_content_type(request, ["image/jpeg"])
