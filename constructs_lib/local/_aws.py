"""The embedded moto server every AWS SDK call of a run goes to, and the checks in front of it.

Every function's worker gets its own access key (`credentials`), so a request tells which function
signed it (`AwsRequest.principal`); the runner's own clients sign as ``local``. Each check in
`checks` sees every request before moto does and may answer it instead (IAM enforcement hooks in
here); with no checks, requests go to moto untouched.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

_HTTP_TIMEOUT = 10  # seconds: requests to the embedded moto server
RUNNER_ACCESS_KEY = "local"  # what the runner's own clients sign with
_SIGV4_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/")


@dataclass(frozen=True)
class AwsRequest:
    """One request to the embedded AWS endpoint, as a check sees it."""

    principal: str | None  # the ARN of the function whose worker signed it; None for anyone else
    access_key: str | None
    method: str
    url: str  # with the query string
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class AwsResponse:
    """What a check answers instead of moto (an AWS error document, usually)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


# None lets the request through to moto; a response answers it instead.
AwsRequestCheck = Callable[[AwsRequest], AwsResponse | None]


class AwsServer:
    """moto's server on `host`:`port` (0: a free port), serving every request as `account`."""

    def __init__(self, host: str, port: int, account: str) -> None:
        self.host = host
        self.port = port
        self.account = account
        self.url = ""
        self.checks: list[AwsRequestCheck] = []
        self._principals: dict[str, str] = {}  # access key -> function ARN
        self._moto: Callable[..., Iterable[bytes]] = DomainDispatcherApplication(create_backend_app)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._previous_account: str | None = None

    def start(self) -> str:
        """Serve, from an empty moto (its state is per process, not per server); returns the URL."""
        # moto serves every request as this account, so ARNs match the templates' account.
        self._previous_account = os.environ.get("MOTO_ACCOUNT_ID")
        os.environ["MOTO_ACCOUNT_ID"] = self.account
        self._server = make_server(
            self.host, self.port, self._application, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="moto", daemon=True
        )
        self._thread.start()
        self.url = f"http://{self.host}:{self._server.server_port}"
        requests.post(f"{self.url}/moto-api/reset", timeout=_HTTP_TIMEOUT).raise_for_status()
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        if self._previous_account is None:
            os.environ.pop("MOTO_ACCOUNT_ID", None)
        else:
            os.environ["MOTO_ACCOUNT_ID"] = self._previous_account

    def credentials(self, principal: str) -> dict[str, str]:
        """The access key a worker running as `principal` (a function ARN) signs with."""
        access_key = "LOCAL" + hashlib.sha256(principal.encode()).hexdigest()[:15].upper()
        self._principals[access_key] = principal
        return {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": "local"}

    def principal_of(self, access_key: str | None) -> str | None:
        return self._principals.get(access_key or "")

    def checked(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> AwsResponse | None:
        """Run the checks on a request to an endpoint the runner serves in AWS's place (`url`: AWS's URL).

        The WebSocket ``@connections`` API and OpenSearch's stand-in call this before answering.
        """
        query_key = re.search(r"[?&]X-Amz-Credential=([A-Za-z0-9]+)", url)
        signed = _SIGV4_CREDENTIAL.search(
            next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        )
        access_key = signed.group(1) if signed else query_key.group(1) if query_key else None
        request = AwsRequest(self.principal_of(access_key), access_key, method, url, dict(headers), body)
        for check in self.checks:
            answer = check(request)
            if answer is not None:
                return answer
        return None

    def get(self, path: str) -> Any:
        """GET a moto-api or well-known document from the server, as JSON."""
        reply = requests.get(f"{self.url}{path}", timeout=_HTTP_TIMEOUT)
        reply.raise_for_status()
        return reply.json()

    def _application(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not self.checks:
            return self._moto(environ, start_response)
        request = Request(environ)
        body = request.get_data(cache=True)
        # moto reads the body again: give it the bytes the checks saw, with their length.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False
        access_key = _access_key(request)
        seen = AwsRequest(
            principal=self.principal_of(access_key),
            access_key=access_key,
            method=request.method,
            url=request.url,
            headers=dict(request.headers.items()),
            body=body,
        )
        for check in self.checks:
            answer = check(seen)
            if answer is not None:
                response = Response(answer.body, status=answer.status, headers=answer.headers)
                return response(environ, start_response)
        return self._moto(environ, start_response)


def aws_environment(url: str, region: str) -> dict[str, str]:
    """What every AWS SDK client of a function needs to reach the embedded moto server at `url`."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": RUNNER_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        # botocore 1.44.4+ would otherwise put the account id in DynamoDB endpoints, unknown to moto.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }


def _access_key(request: Request) -> str | None:
    """The access key id a request was signed with (Authorization header or presigned query), unverified."""
    signed = _SIGV4_CREDENTIAL.search(request.headers.get("Authorization", ""))
    if signed:
        return signed.group(1)
    credential = request.args.get("X-Amz-Credential", "")
    return credential.split("/", 1)[0] or None
