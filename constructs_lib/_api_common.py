"""What the REST and WebSocket API constructs share: stage naming and access log fields."""

from __future__ import annotations

import re

STAGE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
# The first fields of every access log line: enough to find one request and its caller.
REQUEST_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
}
