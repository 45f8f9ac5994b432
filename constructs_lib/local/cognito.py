"""Cognito user pools (created in moto) as one `LocalService`, and ID tokens for local users."""

from __future__ import annotations

import contextlib
import secrets
import string
from collections.abc import Mapping
from typing import Any

import boto3  # type: ignore[import-untyped,unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]

from constructs_lib.local._service import ServiceContext


class UserPools:
    """Every ``AWS::Cognito::UserPool`` with its app clients, for `create_user_token` and the banner."""

    name = "user-pools"

    def __init__(self) -> None:
        self.pools: list[dict[str, Any]] = []
        # How to get a token for this app (a hint in the banner), set by the runner once it knows its port.
        self.token_command = ""

    def start(self, context: ServiceContext) -> None:
        for stack in context.assembly.stacks:
            clients = stack.resources_of_type("AWS::Cognito::UserPoolClient")
            for logical_id in stack.resources_of_type("AWS::Cognito::UserPool"):
                pool_id = stack.ref(logical_id)
                client_ids = [
                    stack.ref(client_id)
                    for client_id, client in clients.items()
                    if stack.resolve(client["Properties"]["UserPoolId"]) == pool_id
                ]
                self.pools.append(
                    {"name": f"{stack.stack_name}/{logical_id}", "id": pool_id, "clients": client_ids}
                )

    def stop(self) -> None:
        """Nothing runs: the pools live in moto."""

    def banner(self) -> list[str]:
        lines = [f"User pool {pool['name']}: {pool['id']}" for pool in self.pools]
        if self.pools and self.token_command:
            lines.append(f"ID token for a new user: {self.token_command}")
        return lines

    def state(self) -> dict[str, Any]:
        return {"userPools": list(self.pools)}

    def not_emulated(self) -> list[str]:
        return []


def create_user_token(
    state: Mapping[str, Any], email: str, *, password: str | None = None, user_pool: str | None = None
) -> str:
    """Create (or reset) a confirmed user in a local user pool and return an ID token for it."""
    pools = [pool for pool in state["userPools"] if user_pool in (None, pool["name"], pool["id"])]
    pools = [pool for pool in pools if pool["clients"]]
    if not pools:
        raise ValueError(f"no local user pool with an app client matches {user_pool or 'the app'}")
    pool = pools[0]
    cognito = boto3.client(
        "cognito-idp",
        endpoint_url=state["aws"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 -- moto accepts any credentials
        config=Config(account_id_endpoint_mode="disabled"),
    )
    password = password or _strong_password()
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):
        cognito.admin_create_user(
            UserPoolId=pool["id"], Username=email, UserAttributes=attributes, MessageAction="SUPPRESS"
        )
    cognito.admin_set_user_password(UserPoolId=pool["id"], Username=email, Password=password, Permanent=True)
    reply = cognito.admin_initiate_auth(
        UserPoolId=pool["id"],
        ClientId=pool["clients"][0],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return str(reply["AuthenticationResult"]["IdToken"])


def _strong_password() -> str:
    """A password that meets any Cognito password policy: long, with every character class."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(24)) + "aA1!"
