"""API Gateway WebSocket APIs served locally: see `gateway.WebSocketGateway`, `management`, `service`."""

from constructs_lib.local.websocket_api.gateway import WebSocketGateway
from constructs_lib.local.websocket_api.management import serve_management_api
from constructs_lib.local.websocket_api.service import WebSocketApis

__all__ = ["WebSocketApis", "WebSocketGateway", "serve_management_api"]
