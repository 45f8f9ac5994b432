"""HTTP servers a service runs in daemon threads, and their orderly stop."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class HttpServers:
    """The servers one service started: each serves in its own thread until `stop`."""

    def __init__(self) -> None:
        self._servers: list[ThreadingHTTPServer] = []

    def start(self, server: ThreadingHTTPServer, name: str) -> None:
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        thread.start()
        self._servers.append(server)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []


def execute_api_url(scheme: str, api_id: str, region: str, url_suffix: str) -> str:
    """The AWS URL prefix of an API Gateway API (REST or WebSocket)."""
    return f"{scheme}://{api_id}.execute-api.{region}.{url_suffix}"
