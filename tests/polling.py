"""Waiting for what a local run does in the background: poll until a probe holds, within a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


TIMEOUT = 60.0  # seconds: cold workers, a poison message's two visibility timeouts (6 s each), retries
# Retry delays of the local runs whose tests do not time retries: a failed delivery (the search indexer
# against the OpenSearch the runner does not emulate, say) retries at once instead of over 20 s.
FAST_RETRIES = (0.05,)


def eventually(probe: Callable[[], T | None], *, timeout: float = TIMEOUT, interval: float = 0.2) -> T:
    """The probe's first truthy answer; AssertionError once `timeout` seconds passed without one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"nothing after {timeout} s")
