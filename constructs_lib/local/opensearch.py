"""OpenSearch domains are not emulated: each domain's endpoint answers 503 with a JSON message."""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from constructs_lib.local._aws import AwsServer
from constructs_lib.local._servers import HttpServers
from constructs_lib.local._service import ServiceContext

log = logging.getLogger("constructs_lib.local")


class OpenSearchDomains:
    """Every ``AWS::OpenSearchService::Domain``: its endpoint, in functions' environments, answers 503."""

    name = "opensearch"

    def __init__(self) -> None:
        self._servers = HttpServers()

    def start(self, context: ServiceContext) -> None:
        host = context.options.host
        for stack in context.assembly.stacks:
            for logical_id in stack.resources_of_type("AWS::OpenSearchService::Domain"):
                domain = str(stack.resolve({"Fn::GetAtt": [logical_id, "DomainEndpoint"]}))
                server = not_emulated_server(host, "OpenSearch", aws=context.aws, aws_url=f"https://{domain}")
                self._servers.start(server, f"opensearch-{logical_id}")
                context.endpoints[f"https://{domain}"] = f"http://{host}:{server.server_address[1]}"

    def stop(self) -> None:
        self._servers.stop()

    def banner(self) -> list[str]:
        return []

    def state(self) -> dict[str, Any]:
        return {}

    def not_emulated(self) -> list[str]:
        return ["OpenSearch: requests to a domain answer 503 (search routes answer 503)."]


def not_emulated_server(
    host: str, service: str, *, aws: AwsServer | None = None, aws_url: str = ""
) -> ThreadingHTTPServer:
    """A server answering every request 503 with a message saying `service` is not emulated.

    A request `aws`'s checks refuse (IAM: ``es:ESHttp*`` on the domain's path, `aws_url` being the
    domain's AWS URL) gets their answer instead, as the domain would have refused it first.
    """
    body = json.dumps({"message": f"{service} is not emulated by the local runner"}).encode()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            data = self.rfile.read(length)
            answer = (
                aws.checked(self.command, aws_url + self.path, dict(self.headers.items()), data)
                if aws
                else None
            )
            if answer is not None:
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
                return
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            log.warning(
                "%s request %s %s answered 503: %s is not emulated", service, self.command, self.path, service
            )

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer  # noqa: N815 -- BaseHTTPRequestHandler's naming

        def log_message(self, format: str, *args: Any) -> None:
            """Replaced by the warning above."""

    return ThreadingHTTPServer((host, 0), Handler)
