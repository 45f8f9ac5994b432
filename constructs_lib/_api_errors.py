"""The error bodies ServerlessApi's gateway answers with: one JSON shape, ``{"message": "..."}``.

No CDK import: the local runner's tests and the OpenAPI document read these too.

Gateway response templates are not VTL, only variable substitution, so nothing can be escaped
in them. ``$context.error.messageString`` is the message already quoted as a JSON string;
``$context.error.validationErrorString`` is substituted with its double quotes escaped
(``[object has missing required properties ([\\"name\\"])]``), so it is safe between quotes.
"""

from __future__ import annotations

from typing import Any

# The validator's explanation of a rejected body or parameter set, in the message, e.g.
# {"message": "Invalid request body: [object has missing required properties ([\"name\"])]"}
# {"message": "Missing required request parameters: [q]"} (the parameter check's explanation
# already says what it is about).
VALIDATION_RESPONSE_TEMPLATES = {
    "BAD_REQUEST_BODY": '{"message": "Invalid request body: $context.error.validationErrorString"}',
    "BAD_REQUEST_PARAMETERS": '{"message": "$context.error.validationErrorString"}',
}

# The JSON Schema of every error body: the handlers' ApiError and API Gateway's own responses.
ERROR_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
}
