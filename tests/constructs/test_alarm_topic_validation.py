"""AlarmTopic: an address listed twice fails with our ValueError, not a jsii trace (issue #18)."""

from __future__ import annotations

import re

import pytest

from constructs_lib import AlarmTopic
from tests.cdk import new_app, new_stack


def test_an_address_listed_twice_raises() -> None:
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Test/Alarms: email_addresses[2]: 'a@example.com' is listed twice; list each address once"
        ),
    ):
        AlarmTopic(
            new_stack(new_app()),
            "Alarms",
            email_addresses=["a@example.com", "b@example.com", "a@example.com"],
        )
