"""Sessions of the app's roles, from the embedded moto's STS: how the runner acts as a role.

A service that calls AWS as a role in AWS (API Gateway with an integration's credentials, Step
Functions with a state machine's role) signs its local requests with a session of that role, so
IAM enforcement decides them as that role (it knows moto's sessions by access key).
"""

from __future__ import annotations

import threading

import boto3  # type: ignore[import-untyped,unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]

from constructs_lib.local._aws import RUNNER_ACCESS_KEY


class RoleSessions:
    """One session per role (`session_for`), assumed once through moto's STS at `aws_url`."""

    def __init__(self, aws_url: str, region: str, session_name: str) -> None:
        self._sts = boto3.client(
            "sts",
            endpoint_url=aws_url,
            region_name=region,
            aws_access_key_id=RUNNER_ACCESS_KEY,
            aws_secret_access_key="local",  # noqa: S106 -- moto accepts any credentials
            config=Config(account_id_endpoint_mode="disabled"),
        )
        self._session_name = session_name
        self._sessions: dict[str, tuple[str, str, str]] = {}
        self._lock = threading.Lock()

    def session_for(self, role_arn: str) -> tuple[str, str, str]:
        """(access key, secret key, session token) of a session of `role_arn`."""
        with self._lock:
            if role_arn not in self._sessions:
                answer = self._sts.assume_role(RoleArn=role_arn, RoleSessionName=self._session_name)
                credentials = answer["Credentials"]
                self._sessions[role_arn] = (
                    credentials["AccessKeyId"],
                    credentials["SecretAccessKey"],
                    credentials["SessionToken"],
                )
            return self._sessions[role_arn]

    def access_keys(self) -> set[str]:
        """The access keys of the sessions handed out so far."""
        with self._lock:
            return {access_key for access_key, _, _ in self._sessions.values()}
