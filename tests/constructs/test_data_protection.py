"""Stateful constructs keep their data unless the user says, with a reason, that it is disposable.

Each guard fails in the construct's one ValueError (before anything is built, so these tests
synthesize nothing); one module fixture synthesizes every construct with a reason, to show the
protections are really off and the reason is in the template for reviewers and the diff.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb

from constructs_lib import (
    AlarmTopic,
    CompositeKeyTable,
    ImageStore,
    SearchDomain,
    ServerlessFunction,
    UserDirectory,
)
from constructs_lib._protection import METADATA_KEY
from tests.cdk import new_app, new_stack, synth_templates

REASON = "Holds only test fixtures that the suite recreates on every run."
HOW = (
    'If the data is disposable, say why in one sentence (disposable_data_reason="..."); '
    "otherwise keep the defaults"
)
ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
KEY = dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING)


def _table(stack: Stack, **props: Any) -> None:
    CompositeKeyTable(stack, "Scratch", partition_key=KEY, **props)


def _store(stack: Stack, **props: Any) -> None:
    store = ImageStore(stack, "Images", **props)
    # A store must have a signer (its own validation): a function that signs upload URLs.
    store.grant_presign(ServerlessFunction(stack, "Signer", entry=ECHO).function)


def _domain(stack: Stack, **props: Any) -> None:
    SearchDomain(stack, "Search", cognito_domain_prefix="scratch-search", **props)


def _users(stack: Stack, **props: Any) -> None:
    UserDirectory(stack, "Users", **props)


def _alarms(stack: Stack, **props: Any) -> None:
    AlarmTopic(stack, "Alarms", **props)


Build = Callable[..., None]
# construct, the props that switch its protections off, its path, what they would lose
GUARDED: dict[str, tuple[Build, dict[str, Any], str, str]] = {
    "table": (
        _table,
        {
            "point_in_time_recovery": False,
            "deletion_protection": False,
            "removal_policy": RemovalPolicy.DESTROY,
        },
        "Test/Scratch",
        "point_in_time_recovery=False, deletion_protection=False, removal_policy=DESTROY: "
        "they let the table's items be lost for good",
    ),
    "image store": (
        _store,
        {"removal_policy": RemovalPolicy.DESTROY},
        "Test/Images",
        "removal_policy=DESTROY: they let the stored images be lost for good",
    ),
    "search domain": (
        _domain,
        {"removal_policy": RemovalPolicy.DESTROY},
        "Test/Search",
        "removal_policy=DESTROY: they let the domain's indexes be lost for good",
    ),
    "user directory": (
        _users,
        {"removal_policy": RemovalPolicy.DESTROY},
        "Test/Users",
        "removal_policy=DESTROY: they let the users be lost for good",
    ),
    "alarm topic key": (
        _alarms,
        {"removal_policy": RemovalPolicy.DESTROY},
        "Test/Alarms",
        "removal_policy=DESTROY: they let the key and what it encrypts be lost for good",
    ),
}


@pytest.mark.parametrize("name", list(GUARDED))
def test_switching_protections_off_needs_a_reason(name: str) -> None:
    build, props, path, lost = GUARDED[name]
    with pytest.raises(ValueError) as raised:
        build(new_stack(new_app()), **props)
    assert str(raised.value) == f"{path}: disposable_data_reason: is required with {lost}. {HOW}"


@pytest.mark.parametrize(
    "props",
    [
        {"point_in_time_recovery": False},
        {"deletion_protection": False},
        {"removal_policy": RemovalPolicy.SNAPSHOT},
    ],
    ids=["pitr", "deletion protection", "snapshot policy"],
)
def test_each_table_protection_is_guarded_on_its_own(props: dict[str, Any]) -> None:
    (setting,) = [
        f"{key}={value.name if isinstance(value, RemovalPolicy) else value}" for key, value in props.items()
    ]
    with pytest.raises(ValueError) as raised:
        _table(new_stack(new_app()), **props)
    assert str(raised.value) == (
        f"Test/Scratch: disposable_data_reason: is required with {setting}: "
        f"they let the table's items be lost for good. {HOW}"
    )


def test_a_blank_reason_is_no_reason() -> None:
    with pytest.raises(ValueError, match="disposable_data_reason: is required with removal_policy=DESTROY"):
        _store(new_stack(new_app()), removal_policy=RemovalPolicy.DESTROY, disposable_data_reason="  ")


def test_retain_on_update_or_delete_keeps_the_data_and_needs_no_reason() -> None:
    _users(new_stack(new_app()), removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)


@pytest.mark.parametrize("name", list(GUARDED))
def test_a_reason_with_every_protection_on_is_stale(name: str) -> None:
    build, _, path, _ = GUARDED[name]
    data = GUARDED[name][3].split("they let ")[1].removesuffix(" be lost for good")
    with pytest.raises(ValueError) as raised:
        build(new_stack(new_app()), disposable_data_reason=REASON)
    assert str(raised.value) == (
        f"{path}: disposable_data_reason: is set, but every protection of {data} is on; remove it"
    )


def test_the_guard_joins_the_constructs_other_prop_errors() -> None:
    with pytest.raises(ValueError) as raised:
        _users(new_stack(new_app()), removal_policy=RemovalPolicy.DESTROY, password_min_length=6)
    assert str(raised.value).startswith("Test/Users: 2 invalid props:\n")
    assert "  - disposable_data_reason: is required with removal_policy=DESTROY" in str(raised.value)


@pytest.fixture(scope="module")
def disposable() -> dict[str, Any]:
    """Every guarded construct with its protections off and a reason (cdk-nag runs on the synth)."""
    app = new_app()
    stack = new_stack(app, "Disposable")
    for build, props, _, _ in GUARDED.values():
        build(stack, **props, disposable_data_reason=REASON)
    resources: dict[str, Any] = synth_templates(app)["Disposable"]["Resources"]
    return resources


def _of_type(resources: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [resource for resource in resources.values() if resource["Type"] == kind]


@pytest.mark.parametrize(
    "kind",
    [
        "AWS::DynamoDB::GlobalTable",
        "AWS::S3::Bucket",
        "AWS::OpenSearchService::Domain",
        "AWS::Cognito::UserPool",
    ],
)
def test_with_a_reason_the_data_goes_with_the_stack_and_the_template_says_why(
    disposable: dict[str, Any], kind: str
) -> None:
    acknowledged = [
        r for r in _of_type(disposable, kind) if r.get("Metadata", {}).get(METADATA_KEY) == REASON
    ]
    assert acknowledged, f"no {kind} carries the reason"
    assert {resource["DeletionPolicy"] for resource in acknowledged} == {"Delete"}


def test_a_disposable_table_has_no_pitr_nor_deletion_protection(disposable: dict[str, Any]) -> None:
    (table,) = _of_type(disposable, "AWS::DynamoDB::GlobalTable")
    (replica,) = table["Properties"]["Replicas"]
    assert replica.get("DeletionProtectionEnabled") is False
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": False}


def test_a_disposable_user_pool_can_be_deleted(disposable: dict[str, Any]) -> None:
    (pool,) = [
        p for p in _of_type(disposable, "AWS::Cognito::UserPool") if METADATA_KEY in p.get("Metadata", {})
    ]
    assert pool["Properties"]["DeletionProtection"] == "INACTIVE"


def test_a_disposable_alarm_key_is_scheduled_for_deletion_with_its_reason(disposable: dict[str, Any]) -> None:
    keys = [
        k for k in _of_type(disposable, "AWS::KMS::Key") if k.get("Metadata", {}).get(METADATA_KEY) == REASON
    ]
    assert [key["DeletionPolicy"] for key in keys] == ["Delete"]
