"""An edit within the same second as the previous version still reloads: no stale compiled module."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from constructs_lib.local.runner import LocalRunner
from tests.local.test_watch import HANDLER, app, invoke, watching  # noqa: F401 -- fixtures used below


def test_an_edit_of_the_same_size_in_the_same_second_runs_the_new_code(
    app: Path,  # noqa: F811 -- the fixture
    watching: LocalRunner,  # noqa: F811 -- the fixture
) -> None:
    source = app / "src" / "hello" / "index.py"
    assert invoke(watching)["version"] == "v1"  # compiled now, keyed by the source's size and second
    before = source.stat().st_mtime
    source.write_text(HANDLER.replace('"v1"', '"v2"'))  # the same size
    # A modification time in the same whole second as v1's (what Python's compiled-module check reads),
    # yet a different one (what the watcher reads).
    second = math.floor(before)
    os.utime(source, (second + 0.999, second + 0.999) if before - second < 0.5 else (second, second))
    deadline = time.monotonic() + 20
    while invoke(watching)["version"] != "v2":
        assert time.monotonic() < deadline, "the edit never reached the function"
        time.sleep(0.1)
