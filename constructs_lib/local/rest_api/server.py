"""The HTTP server in front of one `RestApiGateway`."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from constructs_lib.local.rest_api._model import HttpRequest
from constructs_lib.local.rest_api.gateway import RestApiGateway


def serve(gateway: RestApiGateway, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP/1.1 server for `gateway`, bound to host:port (0: a free port) but not started.

    The caller runs ``serve_forever`` (in a thread) and later ``shutdown`` and ``server_close``.
    """

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            try:
                body = self._read_body()
            except ValueError:
                self.send_error(400, "Bad request body framing")
                return
            url = urlsplit(self.path)
            response = gateway.handle(
                HttpRequest(
                    method=self.command,
                    path=url.path,
                    query=parse_qsl(url.query, keep_blank_values=True),
                    headers=list(self.headers.items()),
                    body=body,
                    source_ip=self.client_address[0],
                )
            )
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip(), 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline().strip():
                    pass  # trailer fields, up to the blank line that ends the body
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        # http.server calls do_<METHOD>.
        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """Silenced: `RestApiGateway.handle` logs every request."""

    return ThreadingHTTPServer((host, port), Handler)
