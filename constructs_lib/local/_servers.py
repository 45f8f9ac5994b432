"""HTTP servers a service runs in daemon threads, and their orderly stop; where served APIs listen."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from http.server import ThreadingHTTPServer
from typing import Protocol


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


class StagedApi(Protocol):
    """A served API Gateway API (REST or WebSocket): its stages, in template order."""

    stage_names: list[str]


def ports_of(urls: Mapping[str, str]) -> dict[str, int]:
    """Each API's port, by name, from its URL (``http://host:port``): to serve it on again."""
    return {name: int(url.rsplit(":", 1)[1]) for name, url in urls.items()}


def first_stage_urls(urls: Mapping[str, str], gateways: Mapping[str, StagedApi]) -> dict[str, str]:
    """Each API's URL with its first stage (``http://host:port/prod``), or bare when it has none."""
    return {
        name: f"{url}/{gateways[name].stage_names[0]}" if gateways[name].stage_names else url
        for name, url in urls.items()
    }
