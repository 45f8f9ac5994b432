"""The API services' "not emulated" lines: docs/local.md's list says the banner prints them."""

from __future__ import annotations

from typing import Any, cast

from constructs_lib.local.rest_api.service import RestApis
from constructs_lib.local.websocket_api.service import WebSocketApis


def test_rest_apis_say_what_they_leave_out_only_when_the_app_has_one() -> None:
    apis = RestApis()
    assert apis.not_emulated() == []
    apis.gateways["Stack/Api"] = cast(Any, object())
    (line,) = apis.not_emulated()
    assert "SigV4 signatures" in line
    assert "API keys are only checked for presence" in line
    assert "AWS service integrations other than JSON-protocol action/ calls" in line


def test_websocket_apis_say_what_they_leave_out_only_when_the_app_has_one() -> None:
    apis = WebSocketApis()
    assert apis.not_emulated() == []
    apis.gateways["Stack/Notifications"] = cast(Any, object())
    (line,) = apis.not_emulated()
    assert "domainName" in line and "CONNECTIONS_ENDPOINT" in line
    assert "HTTP APIs (v2) are not emulated" in line
