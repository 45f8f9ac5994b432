"""Fixtures the local runner's tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.local.test_event_sources import Aws
from tests.moto_server import moto_server


@pytest.fixture
def aws() -> Iterator[Aws]:
    """A moto server, emptied: moto's backends live in the process, not in the server, so each test
    starts from nothing."""
    with moto_server() as url:
        requests.post(f"{url}/moto-api/reset", timeout=5).raise_for_status()
        yield Aws(url)
