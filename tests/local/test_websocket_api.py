"""The local WebSocket API: $connect decides, messages are routed, @connections reaches the sockets."""

from __future__ import annotations

import asyncio
import errno
import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3  # type: ignore[import-untyped,unused-ignore]
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from constructs_lib.local._assembly import CloudAssembly
from constructs_lib.local._provision import named_only
from constructs_lib.local._types import FunctionError, Invocation, TemplateView
from constructs_lib.local.websocket_api import WebSocketGateway, serve_management_api

FUNCTION_ARN = "arn:aws:lambda:us-east-1:111111111111:function:{}"


def integration(function: str) -> dict[str, Any]:
    arn = FUNCTION_ARN.format(function)
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"
    return {
        "Type": "AWS::ApiGatewayV2::Integration",
        "Properties": {"ApiId": {"Ref": "Api"}, "IntegrationType": "AWS_PROXY", "IntegrationUri": uri},
    }


def route(key: str, integration_id: str, **properties: str) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGatewayV2::Route",
        "Properties": {
            "ApiId": {"Ref": "Api"},
            "RouteKey": key,
            "AuthorizationType": "NONE",
            "Target": {"Fn::Join": ["", ["integrations/", {"Ref": integration_id}]]},
            **properties,
        },
    }


TEMPLATE = {
    "Resources": {
        "Api": {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {
                "Name": "Chat",
                "ProtocolType": "WEBSOCKET",
                "RouteSelectionExpression": "$request.body.action",
            },
        },
        "Stage": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {"ApiId": {"Ref": "Api"}, "StageName": "dev"},
        },
        "ConnectIntegration": integration("connect"),
        "DisconnectIntegration": integration("disconnect"),
        "SendIntegration": integration("send"),
        "EchoIntegration": integration("echo"),
        "LostIntegration": integration("lost"),
        "ConnectRoute": route("$connect", "ConnectIntegration"),
        "DisconnectRoute": route("$disconnect", "DisconnectIntegration"),
        "SendRoute": route("send", "SendIntegration"),
        # What CDK's return_response=True makes: a two-way route.
        "EchoRoute": route("echo", "EchoIntegration", RouteResponseSelectionExpression="$default"),
        "EchoRouteResponse": {
            "Type": "AWS::ApiGatewayV2::RouteResponse",
            "Properties": {
                "ApiId": {"Ref": "Api"},
                "RouteId": {"Ref": "EchoRoute"},
                "RouteResponseKey": "$default",
            },
        },
        "LostRoute": route("lost", "LostIntegration"),
    }
}


