"""`python -m constructs_lib.toolchain`: which Node.js and which CLI it picks.

The installs themselves run for real in the quick-start test (tests/test_packaging.py: Node.js
from PyPI, the CLI into the venv) and in every `make` target (scripts/bootstrap.py: the
repository's package.json pin); these tests cover the choices, without installing anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from constructs_lib import toolchain


def _fake_node(directory: Path, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    node = directory / "node"
    node.write_text(f"#!/bin/sh\necho {version}\n")
    node.chmod(0o755)
    return node


def test_node_major_reads_the_version_and_is_0_when_node_cannot_run(tmp_path: Path) -> None:
    assert toolchain.node_major(_fake_node(tmp_path / "bin", "v24.19.0")) == 24
    assert toolchain.node_major(tmp_path / "missing") == 0


def test_a_supported_machine_node_is_used_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    machine = _fake_node(tmp_path / "machine", "v22.11.0")
    monkeypatch.setenv("PATH", str(machine.parent))
    assert toolchain.ensure_node(tmp_path / "venv") == machine
    assert not (tmp_path / "venv" / "bin" / "node").exists()  # nothing installed


def test_the_venvs_own_node_is_not_taken_for_the_machines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = tmp_path / "venv"
    _fake_node(venv / "bin", "v18.0.0")  # an old node left in the venv does not count as the machine's
    machine = _fake_node(tmp_path / "machine", "v24.1.0")
    monkeypatch.setenv("PATH", f"{venv / 'bin'}:{machine.parent}")
    assert toolchain.ensure_node(venv) == machine


@pytest.mark.parametrize(
    ("manifest", "pin"),
    [
        (None, None),
        ({"devDependencies": {"aws-cdk": "2.1148.1"}}, "2.1148.1"),
        ({"dependencies": {"aws-cdk": "2.1148.1"}}, "2.1148.1"),
        ({"devDependencies": {"typescript": "5.9.3"}}, None),
    ],
    ids=["no package.json", "dev dependency", "dependency", "no aws-cdk"],
)
def test_an_apps_own_cli_pin_wins(
    tmp_path: Path, manifest: dict[str, object] | None, pin: str | None
) -> None:
    if manifest is not None:
        (tmp_path / "package.json").write_text(json.dumps(manifest))
    assert toolchain.pinned_cli(tmp_path) == pin


def test_the_repository_pins_the_cli_the_library_is_tested_with() -> None:
    root = Path(__file__).resolve().parent.parent
    assert toolchain.pinned_cli(root) == toolchain.CDK_CLI_VERSION


def test_without_a_virtual_environment_it_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "prefix", sys.base_prefix)
    assert toolchain.main([]) == 2
    assert capsys.readouterr().err == (
        "constructs-lib-toolchain: error: no virtual environment is active: create and activate the "
        "app's one first (python3 -m venv .venv && source .venv/bin/activate)\n"
    )
