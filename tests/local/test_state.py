"""State files and hints: each run owns its own file, scripts find URLs in it, hints fit the app."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from constructs_lib.local.__main__ import main
from constructs_lib.local._hints import commands_for
from constructs_lib.local._state import STATE_FILE_PATTERN, read_state, state_path
from constructs_lib.local.runner import LocalRunner, RunnerOptions
from tests.local.test_main import TEMPLATE

FREE_PORTS = RunnerOptions(port=0, websocket_port=0)


def _state_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(STATE_FILE_PATTERN))


@pytest.fixture
def first_run(tmp_path: Path) -> Iterator[LocalRunner]:
    """A run of test_main's one-function app (GET /v1/hello) on free ports."""
    (tmp_path / "Hello.template.json").write_text(json.dumps(TEMPLATE))
    stack = {
        "type": "aws:cloudformation:stack",
        "environment": "aws://222222222222/eu-west-1",
        "properties": {"templateFile": "Hello.template.json"},
    }
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": {"Hello": stack}}))
    with LocalRunner(tmp_path, FREE_PORTS, output=io.StringIO()) as runner:
        yield runner


def test_a_second_run_that_cannot_start_leaves_the_first_runs_state(
    first_run: LocalRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = first_run.port
    argv = ["--cdk-out", str(first_run.cdk_out), "run", "--port", str(taken), "--websocket-port", "0"]
    assert main(argv) == 2
    assert "Address already in use" in capsys.readouterr().err
    assert first_run.state_file == state_path(first_run.cdk_out, taken)
    assert _state_files(first_run.cdk_out) == [first_run.state_file]
    assert read_state(first_run.cdk_out)["aws"] == first_run.aws_url


def test_two_runs_on_different_ports_have_one_state_file_each(
    first_run: LocalRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    cdk_out = first_run.cdk_out
    with LocalRunner(cdk_out, FREE_PORTS, output=io.StringIO()) as second:
        assert first_run.port != second.port
        assert first_run.state_file is not None and second.state_file is not None
        assert _state_files(cdk_out) == sorted([first_run.state_file, second.state_file])
        with pytest.raises(ValueError, match=r"several local runs are active .*: choose one with --port"):
            read_state(cdk_out)
        assert read_state(cdk_out, second.port)["aws"] == second.aws_url
        assert main(["--cdk-out", str(cdk_out), "token", "--email", "ana@example.com"]) == 2
        assert "choose one with --port" in capsys.readouterr().err
    # The second run removed its own file, and only that one.
    assert _state_files(cdk_out) == [first_run.state_file]
    assert read_state(cdk_out)["aws"] == first_run.aws_url


def test_a_run_on_free_ports_publishes_its_urls_with_the_stage(first_run: LocalRunner) -> None:
    state = json.loads(_state_files(first_run.cdk_out)[0].read_text())
    (url,) = state["restApiUrls"].values()
    assert url == f"http://127.0.0.1:{first_run.port}/v1/"
    assert state["port"] == first_run.port
    assert requests.get(f"{url}hello", timeout=30).json()["path"] == "/hello"
    assert f"URLs for scripts: {first_run.state_file}" in list(first_run.banner())


def test_the_state_of_a_run_that_was_killed_is_ignored(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], check=True, capture_output=True, text=True
    )
    dead_pid = int(finished.stdout)
    state_path(tmp_path, 4000).write_text(json.dumps({"pid": dead_pid, "port": 4000, "aws": "http://x"}))
    with pytest.raises(FileNotFoundError, match="no local run is active"):
        read_state(tmp_path)
    state_path(tmp_path, 4001).write_text(json.dumps({"pid": os.getpid(), "port": 4001, "aws": "http://y"}))
    assert read_state(tmp_path)["aws"] == "http://y"


def test_stop_leaves_a_state_file_another_run_wrote_since(first_run: LocalRunner) -> None:
    path = first_run.state_file
    assert path is not None
    path.write_text(json.dumps({"runId": "another run", "pid": os.getpid()}))
    first_run.stop()
    assert path.exists()


# Hints -------------------------------------------------------------------------------------------


def test_an_app_with_make_targets_is_told_to_use_them(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text(
        "local: synth\n\tpython -m constructs_lib.local run\nlocal-token:\n\ttrue\n"
    )
    commands = commands_for(tmp_path / "cdk.out")
    assert commands.run() == "make local"
    assert commands.token(4000) == "make local-token EMAIL=you@example.com"
    assert commands.token(4005) == 'make local-token EMAIL=you@example.com TOKEN_ARGS="--port 4005"'


def test_an_app_without_make_targets_is_told_the_python_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Makefile").write_text("test:\n\tpytest\n")
    monkeypatch.chdir(tmp_path)
    commands = commands_for(Path("cdk.out"))
    assert commands.run() == "python -m constructs_lib.local run"
    assert commands.token(4000) == "python -m constructs_lib.local token --email you@example.com"
    elsewhere = commands_for(Path("build"))
    assert elsewhere.run() == "python -m constructs_lib.local run --cdk-out build"
    assert elsewhere.token(4005) == (
        "python -m constructs_lib.local token --cdk-out build --email you@example.com --port 4005"
    )


def test_the_token_command_without_a_run_names_the_start_command_for_the_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--cdk-out", str(tmp_path), "token", "--email", "ana@example.com"]) == 2
    assert f"start one with `python -m constructs_lib.local run --cdk-out {tmp_path}` first" in (
        capsys.readouterr().err
    )
