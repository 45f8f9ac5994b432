"""`make test`'s split: the runtime process (RUNTIME_TESTS) never starts jsii, so the one that
synthesizes keeps a core of its own. A test that synthesizes belongs outside RUNTIME_TESTS
(tests/app, tests/constructs)."""

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