class ScriptedInvoker:
    """Records each invocation; `$connect` answers what `connect_status` says.

    Functions in `missing` (`lost` unless a test says otherwise) are not local: they raise KeyError, as
    the real invoker does. Those in `gates` answer once their event is set; `echo` answers its body back.
    """

    def __init__(self) -> None:
        self.events: list[tuple[str, Mapping[str, Any]]] = []
        self.threads: list[str] = []
        self.connect_status = 200
        self.fail_messages = False
        self.missing = {"lost"}
        self.gates: dict[str, threading.Event] = {}
        self._changed = threading.Condition()

    def invoke(self, function_arn: str, event: Mapping[str, Any]) -> Invocation:
        function = function_arn.rsplit(":", 1)[1]
        with self._changed:
            self.events.append((function, event))
            self.threads.append(threading.current_thread().name)
            self._changed.notify_all()
        if function in self.missing:
            raise KeyError(function_arn)
        if function in self.gates:
            self.gates[function].wait(timeout=5)
        if function == "connect":
            return Invocation("id", payload={"statusCode": self.connect_status})
        if function == "send" and self.fail_messages:
            return Invocation("id", error=FunctionError("ValueError", "bad message"))
        if function == "echo":
            return Invocation("id", payload={"statusCode": 200, "body": f"echo {event['body']}"})
        return Invocation("id", payload={"statusCode": 200, "body": "only for two-way routes"})

    def wait_for(self, predicate: Callable[[list[tuple[str, Mapping[str, Any]]]], bool]) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: predicate(self.events), timeout=5), self.events


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> TemplateView:
    directory = tmp_path_factory.mktemp("cdk.out")
    (directory / "Chat.template.json").write_text(json.dumps(TEMPLATE))
    manifest = {
        "artifacts": {
            "Chat": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Chat.template.json"}}
        }
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    assembly = CloudAssembly(
        Path(directory), region="us-east-1", account="111111111111", provision=named_only
    )
    return assembly.stack("Chat")


def new_gateway(stack: TemplateView, invoker: ScriptedInvoker) -> WebSocketGateway:
    return WebSocketGateway(stack, "Api", invoker=invoker, region="us-east-1", account="111111111111")


@pytest.fixture(scope="module")
def served(stack: TemplateView) -> Iterator[tuple[WebSocketGateway, ScriptedInvoker, str]]:
    invoker = ScriptedInvoker()
    gateway = new_gateway(stack, invoker)
    gateway.start("127.0.0.1", 0)
    management = serve_management_api(gateway, "127.0.0.1", 0)
    thread = threading.Thread(target=management.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield gateway, invoker, f"http://127.0.0.1:{management.server_address[1]}/dev"
    management.shutdown()
    management.server_close()
    gateway.stop()


@pytest.fixture
def invoker(served: tuple[WebSocketGateway, ScriptedInvoker, str]) -> ScriptedInvoker:
    served[1].events.clear()
    served[1].threads.clear()
    served[1].connect_status = 200
    served[1].fail_messages = False
    served[1].missing = {"lost"}
    served[1].gates = {}
    return served[1]


def open_connection(gateway: WebSocketGateway, path: str = "/dev?token=abc&token=def") -> ClientConnection:
    return connect(f"{gateway.url}{path}", open_timeout=5, user_agent_header="test-client")


def management_api(url: str) -> Any:
    return boto3.client("apigatewaymanagementapi", endpoint_url=url, region_name="us-east-1")


def event_of(invoker: ScriptedInvoker, function: str, connection_id: str | None = None) -> Mapping[str, Any]:
    """The latest event `function` got (for `connection_id`): an earlier test's $disconnect may land late."""
    events = [
        event
        for name, event in invoker.events
        if name == function and connection_id in (None, event["requestContext"]["connectionId"])
    ]
    assert events, invoker.events
    return events[-1]


def connection_id_of(invoker: ScriptedInvoker) -> str:
    return str(event_of(invoker, "connect")["requestContext"]["connectionId"])


def disconnected(connection_id: str) -> Callable[[list[tuple[str, Any]]], bool]:
    return lambda events: any(
        name == "disconnect" and event["requestContext"]["connectionId"] == connection_id
        for name, event in events
    )


def test_connect_runs_the_connect_route_with_the_handshakes_headers_and_query(
    served: tuple[WebSocketGateway, ScriptedInvoker, str], invoker: ScriptedInvoker
) -> None:
    gateway = served[0]
    with open_connection(gateway):
        event = event_of(invoker, "connect")
        context = event["requestContext"]
        assert (context["routeKey"], context["eventType"], context["stage"]) == ("$connect", "CONNECT", "dev")
        assert context["apiId"] == gateway.api_id
        assert context["identity"]["sourceIp"] == "127.0.0.1"
        assert event["queryStringParameters"] == {"token": "def"}
        assert event["multiValueQueryStringParameters"] == {"token": ["abc", "def"]}
        assert event["headers"]["User-Agent"] == "test-client"
        # The server registers the connection as its session starts, just after the client has the 101.
        deadline = time.monotonic() + 5
        while context["connectionId"] not in gateway.connections and time.monotonic() < deadline:
            time.sleep(0.01)
        assert context["connectionId"] in gateway.connections


def test_a_connect_route_that_does_not_answer_2xx_refuses_the_connection(
    served: tuple[WebSocketGateway, ScriptedInvoker, str], invoker: ScriptedInvoker
) -> None:
    invoker.connect_status = 401
    with pytest.raises(InvalidStatus) as refused:
        open_connection(served[0])
    assert refused.value.response.status_code == 401
    assert served[0].connections == {}


def test_an_unknown_stage_is_forbidden(
    served: tuple[WebSocketGateway, ScriptedInvoker, str], invoker: ScriptedInvoker
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_connection(served[0], "/prod")
    assert refused.value.response.status_code == 403
    assert [name for name, _ in invoker.events if name == "connect"] == []


def test_messages_are_routed_by_their_action_and_unrouted_ones_are_forbidden(
    served: tuple[WebSocketGateway, ScriptedInvoker, str], invoker: ScriptedInvoker
) -> None:
    with open_connection(served[0]) as client:
        client.send(json.dumps({"action": "send", "text": "hi"}))
        invoker.wait_for(lambda events: any(name == "send" for name, _ in events))
        event = event_of(invoker, "send", connection_id_of(invoker))
        assert event["requestContext"]["eventType"] == "MESSAGE"
        assert json.loads(event["body"]) == {"action": "send", "text": "hi"}
        client.send(json.dumps({"action": "shout"}))
        reply = json.loads(client.recv(timeout=5))
        assert reply["message"] == "Forbidden"
        assert reply["connectionId"] == connection_id_of(invoker)


def test_a_failed_message_integration_answers_internal_server_error(
    served: tuple[WebSocketGateway, ScriptedInvoker, str], invoker: ScriptedInvoker
) -> None:
    invoker.fail_messages = True
    with open_connection(served[0]) as client:
        client.send(json.dumps({"action": "send"}))
        assert json.loads(client.recv(timeout=5))["message"] == "Internal server error"


def test_posts_to_connections_reach_the_socket_and_gone_connections_answer_410(
    served: tuple[WebSocketGateway, ScriptedInvoker, str], invoker: ScriptedInvoker
) -> None:
    gateway, _, url = served
    client_api = management_api(url)
    with open_connection(gateway) as client:
        connection_id = connection_id_of(invoker)
        client_api.post_to_connection(ConnectionId=connection_id, Data=b'{"imageId": "abc"}')
        assert json.loads(client.recv(timeout=5)) == {"imageId": "abc"}
        described = client_api.get_connection(ConnectionId=connection_id)
        assert described["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "test-client"}
    invoker.wait_for(disconnected(connection_id))
    with pytest.raises(client_api.exceptions.GoneException):
        client_api.post_to_connection(ConnectionId=connection_id, Data=b"late")


def test_a_connection_takes_posts_as_soon_as_its_client_is_open(
    stack: TemplateView, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a busy machine the client learns the connection is open before the server's session
    starts; the connection must already be reachable then, as API Gateway's is."""
    session = WebSocketGateway._session

    async def late_session(gateway: WebSocketGateway, connection: Any) -> None:
        await asyncio.sleep(0.5)
        await session(gateway, connection)

    monkeypatch.setattr(WebSocketGateway, "_session", late_session)
    invoker = ScriptedInvoker()
    gateway = new_gateway(stack, invoker)
    gateway.start("127.0.0.1", 0)
    try:
        with open_connection(gateway) as client:
            assert gateway.post_to_connection(connection_id_of(invoker), b'{"early": true}')
            assert json.loads(client.recv(timeout=5)) == {"early": True}
    finally:
        gateway.stop()


def test_closing_runs_the_disconnect_route_and_delete_closes_the_connection(
    served: tuple[WebSocketGateway, ScriptedInvoker, str], invoker: ScriptedInvoker
) -> None:
    gateway, _, url = served
    with open_connection(gateway) as client:
        connection_id = connection_id_of(invoker)
        management_api(url).delete_connection(ConnectionId=connection_id)
        deadline = time.monotonic() + 5
        while connection_id in gateway.connections and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.close_code is not None or connection_id not in gateway.connections
    invoker.wait_for(disconnected(connection_id))
    context = event_of(invoker, "disconnect", connection_id)["requestContext"]
    assert (context["eventType"], context["connectionId"]) == ("DISCONNECT", connection_id)
    assert connection_id not in gateway.connections


def errors_logged(caplog: pytest.LogCaptureFixture, route_key: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "constructs_lib.local"
        and record.levelno == logging.ERROR
        and f"route {route_key} " in record.getMessage()
    ]


def port_of(gateway: WebSocketGateway) -> int:
    port = urlsplit(gateway.url).port
    assert port is not None
    return port


def test_a_route_whose_function_is_not_local_answers_internal_server_error_and_keeps_the_connection(
    served: tuple[WebSocketGateway, ScriptedInvoker, str],
    invoker: ScriptedInvoker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with open_connection(served[0]) as client:
        client.send(json.dumps({"action": "lost"}))
        reply = json.loads(client.recv(timeout=5))
        assert reply["message"] == "Internal server error"
        assert reply["connectionId"] == connection_id_of(invoker)
        assert reply["requestId"]
        client.send(json.dumps({"action": "echo"}))
        assert client.recv(timeout=5) == 'echo {"action": "echo"}'
    assert len(errors_logged(caplog, "lost")) == 1


def test_a_connect_route_whose_function_is_not_local_refuses_with_500(
    served: tuple[WebSocketGateway, ScriptedInvoker, str],
    invoker: ScriptedInvoker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    invoker.missing = {"connect"}
    with pytest.raises(InvalidStatus) as refused:
        open_connection(served[0])
    assert refused.value.response.status_code == 500
    assert connection_id_of(invoker) not in served[0].connections
    assert len(errors_logged(caplog, "$connect")) == 1


def test_a_disconnect_route_whose_function_is_not_local_is_logged(
    served: tuple[WebSocketGateway, ScriptedInvoker, str],
    invoker: ScriptedInvoker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    invoker.missing = {"disconnect"}
    with open_connection(served[0]):
        connection_id = connection_id_of(invoker)
    invoker.wait_for(disconnected(connection_id))
    deadline = time.monotonic() + 5
    while not errors_logged(caplog, "$disconnect") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(errors_logged(caplog, "$disconnect")) == 1
    assert connection_id not in served[0].connections


@pytest.mark.parametrize(("answered", "refused_with"), [(0, 500), (499, 500), (600, 500), (503, 503)])
def test_an_odd_connect_status_refuses_with_it_if_it_is_an_http_error_else_500(
    served: tuple[WebSocketGateway, ScriptedInvoker, str],
    invoker: ScriptedInvoker,
    caplog: pytest.LogCaptureFixture,
    answered: int,
    refused_with: int,
) -> None:
    invoker.connect_status = answered
    with pytest.raises(InvalidStatus) as refused:
        open_connection(served[0])
    assert refused.value.response.status_code == refused_with
    # websockets answers 500 too when the handshake crashes, but logs the crash.
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_a_plain_http_request_is_refused_with_426_without_running_connect(
    served: tuple[WebSocketGateway, ScriptedInvoker, str], invoker: ScriptedInvoker
) -> None:
    request = http.client.HTTPConnection("127.0.0.1", port_of(served[0]), timeout=5)
    try:
        request.request("GET", "/dev")
        assert request.getresponse().status == 426
    finally:
        request.close()
    assert [name for name, _ in invoker.events if name == "connect"] == []


def test_a_handshake_abandoned_during_connect_leaves_no_connection(
    served: tuple[WebSocketGateway, ScriptedInvoker, str], invoker: ScriptedInvoker
) -> None:
    gateway, _, url = served
    invoker.gates["connect"] = threading.Event()
    handshake = (
        "GET /dev HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port_of(gateway)), timeout=5) as client:
        client.sendall(handshake.encode())
        invoker.wait_for(lambda events: any(name == "connect" for name, _ in events))
    invoker.gates["connect"].set()
    connection_id = connection_id_of(invoker)
    # The handshake ends right after $connect answers: a connection registered then would show by now.
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        assert connection_id not in gateway.connections
        time.sleep(0.01)
    with pytest.raises(management_api(url).exceptions.GoneException):
        management_api(url).get_connection(ConnectionId=connection_id)


def test_a_two_way_route_sends_the_integrations_body_back_and_a_one_way_route_does_not(
    served: tuple[WebSocketGateway, ScriptedInvoker, str], invoker: ScriptedInvoker
) -> None:
    with open_connection(served[0]) as client:
        client.send(json.dumps({"action": "send"}))
        client.send(json.dumps({"action": "echo", "text": "hi"}))
        assert client.recv(timeout=5) == 'echo {"action": "echo", "text": "hi"}'


def test_messages_cannot_select_the_connect_and_disconnect_routes(
    served: tuple[WebSocketGateway, ScriptedInvoker, str], invoker: ScriptedInvoker
) -> None:
    with open_connection(served[0]) as client:
        connection_id = connection_id_of(invoker)
        for action in ("$connect", "$disconnect"):
            client.send(json.dumps({"action": action}))
            assert json.loads(client.recv(timeout=5))["message"] == "Forbidden"
        mine = [
            name for name, event in invoker.events if event["requestContext"]["connectionId"] == connection_id
        ]
        assert mine == ["connect"]
    invoker.wait_for(disconnected(connection_id))


def test_slow_routes_run_in_the_gateways_own_threads_and_do_not_hold_up_connect(
    served: tuple[WebSocketGateway, ScriptedInvoker, str], invoker: ScriptedInvoker
) -> None:
    slow = 10  # more than the default executor's threads on a small machine
    invoker.gates["send"] = threading.Event()
    with ExitStack() as clients:
        clients.callback(invoker.gates["send"].set)
        for _ in range(slow):
            clients.enter_context(open_connection(served[0])).send(json.dumps({"action": "send"}))
        invoker.wait_for(lambda events: sum(name == "send" for name, _ in events) == slow)
        with connect(f"{served[0].url}/dev", open_timeout=2):
            pass
    assert all(name.startswith("websocket-Chat") for name in invoker.threads), invoker.threads


def test_a_busy_port_fails_start_promptly_with_its_os_error(
    stack: TemplateView, served: tuple[WebSocketGateway, ScriptedInvoker, str]
) -> None:
    started = time.monotonic()
    with pytest.raises(OSError) as failed:
        new_gateway(stack, ScriptedInvoker()).start("127.0.0.1", port_of(served[0]))
    assert failed.value.errno == errno.EADDRINUSE
    assert time.monotonic() - started < 2


def test_stop_can_be_called_twice(stack: TemplateView) -> None:
    gateway = new_gateway(stack, ScriptedInvoker())
    gateway.start("127.0.0.1", 0)
    gateway.stop()
    gateway.stop()
    with pytest.raises(OSError):
        open_connection(gateway)
