"""`make local` on the prod stage, whose API functions deploy through a canary: each route invokes
the function's `live` alias, which runs the one local copy, under the alias's own permissions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
from aws_cdk.cx_api import CloudAssembly

from constructs_lib.local.iam.service import IamEnforcement
from constructs_lib.local.runner import LocalRunner, create_user_token
from tests.local_apps import serving

HTTP_TIMEOUT = 30  # seconds: a cold worker imports its handler on the first request
API_FUNCTIONS = ("GroupsRead", "GroupsWrite", "ImageSearch", "ImagesRead", "ImagesWrite")


@pytest.fixture(scope="module")
def runner(prod_assembly: CloudAssembly) -> Iterator[LocalRunner]:
    with serving(prod_assembly.directory) as local:
        yield local


def test_the_banner_says_each_alias_runs_the_local_copy(runner: LocalRunner) -> None:
    banner = "\n".join(runner.banner())
    aliases = ", ".join(f"{name}:live" for name in API_FUNCTIONS)
    assert (
        f"Aliases (each runs its function's one local copy, the code just synthesized): {aliases}" in banner
    )
    assert "CodeDeploy: traffic shifting, pre/post-traffic hooks and rollbacks" in banner


def test_routes_invoke_the_alias_under_its_own_permission(runner: LocalRunner) -> None:
    (url,) = runner.rest_apis.values()
    token = create_user_token(runner.state(), "lea@example.com")
    headers = {"Authorization": token, "Idempotency-Key": str(uuid.uuid4())}
    body = {"name": "Canary", "description": "Through the alias"}
    created = requests.post(f"{url}/prod/groups", json=body, headers=headers, timeout=HTTP_TIMEOUT)
    again = requests.post(f"{url}/prod/groups", json=body, headers=headers, timeout=HTTP_TIMEOUT)
    listed = requests.get(f"{url}/prod/groups", timeout=HTTP_TIMEOUT)
    assert (created.status_code, again.status_code, listed.status_code) == (201, 201, 200), created.text
    assert again.json()["newItem"]["id"] == created.json()["newItem"]["id"]
    iam = runner.service("iam")
    assert isinstance(iam, IamEnforcement) and iam.authorizer is not None
    assert {arn: usage.denied for arn, usage in iam.authorizer.usage.items() if usage.denied} == {}
    invoked = {
        resource
        for usage in iam.authorizer.usage.values()
        for action, resource, _ in usage.allowed
        if action == "lambda:InvokeFunction" and ("-GroupsRead" in resource or "-GroupsWrite" in resource)
    }
    assert len(invoked) == 2
    assert all(resource.endswith(":live") for resource in invoked)  # API Gateway invoked the aliases
