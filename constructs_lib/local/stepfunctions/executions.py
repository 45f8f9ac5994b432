"""``python -m constructs_lib.local executions``: a running app's workflow executions, and one's history.

Reads the run's state file (its moto URL and its state machines) and asks the run's Step Functions,
as the runner's own clients do (``local``: not checked by IAM enforcement).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config

from constructs_lib.local._aws import RUNNER_ACCESS_KEY
from constructs_lib.local.stepfunctions.service import STATE_KEY


def _client(state: Mapping[str, Any]) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=state["aws"],
        region_name=state["region"],
        aws_access_key_id=RUNNER_ACCESS_KEY,
        aws_secret_access_key="local",  # noqa: S106 -- moto accepts any credentials
        config=Config(account_id_endpoint_mode="disabled"),
    )


def executions(state: Mapping[str, Any], state_machine: str | None = None) -> list[dict[str, Any]]:
    """Every execution of the run's workflows (or of those whose "Stack/LogicalId" starts with
    `state_machine`), newest first: stateMachine, executionArn, name, status, startDate, stopDate."""
    machines: dict[str, str] = dict(state.get(STATE_KEY, {}))
    chosen = {
        path: arn for path, arn in machines.items() if state_machine is None or path.startswith(state_machine)
    }
    if state_machine is not None and not chosen:
        raise LookupError(f"no workflow {state_machine!r}; the run has: {', '.join(machines) or 'none'}")
    client = _client(state)
    found = []
    for path, arn in chosen.items():
        for page in client.get_paginator("list_executions").paginate(stateMachineArn=arn):
            for item in page["executions"]:
                found.append({"stateMachine": path, **{key: item.get(key) for key in _FIELDS}})
    return sorted(found, key=lambda item: item["startDate"], reverse=True)


_FIELDS = ("executionArn", "name", "status", "startDate", "stopDate")


def history(state: Mapping[str, Any], execution_arn: str) -> list[dict[str, Any]]:
    """The events of one execution, oldest first (as GetExecutionHistory answers)."""
    client = _client(state)
    events: list[dict[str, Any]] = []
    for page in client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events += page["events"]
    return events


def describe(state: Mapping[str, Any], execution_arn: str) -> dict[str, Any]:
    described: dict[str, Any] = _client(state).describe_execution(executionArn=execution_arn)
    return described


def execution_lines(items: list[dict[str, Any]]) -> list[str]:
    if not items:
        return ["No executions yet."]
    return [
        f"{_time(item['startDate'])}  {item['status']:9}  {item['stateMachine']}  {item['executionArn']}"
        for item in items
    ]


def history_lines(described: Mapping[str, Any], events: list[dict[str, Any]]) -> list[str]:
    lines = [f"{described['executionArn']}: {described['status']}"]
    if described.get("error") or described.get("cause"):
        lines.append(f"  error: {described.get('error', '')}: {described.get('cause', '')}")
    for event in events:
        details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        name = details.get("name") or details.get("resource") or ""
        problem = " ".join(str(details[key]) for key in ("error", "cause") if details.get(key))
        lines.append(
            f"  {event['id']:>4}  {_time(event['timestamp'])}  {event['type']}  {name}  {problem}".rstrip()
        )
    return lines


def _time(moment: Any) -> str:
    return moment.strftime("%H:%M:%S.%f")[:-3] if isinstance(moment, datetime) else str(moment or "-")
