"""What every benchmark shares: rows of samples, budgets, alternating measurement, subprocess timing."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RESULTS = ROOT / "benchmarks" / "results"


@dataclass
class Row:
    """One measurement: its samples, shown as median, min and max."""

    name: str
    unit: str
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": round(self.median, 4),
            "min": round(min(self.samples), 4),
            "max": round(max(self.samples), 4),
            "samples": len(self.samples),
        }


@dataclass(frozen=True)
class Budget:
    """A ratio (or count) and its limit: met when value <= limit."""

    name: str
    value: float
    limit: float

    @property
    def ok(self) -> bool:
        return self.value <= self.limit

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "value": round(self.value, 3), "budget": self.limit, "ok": self.ok}


@dataclass
class Section:
    """What one job measured: rows, budgets, and free-form details for the JSON file."""

    rows: list[Row] = field(default_factory=list)
    budgets: list[Budget] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def alternate(runs: int, *measurements: Callable[[], float]) -> list[list[float]]:
    """Sample measurements in turn, `runs` rounds, so that machine noise hits each alike."""
    samples: list[list[float]] = [[] for _ in measurements]
    for _ in range(runs):
        for bucket, measure in zip(samples, measurements, strict=True):
            bucket.append(measure())
    return samples


def environment(extra: Mapping[str, str] | None = None, *, bytecode_cache: bool = False) -> dict[str, str]:
    """The environment of a measured command.

    Without `bytecode_cache`, Python writes no ``__pycache__``, as in a Lambda container (a
    read-only file system): a function's asset ships none (`_bundling` leaves caches out), so its
    modules are compiled at every cold start, while the installed packages' caches are read as
    Lambda's runtime reads its own. With it, Python keeps its default and caches what it compiles,
    as on a developer's machine or a CI runner running ``cdk synth`` or ``make test`` (an empty
    PYTHONDONTWRITEBYTECODE counts as unset).
    """
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "" if bytecode_cache else "1", **(extra or {})}


def timed(
    command: list[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    bytecode_cache: bool = False,
) -> float:
    """Wall time of a command, from process start to exit; raises if it fails."""
    start = time.perf_counter()
    result = subprocess.run(
        command,
        check=False,
        cwd=cwd,
        env=environment(env, bytecode_cache=bytecode_cache),
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return elapsed


def run_json(command: list[str], *, env: Mapping[str, str] | None = None, cwd: Path = ROOT) -> Any:
    """Run a helper that prints one JSON document as its last line of output; return it."""
    result = subprocess.run(
        command, check=False, cwd=cwd, env=environment(env), capture_output=True, text=True
    )
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def ratio(name: str, numerator: Row, denominator: Row, limit: float) -> Budget:
    """The budget on the ratio of two rows' medians."""
    return Budget(name, numerator.median / denominator.median, limit)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(url: str) -> None:
    for _ in range(400):
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 -- loopback
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server in a process of its own (AWS is remote to a function); yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "moto.server", "-p", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/moto-api/")
        yield url
    finally:
        process.terminate()
        process.wait()


def serve_json_posts(port_file: Path, answer: Callable[[bytes], bytes]) -> None:
    """Serve POSTs on a free local port, written to `port_file`, each answered 200 with the JSON
    `answer(body)` returns (a stand-in for an endpoint such as OpenSearch's), until killed."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            reply = answer(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()
