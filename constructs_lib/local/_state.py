"""State files: how scripts and the ``token`` command find a running local run.

Each run writes ``<cdk.out>/local-runner-<port>.json`` once it serves, where the port is its first
REST API's (else its first WebSocket API's, else its AWS endpoint's), and removes that file, and
only that file, when it stops. Two runs of one checkout on different ports therefore never share a
file, and a run that fails to start (a port in use) touches no one else's. A file whose process is
gone (a run that was killed) is ignored by `read_state`.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from constructs_lib.local._hints import commands_for

STATE_FILE_PATTERN = "local-runner-*.json"


def state_path(cdk_out: Path, port: int) -> Path:
    return cdk_out / f"local-runner-{port}.json"


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Write `state` whole or not at all: a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(state, indent=2))
    partial.replace(path)


def remove_state(path: Path, run_id: str) -> None:
    """Remove the state file at `path` if the run `run_id` wrote it (and no other run since)."""
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("runId") == run_id:
            path.unlink()


def read_state(cdk_out: Path, port: int | None = None) -> dict[str, Any]:
    """The state of the run on `port`, or of the only run of `cdk_out` when `port` is None.

    FileNotFoundError when there is no such run (saying how to start one); ValueError when
    several runs are active and `port` does not say which.
    """
    commands = commands_for(cdk_out)
    if port is not None:
        path = state_path(cdk_out, port)
        state = _read(path)
        if state is None:
            raise FileNotFoundError(
                f"no local run on port {port} is active for {cdk_out}: "
                f"start one with `{commands.run()}` first"
            )
        return state
    active = {path: state for path in sorted(cdk_out.glob(STATE_FILE_PATTERN)) if (state := _read(path))}
    if not active:
        raise FileNotFoundError(
            f"no local run is active for {cdk_out}: start one with `{commands.run()}` first"
        )
    if len(active) > 1:
        ports = ", ".join(str(state.get("port")) for state in active.values())
        raise ValueError(
            f"several local runs are active for {cdk_out} (ports {ports}): choose one with --port"
        )
    (state,) = active.values()
    return state


def _read(path: Path) -> dict[str, Any] | None:
    """The state in `path`, or None if there is none or its run's process is gone."""
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pid = state.get("pid")
    return state if not isinstance(pid, int) or _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True
