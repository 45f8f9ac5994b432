"""The WebSocket APIs of the assembly as one `LocalService`: each served on its own port."""

from __future__ import annotations

import logging
from typing import Any

from constructs_lib.local._assembly import AWS_URL_SUFFIX
from constructs_lib.local._servers import HttpServers, execute_api_url, first_stage_urls, ports_of
from constructs_lib.local._service import ServiceContext
from constructs_lib.local.websocket_api.gateway import WebSocketGateway
from constructs_lib.local.websocket_api.management import serve_management_api

log = logging.getLogger("constructs_lib.local")


class WebSocketApis:
    """Every WebSocket ``AWS::ApiGatewayV2::Api`` (ports from ``--websocket-port``, 0: free ports), each
    with its @connections management API on a free port. HTTP APIs are not emulated.
    """

    name = "websocket-apis"

    def __init__(self) -> None:
        self.urls: dict[str, str] = {}  # "Stack/ApiName" -> ws://host:port
        self.gateways: dict[str, WebSocketGateway] = {}
        self._servers = HttpServers()

    def start(self, context: ServiceContext) -> None:
        host, port = context.options.host, context.options.websocket_port
        for stack in context.assembly.stacks:
            for logical_id, resource in stack.resources_of_type("AWS::ApiGatewayV2::Api").items():
                if resource.get("Properties", {}).get("ProtocolType") != "WEBSOCKET":
                    log.warning(
                        "HTTP API %s/%s is not emulated (only REST and WebSocket APIs)",
                        stack.stack_name,
                        logical_id,
                    )
                    continue
                gateway = WebSocketGateway(
                    stack, logical_id, invoker=context.invoker, region=context.region, account=context.account
                )
                name = f"{stack.stack_name}/{gateway.name}"
                url = gateway.start(host, context.ports.get(self.name, {}).get(name, port))
                port = port + 1 if port else 0
                self.gateways[name] = gateway
                management = serve_management_api(gateway, host, 0, context.aws)
                self._servers.start(management, f"connections-{logical_id}")
                self.urls[name] = url
                context.endpoints[execute_api_url("wss", gateway.api_id, context.region, AWS_URL_SUFFIX)] = (
                    url
                )
                context.endpoints[
                    execute_api_url("https", gateway.api_id, context.region, AWS_URL_SUFFIX)
                ] = f"http://{host}:{management.server_address[1]}"

    def stop(self) -> None:
        for gateway in self.gateways.values():
            gateway.stop()
        self.gateways = {}
        self._servers.stop()

    def ports(self) -> dict[str, int]:
        """Each API's port, by name (to serve it on again)."""
        return ports_of(self.urls)

    def stage_urls(self) -> dict[str, str]:
        """Each API's URL with its first stage, where clients connect (``ws://host:port/prod``)."""
        return first_stage_urls(self.urls, self.gateways)

    def banner(self) -> list[str]:
        return [f"WebSocket API {name}: {url}" for name, url in self.stage_urls().items()]

    def state(self) -> dict[str, Any]:
        return {"websocketApis": dict(self.urls), "websocketApiUrls": self.stage_urls()}

    def not_emulated(self) -> list[str]:
        if not self.gateways:
            return []
        return [
            "WebSocket APIs: events carry the real execute-api domainName; a handler building the "
            "@connections URL from it calls AWS (pass CONNECTIONS_ENDPOINT, as "
            "WebSocketApi.handler_environment does). HTTP APIs (v2) are not emulated."
        ]
