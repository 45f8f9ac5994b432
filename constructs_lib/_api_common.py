"""Stage naming and access log fields: the first fields both API constructs log, and the REST API's own."""

from __future__ import annotations

import json
import re
from functools import cache

from aws_cdk import aws_apigateway as apigw

STAGE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
# The first fields of every access log line: enough to find one request and its caller.
REQUEST_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
}

# Fields for finding one request in the logs: who, what, outcome, and why API Gateway refused it.
REST_ACCESS_LOG_FIELDS = {
    **REQUEST_LOG_FIELDS,
    "caller": "$context.identity.caller",
    "user": "$context.identity.user",
    "principalId": "$context.authorizer.principalId",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "protocol": "$context.protocol",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integration.status",
    "integrationLatency": "$context.integration.latency",
    "errorType": "$context.error.responseType",
    "errorMessage": "$context.error.message",
    "validationError": "$context.error.validationErrorString",
    "authorizerError": "$context.authorizer.error",
    "xrayTraceId": "$context.xrayTraceId",
}


@cache
def rest_access_log_format() -> apigw.AccessLogFormat:
    """The REST stage's JSON access log format: one immutable jsii object, made once per process."""
    return apigw.AccessLogFormat.custom(json.dumps(REST_ACCESS_LOG_FIELDS))
