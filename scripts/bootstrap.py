#!/usr/bin/env python3
"""Prepare the local toolchain: `.venv`, pinned Python packages, a supported Node.js, the pinned CDK CLI.

The Node.js and CLI steps are the library's `python -m constructs_lib.toolchain` (toolchain.py).

Run by every `make` target before it does anything else. It is idempotent and fast when nothing changed:
each step records a fingerprint of its inputs and is skipped while the fingerprint matches.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"

# Runs under the machine's python3, before the venv exists: the checkout's toolchain module
# (standard library only) is imported from the source tree.
sys.path.insert(0, str(ROOT))
from constructs_lib.toolchain import ensure_node, fingerprint, install_app_cli  # noqa: E402


def _up_to_date(stamp: Path, digest: str) -> bool:
    return stamp.is_file() and stamp.read_text() == digest


def _run(*command: str | Path) -> None:
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], cwd=ROOT, check=True)


def ensure_python_packages() -> None:
    if not VENV_PYTHON.exists():
        if sys.version_info < (3, 11):  # noqa: UP036 - runs under the machine's python3
            sys.exit(f"Python 3.11 or newer is required; this is {sys.version.split()[0]}")
        print(f"+ creating {VENV.relative_to(ROOT)}", flush=True)
        venv.create(VENV, with_pip=True)
    stamp = VENV / ".requirements.sha256"
    inputs = fingerprint(ROOT / "requirements.txt", ROOT / "requirements-dev.txt", ROOT / "pyproject.toml")
    if _up_to_date(stamp, inputs):
        return
    _run(
        VENV_PYTHON,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-r",
        "requirements-dev.txt",
    )
    stamp.write_text(inputs)


def main() -> None:
    ensure_python_packages()
    # The library's toolchain command, as consumers run it: Node.js >= 22 (into .venv when the
    # machine's is older), then the CLI package.json pins, with npm run by that Node.js.
    node = ensure_node(VENV)
    install_app_cli(ROOT, node)


if __name__ == "__main__":
    main()
