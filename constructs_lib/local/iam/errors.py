"""Access denied, as each AWS protocol answers it: status, headers and body the SDKs parse.

The message follows AWS's access denied format ("User: <principal> is not authorized to perform:
<action> on resource: <resource> because no identity-based policy allows the <action> action", or
"... with an explicit deny in a resource-based policy"); the error code is the service's own:
``AccessDeniedException`` for JSON protocols, ``AccessDenied`` for S3, STS and other query services,
``AuthorizationError`` for SNS, ``ForbiddenException`` for the API Gateway management API.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

from constructs_lib.local.iam.policy import Decision

_CODES = {"sns": "AuthorizationError", "apigatewaymanagementapi": "ForbiddenException", "sqs": "AccessDenied"}


def message(principal: str, decision: Decision) -> str:
    """AWS's access denied message for `decision`."""
    resource = decision.resource if decision.resource != "*" else "*"
    return (
        f"User: {principal} is not authorized to perform: {decision.action} on resource: {resource} "
        f"{decision.reason}"
    )


@dataclass(frozen=True)
class ErrorResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def access_denied(service: str, protocol: str, text: str) -> ErrorResponse:
    """The response `service` (botocore's name, speaking `protocol`) gives a denied request."""
    request_id = str(uuid.uuid4())
    if protocol in ("json", "rest-json", "smithy-rpc-v2-cbor") or service in ("opensearch-http",):
        code = _CODES.get(service, "AccessDeniedException")
        if service == "sqs":
            # SQS's JSON protocol keeps its query-era code in the x-amzn-query-error header.
            headers: tuple[tuple[str, str], ...] = (("x-amzn-query-error", "AccessDenied;Sender"),)
        else:
            headers = ()
        body = json.dumps({"__type": code, "message": text, "Message": text}).encode()
        content_type = "application/x-amz-json-1.0" if protocol == "json" else "application/json"
        status = 400 if protocol == "json" else 403
        return ErrorResponse(
            status, (("Content-Type", content_type), ("x-amzn-RequestId", request_id), *headers), body
        )
    if protocol == "rest-xml":
        xml = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
            f"<Message>{escape(text)}</Message><RequestId>{request_id}</RequestId></Error>"
        )
        return ErrorResponse(403, (("Content-Type", "application/xml"),), xml.encode())
    code = _CODES.get(service, "AccessDenied")
    xml = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(text)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return ErrorResponse(403, (("Content-Type", "text/xml"),), xml.encode())
