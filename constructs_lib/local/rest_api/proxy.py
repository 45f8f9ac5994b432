"""Lambda proxy integrations: the event (format 1.0) a function receives, and reading its response."""

from __future__ import annotations

import base64
import time
from typing import Any

from constructs_lib.local.rest_api._model import ApiDefinition, Call, last, media_type, single_and_multi


def proxy_event(api: ApiDefinition, call: Call) -> dict[str, Any]:
    """The Lambda proxy integration event (format 1.0) for this request."""
    request, resource = call.request, call.resource
    assert resource is not None and call.stage is not None  # routed before any event is made
    headers = list(request.headers)
    forwarded_for = last(headers, "X-Forwarded-For", ignore_case=True)
    headers = [(name, value) for name, value in headers if name.lower() != "x-forwarded-for"]
    host = last(headers, "Host", ignore_case=True) or f"{api.api_id}.execute-api.{api.region}.amazonaws.com"
    headers += [
        (
            "X-Forwarded-For",
            f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip,
        ),
        ("X-Forwarded-Port", host.rpartition(":")[2] if ":" in host else "80"),
        ("X-Forwarded-Proto", "http"),
    ]
    if last(headers, "X-Amzn-Trace-Id", ignore_case=True) is None:
        headers.append(("X-Amzn-Trace-Id", call.trace_id))
    single_headers, multi_headers = single_and_multi(headers)
    single_query, multi_query = single_and_multi(request.query)
    body: str | None = None
    encoded = False
    if request.body:
        encoded = api.is_binary(media_type(request))
        body = base64.b64encode(request.body).decode() if encoded else request.body.decode(errors="replace")
    identity: dict[str, Any] = dict.fromkeys(
        (
            "accessKey",
            "accountId",
            "caller",
            "cognitoAuthenticationProvider",
            "cognitoAuthenticationType",
            "cognitoIdentityId",
            "cognitoIdentityPoolId",
            "principalOrgId",
            "user",
            "userArn",
        )
    )
    identity |= {
        "sourceIp": request.source_ip,
        "userAgent": last(headers, "User-Agent", ignore_case=True),
    }
    if call.api_key is not None:
        identity |= {"apiKey": call.api_key, "apiKeyId": None}
    if call.access_key is not None:
        # Without IAM, the signing access key stands for the principal API Gateway would name.
        identity |= {
            "accessKey": call.access_key,
            "accountId": api.account,
            "caller": call.access_key,
            "user": call.access_key,
        }
    context: dict[str, Any] = {
        "accountId": api.account,
        "apiId": api.api_id,
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "extendedRequestId": call.extended_request_id,
        "httpMethod": request.method,
        "identity": identity,
        "path": f"/{call.stage}{call.path}",
        "protocol": "HTTP/1.1",
        "requestId": call.request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(call.started)),
        "requestTimeEpoch": int(call.started * 1000),
        "resourceId": resource.resource_id,
        "resourcePath": resource.path,
        "stage": call.stage,
    }
    if call.authorizer is not None:
        context["authorizer"] = call.authorizer
    return {
        "resource": resource.path,
        "path": call.path,
        "httpMethod": request.method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(call.path_parameters) or None,
        "stageVariables": dict(api.stages[call.stage]) or None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": encoded,
    }


def proxy_result(payload: Any) -> tuple[int, list[tuple[str, str]], str, bool]:
    """Status, headers, body and isBase64Encoded of a Lambda proxy response; ValueError if malformed."""
    if not isinstance(payload, dict):
        raise ValueError(f"{type(payload).__name__} instead of an object")
    status = payload.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status code")
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError(f"body is {type(body).__name__}, not a string")
    single = payload.get("headers") or {}
    multi = payload.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise ValueError("headers and multiValueHeaders must be objects")
    if not all(isinstance(values, list) for values in multi.values()):
        raise ValueError("multiValueHeaders values must be lists")
    # A header in multiValueHeaders replaces the same header in headers.
    multi_names = {name.lower() for name in multi}
    pairs = [(name, value) for name, value in single.items() if name.lower() not in multi_names]
    pairs += [(name, value) for name, values in multi.items() for value in values]
    headers = []
    for name, value in pairs:
        if isinstance(value, dict | list):
            raise ValueError(f"header {name} is not a string")
        if value is not None and name.lower() not in ("content-length", "transfer-encoding", "connection"):
            headers.append(
                (str(name), ("true" if value else "false") if isinstance(value, bool) else str(value))
            )
    return status, headers, body or "", bool(payload.get("isBase64Encoded", False))
