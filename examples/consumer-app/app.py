#!/usr/bin/env python3
"""A notes API built from constructs_lib installed as a package (``pip install constructs-lib``).

One stack, ``ConsumerNotes``:
- a ``CompositeKeyTable`` of notes keyed by ``userId`` (the IAM caller) and ``noteId``;
- an ``ImageStore`` for note attachments, uploaded by clients with presigned URLs;
- a ``ServerlessApi`` whose routes are IAM-authorized (SigV4-signed requests), all served by one
  ``ServerlessFunction``.

``add_nag_checks`` runs the AWS Solutions and Serverless cdk-nag packs: ``cdk synth`` fails on
any finding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from constructs_lib import CompositeKeyTable, ImageStore, ServerlessApi, ServerlessFunction, add_nag_checks

FUNCTIONS = Path(__file__).resolve().parent / "functions"
STACK_NAME = "ConsumerNotes"
MAX_NOTE_LENGTH = 2000  # characters: a note, not a document; the handler enforces the same limit

# API Gateway rejects a malformed body before the function runs (JSON Schema draft-04).
CREATE_NOTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["text"],
    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": MAX_NOTE_LENGTH}},
    "additionalProperties": False,
}
CREATE_ATTACHMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["contentType"],
    "properties": {"contentType": {"type": "string", "minLength": 1}},
    "additionalProperties": False,
}


class NotesStack(Stack):
    """The notes table, the attachment store, and the IAM-authorized notes API."""

    def __init__(self, scope: Construct, construct_id: str, *, env: Environment | None = None) -> None:
        super().__init__(scope, construct_id, env=env)
        self.notes = CompositeKeyTable(
            self,
            "Notes",
            partition_key=dynamodb.Attribute(name="userId", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="noteId", type=dynamodb.AttributeType.STRING),
        )
        self.attachments = ImageStore(self, "Attachments")
        # Every route is IAM-authorized (the construct's default): callers sign requests with SigV4.
        self.api = ServerlessApi(self, "Api", description="Notes with image attachments")

        self.notes_function = ServerlessFunction(
            self,
            "NotesFunction",
            entry=FUNCTIONS / "notes",
            description="Lists and creates the caller's notes and signs attachment uploads",
            service_name="notes",
            # The handler signs upload URLs with constructs_lib.runtime.presign.Presigner.
            include_runtime_helpers=True,
            environment={
                "NOTES_TABLE": self.notes.table_name,
                "MAX_NOTE_LENGTH": str(MAX_NOTE_LENGTH),
                **self.attachments.runtime_environment,
                **self.attachments.content_type_environment,
            },
        )
        function = self.notes_function.function
        self.notes.grant_read_write_data(function)
        self.attachments.grant_presign(function)

        self.api.add_route("GET", "/notes", function)
        self.api.add_route("POST", "/notes", function, request_schema=CREATE_NOTE_SCHEMA)
        self.api.add_route(
            "POST", "/notes/{noteId}/attachments", function, request_schema=CREATE_ATTACHMENT_SCHEMA
        )


def build_app(app: App | None = None) -> App:
    """The notes stack in `app` (a new App by default), checked by cdk-nag at synth."""
    app = app or App()
    account = app.node.try_get_context("account")
    region = app.node.try_get_context("region")
    NotesStack(app, STACK_NAME, env=Environment(account=account, region=region))
    add_nag_checks(app)
    return app


if __name__ == "__main__":
    build_app().synth()
