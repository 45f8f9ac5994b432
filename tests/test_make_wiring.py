"""`make test`'s split: the two processes of RUNTIME_TESTS never start jsii (only the two synthesizing
processes pay for a Node.js kernel and aws-cdk-lib's load). A test that synthesizes belongs outside
RUNTIME_TESTS (tests/app, tests/constructs)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CDK_IMPORT = re.compile(r"^\s*(from aws_cdk\b|import aws_cdk\b|from tests\.cdk import)", re.MULTILINE)


def _runtime_tests() -> list[Path]:
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(r"^RUNTIME_TESTS := (.+)$", makefile, re.MULTILINE)
    assert match, "the Makefile defines RUNTIME_TESTS"
    paths = [ROOT / entry for entry in match.group(1).split()]
    assert all(path.exists() for path in paths), paths
    return [file for path in paths for file in ([path] if path.is_file() else sorted(path.rglob("*.py")))]


def test_no_runtime_test_imports_the_cdk() -> None:
    files = _runtime_tests()
    assert any(file.name.startswith("test_") for file in files)
    synthesizing = [str(file.relative_to(ROOT)) for file in files if CDK_IMPORT.search(file.read_text())]
    assert synthesizing == []


def test_the_local_runner_process_runs_a_part_of_the_runtime_tests() -> None:
    """pytest-runtime runs RUNTIME_TESTS less LOCAL_TESTS and pytest-local the rest: a LOCAL_TESTS entry
    outside RUNTIME_TESTS would also run in pytest-cdk, which ignores only RUNTIME_TESTS and APP_TESTS."""
    makefile = (ROOT / "Makefile").read_text()
    entries = {
        name: match.group(1).split()
        for name in ("RUNTIME_TESTS", "LOCAL_TESTS")
        if (match := re.search(rf"^{name} := (.+)$", makefile, re.MULTILINE))
    }
    assert set(entries) == {"RUNTIME_TESTS", "LOCAL_TESTS"}
    assert set(entries["LOCAL_TESTS"]) < set(entries["RUNTIME_TESTS"])
