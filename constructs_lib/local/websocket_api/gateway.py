"""An API Gateway WebSocket API (``AWS::ApiGatewayV2::Api``) served locally, with its @connections API.

Clients connect to ``ws://host:port/<stage>``. ``$connect`` runs its integration before the handshake
completes and refuses the connection unless it answers 2xx; each message is routed by the API's route
selection expression (``$request.body.action``) to its route or ``$default``, and a two-way route
(one with a route response) sends its integration's response ``body`` back; closing runs
``$disconnect``. A ``$connect`` Lambda authorizer runs first (see `authorizer`). A route whose
function cannot be invoked answers as API Gateway does: ``500`` to
``$connect``, an "Internal server error" message otherwise. Functions reach the connection management
API (``POST|GET|DELETE /<stage>/@connections/<id>``) at a second, plain HTTP port, which answers 410
GoneException for a connection that is closed, so handlers' cleanup runs as in AWS.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.http11 import Request, Response
from websockets.protocol import State

from constructs_lib.local._types import Invocation, Invoker, TemplateView
from constructs_lib.local.websocket_api.authorizer import connect_authorizer

log = logging.getLogger("constructs_lib.local")

_HANDSHAKE_TIMEOUT = 60.0  # seconds; websockets' default of 10 s is shorter than a cold $connect may take
_FUNCTION_URI_MARKER = ":lambda:path/2015-03-31/functions/"
# Threads running the routes' functions: API Gateway invokes them concurrently, so a slow route must not
# hold up $connect or the other connections' messages.
_INVOCATION_THREADS = 32


@dataclass
class _Connection:
    connection_id: str
    socket: ServerConnection
    source_ip: str
    user_agent: str
    connected_at: float
    last_active_at: float
    authorizer: dict[str, Any] | None = None  # the $connect authorizer's principalId and context


class WebSocketGateway:
    """One ``AWS::ApiGatewayV2::Api`` of protocol WEBSOCKET, as API Gateway would serve it."""

    def __init__(
        self, template: TemplateView, api_id: str, *, invoker: Invoker, region: str, account: str
    ) -> None:
        self.template = template
        self.logical_id = api_id
        self.api_id = template.ref(api_id)
        self.invoker = invoker
        self.region = region
        self.account = account
        properties = template.resources_of_type("AWS::ApiGatewayV2::Api")[api_id].get("Properties", {})
        self.name = str(template.resolve(properties.get("Name", api_id)))
        self.selection_expression = str(properties.get("RouteSelectionExpression", "$request.body.action"))
        self.stage_names = [
            str(template.resolve(stage["Properties"]["StageName"]))
            for stage in template.resources_of_type("AWS::ApiGatewayV2::Stage").values()
            if template.resolve(stage["Properties"]["ApiId"]) == self.api_id
        ]
        self.connect_authorizer = connect_authorizer(template, self.api_id)
        self.routes, self.two_way_routes = self._routes()
        self.connections: dict[str, _Connection] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.url = ""

    def _routes(self) -> tuple[dict[str, str], set[str]]:
        """Route key -> function ARN for the routes with Lambda proxy integrations, and the two-way ones."""
        integrations = {
            self.template.ref(logical_id): str(
                self.template.resolve(resource["Properties"].get("IntegrationUri", ""))
            )
            for logical_id, resource in self.template.resources_of_type(
                "AWS::ApiGatewayV2::Integration"
            ).items()
            if self.template.resolve(resource["Properties"]["ApiId"]) == self.api_id
        }
        # API Gateway sends a route's integration response back only if the route has a route response.
        responded = {
            self.template.resolve(resource["Properties"]["RouteId"])
            for resource in self.template.resources_of_type("AWS::ApiGatewayV2::RouteResponse").values()
        }
        routes = {}
        two_way = set()
        for logical_id, resource in self.template.resources_of_type("AWS::ApiGatewayV2::Route").items():
            properties = resource["Properties"]
            if self.template.resolve(properties["ApiId"]) != self.api_id:
                continue
            route_key = str(properties["RouteKey"])
            authorization = properties.get("AuthorizationType", "NONE")
            if authorization != "NONE" and not (route_key == "$connect" and self.connect_authorizer):
                log.warning(
                    "WebSocket route %s of %s uses %s authorization, which is not emulated: every connection "
                    "is let through",
                    route_key,
                    self.name,
                    authorization,
                )
            target = str(self.template.resolve(properties.get("Target", "")))
            uri = integrations.get(target.removeprefix("integrations/"), "")
            if _FUNCTION_URI_MARKER not in uri:
                log.warning(
                    "WebSocket route %s (%s) has no Lambda proxy integration: not served",
                    route_key,
                    logical_id,
                )
                continue
            routes[route_key] = uri.split(_FUNCTION_URI_MARKER, 1)[1].removesuffix("/invocations")
            if (
                "RouteResponseSelectionExpression" in properties
                and self.template.ref(logical_id) in responded
            ):
                two_way.add(route_key)
        return routes, two_way

    # Serving ----------------------------------------------------------------------------------

    def start(self, host: str, port: int) -> str:
        """Serve on `host`:`port` (0 for a free port) in a background thread; returns the ws:// URL.

        Raises the OSError of a port that cannot be bound (one in use, say).
        """
        ready = threading.Event()
        bind_errors: list[OSError] = []
        self._executor = ThreadPoolExecutor(_INVOCATION_THREADS, thread_name_prefix=f"websocket-{self.name}")

        async def run() -> None:
            try:
                # $connect runs inside the handshake: its cold start and timeout must fit in it.
                server = await serve(
                    self._session,
                    host,
                    port,
                    process_request=self._handshake,
                    process_response=self._register,
                    open_timeout=_HANDSHAKE_TIMEOUT,
                )
            except OSError as error:
                # Raised again by start(): the thread would only print it.
                bind_errors.append(error)
                ready.set()
                return
            self._loop, self._server = asyncio.get_running_loop(), server
            ready.set()
            await server.serve_forever()

        def main() -> None:
            try:
                asyncio.run(run())
            except asyncio.CancelledError:
                return

        self._thread = threading.Thread(target=main, name=f"websocket-{self.name}", daemon=True)
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError(f"the WebSocket API {self.name} did not start")
        if bind_errors:
            self.stop()
            raise bind_errors[0]
        assert self._server is not None
        bound_port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://{host}:{bound_port}"
        return self.url

    def stop(self) -> None:
        """Close the connections (running ``$disconnect``) and stop serving; calling it again does nothing."""
        loop, server = self._loop, self._server
        self._loop = self._server = None
        if loop is not None and server is not None:
            loop.call_soon_threadsafe(server.close)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def _handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        stage = urlsplit(request.path).path.strip("/")
        if stage not in self.stage_names:
            return connection.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")
        try:
            connection.protocol.process_request(request)
        except InvalidHandshake:
            # Not a WebSocket handshake (a plain HTTP request, say): websockets refuses it (426 Upgrade
            # Required, 400...) once this returns, and $connect must not run for a connection never opened.
            return None
        connection_id = base64.b64encode(os.urandom(10)).decode()
        source_ip = str(connection.remote_address[0]) if connection.remote_address else "127.0.0.1"
        now = time.time()
        record = _Connection(
            connection_id,
            connection,
            source_ip,
            request.headers.get("User-Agent", ""),
            now,
            now,
        )
        if self.connect_authorizer is not None:
            refusal = await self._authorize(record, stage, request)
            if refusal is not None:
                log.info(
                    "WebSocket $connect of %s refused by its authorizer with %s", self.name, refusal.value
                )
                return connection.respond(refusal, f"{refusal.phrase}\n")
        if "$connect" in self.routes:
            event = self._event("$connect", "CONNECT", record, stage, request=request)
            invocation = await self._invoke("$connect", event)
            status = _status(invocation.payload) if invocation is not None and not invocation.failed else 500
            if not 200 <= status < 300:
                log.info("WebSocket $connect of %s refused with %s", self.name, status)
                refusal = _refusal(status)
                return connection.respond(refusal, f"{refusal.phrase}\n")
        # Registered by _register once the handshake is accepted.
        connection.local_record = record  # type: ignore[attr-defined]
        return None

    def _register(self, connection: ServerConnection, request: Request, response: Response) -> None:
        """Make an accepted connection reachable before its 101 goes out, as API Gateway's is once the
        client is connected: a post right after the client opened it (the 101 reached the client
        before _session started, on a busy machine) found no connection and answered 410."""
        del request
        record: _Connection | None = getattr(connection, "local_record", None)
        accepted = response.status_code == HTTPStatus.SWITCHING_PROTOCOLS
        # A client gone during $connect gets no 101 and no session: websockets checks the same state
        # right after this returns, with no await in between.
        if record is not None and accepted and connection.state is State.CONNECTING:
            with self._lock:
                self.connections[record.connection_id] = record

    async def _authorize(self, record: _Connection, stage: str, request: Request) -> HTTPStatus | None:
        """Run the $connect authorizer: None to go on (its context kept on `record`), else the refusal."""
        authorizer = self.connect_authorizer
        assert authorizer is not None and self._executor is not None
        method_arn = f"arn:aws:execute-api:{self.region}:{self.account}:{self.api_id}/{stage}/$connect"
        event = authorizer.event(
            self._event("$connect", "CONNECT", record, stage, request=request), method_arn
        )
        if event is None:
            return HTTPStatus.UNAUTHORIZED
        try:
            invocation = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.invoker.invoke, authorizer.function_arn, event
            )
        except Exception as error:
            log.error("WebSocket authorizer %s of %s could not run: %s", authorizer.name, self.name, error)
            return HTTPStatus.INTERNAL_SERVER_ERROR
        refusal, context = authorizer.decide(invocation, method_arn)
        record.authorizer = context or None
        return refusal

    async def _session(self, connection: ServerConnection) -> None:
        record: _Connection = connection.local_record  # type: ignore[attr-defined]
        connection_id = record.connection_id
        stage = urlsplit(connection.request.path if connection.request else "/").path.strip("/")
        try:
            async for message in connection:
                record.last_active_at = time.time()
                await self._route_message(record, stage, message)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self.connections.pop(connection_id, None)
            if "$disconnect" in self.routes:
                event = self._event("$disconnect", "DISCONNECT", record, stage)
                event["requestContext"]["disconnectStatusCode"] = connection.close_code or 1005
                event["requestContext"]["disconnectReason"] = connection.close_reason or ""
                await self._invoke("$disconnect", event)

    async def _route_message(self, record: _Connection, stage: str, message: str | bytes) -> None:
        route_key = self._select_route(message)
        if route_key is None:
            reply = {"message": "Forbidden", "connectionId": record.connection_id, "requestId": _request_id()}
            await record.socket.send(json.dumps(reply))
            return
        event = self._event(route_key, "MESSAGE", record, stage)
        event["body"] = message if isinstance(message, str) else base64.b64encode(message).decode()
        event["isBase64Encoded"] = not isinstance(message, str)
        invocation = await self._invoke(route_key, event)
        if invocation is None or invocation.failed:
            reply = {
                "message": "Internal server error",
                "connectionId": record.connection_id,
                "requestId": _request_id(),
            }
            await record.socket.send(json.dumps(reply))
        elif route_key in self.two_way_routes:
            body = invocation.payload.get("body") if isinstance(invocation.payload, Mapping) else None
            if isinstance(body, str):
                await record.socket.send(body)

    async def _invoke(self, route_key: str, event: dict[str, Any]) -> Invocation | None:
        """Run the route's function in the gateway's threads; None (logged) if it could not be invoked."""
        assert self._executor is not None
        function_arn = self.routes[route_key]
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, self.invoker.invoke, function_arn, event
            )
        except Exception as error:
            # A function that is not local (KeyError) is expected when part of an app runs elsewhere; any
            # other error is a bug, worth its traceback.
            log.error(
                "WebSocket route %s of %s could not invoke %s: %s: %s",
                route_key,
                self.name,
                function_arn,
                type(error).__name__,
                error,
                exc_info=not isinstance(error, KeyError),
            )
            return None

    def _select_route(self, message: str | bytes) -> str | None:
        prefix = "$request.body."
        if self.selection_expression.startswith(prefix) and isinstance(message, str):
            try:
                value: Any = json.loads(message)
                for part in self.selection_expression.removeprefix(prefix).split("."):
                    value = value.get(part) if isinstance(value, dict) else None
            except json.JSONDecodeError:
                value = None
            # $connect and $disconnect are not routes for messages, and $default is the fallback anyway.
            if isinstance(value, str) and value in self.routes and not value.startswith("$"):
                return value
        return "$default" if "$default" in self.routes else None

    def _event(
        self,
        route_key: str,
        event_type: str,
        record: _Connection,
        stage: str,
        *,
        request: Request | None = None,
    ) -> dict[str, Any]:
        now = time.time()
        context = {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": _request_id(),
            "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "messageDirection": "IN",
            "stage": stage,
            "connectedAt": int(record.connected_at * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"userAgent": record.user_agent, "sourceIp": record.source_ip},
            "requestId": _request_id(),
            "domainName": f"{self.api_id}.execute-api.{self.region}.amazonaws.com",
            "connectionId": record.connection_id,
            "apiId": self.api_id,
        }
        if event_type == "MESSAGE":
            context["messageId"] = _request_id()
        if record.authorizer is not None:
            context["authorizer"] = dict(record.authorizer)
        event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
        if request is not None:
            event["headers"] = {}
            event["multiValueHeaders"] = {}
            for name, value in request.headers.raw_items():
                event["headers"][name] = value
                event["multiValueHeaders"].setdefault(name, []).append(value)
            query = parse_qsl(urlsplit(request.path).query, keep_blank_values=True)
            if query:
                event["queryStringParameters"] = dict(query)
                multi: dict[str, list[str]] = {}
                for name, value in query:
                    multi.setdefault(name, []).append(value)
                event["multiValueQueryStringParameters"] = multi
        elif event_type == "DISCONNECT":
            event["headers"] = {"Host": context["domainName"]}
            event["multiValueHeaders"] = {"Host": [context["domainName"]]}
        return event

    # The connection management API -----------------------------------------------------------

    def post_to_connection(self, connection_id: str, data: bytes) -> bool:
        """Send `data` to the connection; False if it is gone."""
        record = self.connections.get(connection_id)
        if record is None or self._loop is None:
            return False
        text = data.decode("utf-8", errors="strict") if _is_text(data) else None
        try:
            future = asyncio.run_coroutine_threadsafe(
                record.socket.send(text if text is not None else data), self._loop
            )
            future.result(timeout=5)
        except ConnectionClosed:
            # Closed without a session to unregister it (its handshake failed after _register): gone.
            with self._lock:
                self.connections.pop(connection_id, None)
            return False
        record.last_active_at = time.time()
        return True

    def close_connection(self, connection_id: str) -> bool:
        record = self.connections.get(connection_id)
        if record is None or self._loop is None:
            return False
        asyncio.run_coroutine_threadsafe(record.socket.close(), self._loop).result(timeout=5)
        return True

    def describe_connection(self, connection_id: str) -> dict[str, Any] | None:
        record = self.connections.get(connection_id)
        if record is None:
            return None
        return {
            "connectedAt": _iso(record.connected_at),
            "lastActiveAt": _iso(record.last_active_at),
            "identity": {"sourceIp": record.source_ip, "userAgent": record.user_agent},
        }


def _status(payload: Any) -> int:
    """The status of a WebSocket integration's response; Lambda proxy results without one count as 200."""
    if isinstance(payload, Mapping) and "statusCode" in payload:
        try:
            return int(payload["statusCode"])
        except (TypeError, ValueError):
            return 500
    return 200


def _refusal(status: int) -> HTTPStatus:
    """The status refusing a connection whose $connect answered `status`: it if a 4xx/5xx one, else 500."""
    try:
        refusal = HTTPStatus(status)
    except ValueError:
        return HTTPStatus.INTERNAL_SERVER_ERROR
    return refusal if 400 <= refusal < 600 else HTTPStatus.INTERNAL_SERVER_ERROR


def _request_id() -> str:
    return base64.b64encode(uuid.uuid4().bytes[:12]).decode()


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
