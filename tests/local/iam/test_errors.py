"""A denied request fails in the SDK with the service's own error code and AWS's message."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.parsers import create_parser

from constructs_lib.local.iam.errors import access_denied, message
from constructs_lib.local.iam.policy import Decision

PRINCIPAL = "arn:aws:sts::111111111111:assumed-role/Api-GroupsRead/GroupsRead"
DECISION = Decision(
    False,
    "dynamodb:PutItem",
    "arn:aws:dynamodb:us-east-1:111111111111:table/Groups",
    None,
    "because no identity-based policy allows the dynamodb:PutItem action",
)


def test_the_message_is_aws_access_denied_format() -> None:
    assert message(PRINCIPAL, DECISION) == (
        "User: arn:aws:sts::111111111111:assumed-role/Api-GroupsRead/GroupsRead "
        "is not authorized to perform: dynamodb:PutItem "
        "on resource: arn:aws:dynamodb:us-east-1:111111111111:table/Groups "
        "because no identity-based policy allows the dynamodb:PutItem action"
    )


@pytest.mark.parametrize(
    ("service", "operation", "code"),
    [
        ("dynamodb", "PutItem", "AccessDeniedException"),
        ("kms", "Decrypt", "AccessDeniedException"),
        ("sqs", "SendMessage", "AccessDenied"),
        ("sns", "Publish", "AuthorizationError"),
        ("sts", "AssumeRole", "AccessDenied"),
        ("s3", "PutObject", "AccessDenied"),
        ("lambda", "Invoke", "AccessDeniedException"),
        ("events", "PutEvents", "AccessDeniedException"),
        ("apigatewaymanagementapi", "PostToConnection", "ForbiddenException"),
    ],
)
def test_botocore_parses_the_denial_as_the_services_error(service: str, operation: str, code: str) -> None:
    model = botocore.session.get_session().get_service_model(service)
    text = message(PRINCIPAL, DECISION)
    response = access_denied(service, model.protocol, text)
    parsed = create_parser(model.protocol).parse(
        {"status_code": response.status, "headers": dict(response.headers), "body": response.body},
        model.operation_model(operation).output_shape,
    )
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == text
    assert response.status in (400, 403)
