"""The @connections management API of a local WebSocket API: a plain HTTP server on its own port."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from constructs_lib.local._assembly import AWS_URL_SUFFIX
from constructs_lib.local._aws import AwsServer
from constructs_lib.local.websocket_api.gateway import WebSocketGateway

log = logging.getLogger("constructs_lib.local")


def serve_management_api(
    gateway: WebSocketGateway, host: str, port: int, aws: AwsServer | None = None
) -> ThreadingHTTPServer:
    """A server (bound, not started) for ``/<stage>/@connections/<id>`` of `gateway`.

    Each request passes `aws`'s checks first (IAM: ``execute-api:ManageConnections``), as AWS's URL.
    """
    aws_url = f"https://{gateway.api_id}.execute-api.{gateway.region}.{AWS_URL_SUFFIX}"

    class Handler(BaseHTTPRequestHandler):
        def _refused(self, data: bytes) -> bool:
            answer = (
                aws.checked(self.command, aws_url + self.path, dict(self.headers.items()), data)
                if aws
                else None
            )
            if answer is None:
                return False
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
            return True

        def _connection_id(self) -> str | None:
            stage, _, rest = urlsplit(self.path).path.lstrip("/").partition("/")
            prefix = "@connections/"
            if stage not in gateway.stage_names or not rest.startswith(prefix):
                return None
            return unquote(rest.removeprefix(prefix))

        def do_POST(self) -> None:
            connection_id = self._connection_id()
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self._refused(data):
                return
            if connection_id is None:
                self._answer(404, "NotFoundException", "No method found matching route")
            elif len(data) > 128 * 1024:
                self._answer(413, "PayloadTooLargeException", "Payload too large")
            elif gateway.post_to_connection(connection_id, data):
                self._answer(200)
            else:
                self._answer(410, "GoneException", None)

        def do_GET(self) -> None:
            if self._refused(b""):
                return
            connection_id = self._connection_id()
            described = gateway.describe_connection(connection_id) if connection_id else None
            if described is None:
                self._answer(410, "GoneException", None)
            else:
                self._answer(200, body=described)

        def do_DELETE(self) -> None:
            if self._refused(b""):
                return
            connection_id = self._connection_id()
            if connection_id and gateway.close_connection(connection_id):
                self._answer(204)
            else:
                self._answer(410, "GoneException", None)

        def _answer(
            self,
            status: int,
            error_type: str | None = None,
            message: str | None = None,
            *,
            body: Mapping[str, Any] | None = None,
        ) -> None:
            content = b""
            if error_type is not None:
                content = json.dumps({"message": message}).encode()
            elif body is not None:
                content = json.dumps(body).encode()
            self.send_response(status)
            if error_type is not None:
                self.send_header("x-amzn-ErrorType", error_type)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("@connections %s", format % args)

    return ThreadingHTTPServer((host, port), Handler)
