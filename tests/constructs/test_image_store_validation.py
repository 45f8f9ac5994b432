"""ImageStore: a subscriber added twice fails with our ValueError, not a jsii trace (issue #18).

Nothing here synthesizes: each case builds into a fresh stack of one shared App.
"""

from __future__ import annotations

import re
from itertools import count

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from constructs_lib import ImageStore
from tests.cdk import TEST_ENV, new_app

_ids = count()


@pytest.fixture(scope="module")
def app() -> App:
    return new_app()


def test_the_same_queue_subscribed_twice_raises(app: App) -> None:
    stack = Stack(app, f"Test{next(_ids)}", env=TEST_ENV)
    store = ImageStore(stack, "Images")
    queue = sqs.Queue.from_queue_arn(stack, "Indexer", "arn:aws:sqs:us-east-1:111111111111:indexer")
    store.add_upload_subscriber(queue)
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{stack.node.path}/Images: add_upload_subscriber.target: '{stack.node.path}/Indexer' already "
            "receives this store's upload events; subscribe it once"
        ),
    ):
        store.add_upload_subscriber(queue)


def test_the_same_function_subscribed_twice_raises(app: App) -> None:
    stack = Stack(app, f"Test{next(_ids)}", env=TEST_ENV)
    store = ImageStore(stack, "Images")
    function = lambda_.Function.from_function_attributes(
        stack,
        "Thumbnailer",
        function_arn="arn:aws:lambda:us-east-1:111111111111:function:thumbnailer",
        role=iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::111111111111:role/thumbnailer"),
        same_environment=True,
    )
    store.add_upload_subscriber(function)
    with pytest.raises(ValueError, match=re.escape("'" + stack.node.path + "/Thumbnailer' already receives")):
        store.add_upload_subscriber(function)
