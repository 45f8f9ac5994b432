"""Roles a service assumes (Scheduler's and EventBridge's target roles): their trust policy decides first."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, cast

import pytest

from constructs_lib.local._service import DeliveryRequest, ServiceContext
from constructs_lib.local.iam.service import IamEnforcement

ACCOUNT = "111111111111"
REGION = "us-east-1"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Sweep"
GROUP = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/JobGroup"
SCHEDULE = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/JobGroup/Nightly"
RULE = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/Uploads"


def _role(service: str, conditions: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A role trusted by `service` (as ScheduledJob writes it), allowed to invoke the function."""
    trust: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if conditions:
        trust["Condition"] = conditions
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]},
            "Policies": [
                {
                    "PolicyName": "Invoke",
                    "PolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": FUNCTION}
                        ]
                    },
                }
            ],
        },
    }


# ScheduledJob's trust policy: Scheduler, for this account and this job's schedule group.
SCHEDULED_JOB_TRUST = {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnEquals": {"aws:SourceArn": GROUP}}
TEMPLATE = {
    "SchedulerRole": _role("scheduler.amazonaws.com", SCHEDULED_JOB_TRUST),
    "EventsOnlyRole": _role("events.amazonaws.com"),
    "OtherGroupRole": _role(
        "scheduler.amazonaws.com", {"ArnEquals": {"aws:SourceArn": GROUP.replace("JobGroup", "Other")}}
    ),
}


class FakeTemplate:
    stack_name = "Jobs"

    def resources_of_type(self, *resource_types: str) -> dict[str, Mapping[str, Any]]:
        return {key: value for key, value in TEMPLATE.items() if value["Type"] in resource_types}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return role_arn(value["Fn::GetAtt"][0])
        if isinstance(value, dict) and "Ref" in value:
            return value["Ref"]
        return value

    def ref(self, logical_id: str) -> str:
        return logical_id


def role_arn(logical_id: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{logical_id}"


@pytest.fixture(scope="module")
def iam() -> IamEnforcement:
    context = SimpleNamespace(
        options=SimpleNamespace(iam="enforce"),
        assembly=SimpleNamespace(stacks=[FakeTemplate()]),
        account=ACCOUNT,
        region=REGION,
        aws=SimpleNamespace(checks=[]),
        delivery_checks=[],
        invoker=None,
    )
    enforcement = IamEnforcement()
    enforcement.start(cast(ServiceContext, context))
    return enforcement


def _deliver(iam: IamEnforcement, role: str, source_arn: str) -> str | None:
    return iam.check_delivery(DeliveryRequest(role_arn(role), "lambda:InvokeFunction", FUNCTION, source_arn))


def test_scheduler_assumes_a_role_whose_trust_names_its_schedule_group(iam: IamEnforcement) -> None:
    # Scheduler passes the schedule's group as aws:SourceArn, not the schedule itself.
    assert _deliver(iam, "SchedulerRole", SCHEDULE) is None


def test_a_role_trusting_another_service_is_refused_and_logged(
    iam: IamEnforcement, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="constructs_lib.local.iam"):
        refusal = _deliver(iam, "EventsOnlyRole", SCHEDULE)
    assert refusal is not None
    assert "scheduler.amazonaws.com is not authorized to perform: sts:AssumeRole" in refusal
    assert role_arn("EventsOnlyRole") in refusal
    assert (
        "IAM denied: scheduler.amazonaws.com sts:AssumeRole on " + role_arn("EventsOnlyRole") in caplog.text
    )
    # The same role is assumed by EventBridge for a rule.
    assert _deliver(iam, "EventsOnlyRole", RULE) is None


def test_a_trust_condition_on_another_schedule_group_refuses(iam: IamEnforcement) -> None:
    refusal = _deliver(iam, "OtherGroupRole", SCHEDULE)
    assert refusal is not None and "sts:AssumeRole" in refusal
