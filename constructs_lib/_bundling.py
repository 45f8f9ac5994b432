"""Local, Docker-free staging of Python Lambda code.

A function's asset is its handler folder, plus (when asked) the library's runtime helpers
under ``constructs_lib/runtime``, plus the packages named in the folder's
``requirements.txt`` installed by pip for the function's platform (manylinux wheels for
arm64 or x86_64 and the Lambda Python version). Nothing else goes in: no boto3 (the
Lambda runtime has it), no tests, no caches.

Staged folders are cached by a fingerprint of their inputs, so repeated synths (and every
test session) reuse them instead of calling pip again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

RUNTIME_HELPERS = Path(__file__).resolve().parent / "runtime"
# Bumped whenever the layout of a staged folder changes, so old cache entries are not reused.
_STAGING_FORMAT = "1"
_SKIPPED_NAMES = {"__pycache__", "requirements.txt", "tests", ".pytest_cache", ".mypy_cache"}
# Lambda's Python 3.13 runtime is Amazon Linux 2023 (glibc 2.34): any manylinux wheel up to 2.34 runs.
_MANYLINUX_TAGS = ("manylinux2014", "manylinux_2_28", "manylinux_2_34")
_PIP_MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}


def _source_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in _SKIPPED_NAMES or part.endswith(".pyc") for part in relative.parts):
            continue
        if path.is_file():
            yield path


def _cache_root() -> Path:
    configured = os.environ.get("CONSTRUCTS_LIB_BUNDLE_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "constructs_lib" / "bundles"


def stage_python_code(
    entry: Path, *, include_runtime_helpers: bool, architecture: str, python_version: str
) -> Path:
    """Return a folder holding the function's complete code, building it if not cached."""
    if not entry.is_dir():
        raise ValueError(f"entry '{entry}' is not a folder holding the function's handler module")
    requirements = entry / "requirements.txt"
    sources = [(entry, path) for path in _source_files(entry)]
    if include_runtime_helpers:
        sources += [(RUNTIME_HELPERS.parent.parent, path) for path in _source_files(RUNTIME_HELPERS)]

    digest = hashlib.sha256(f"{_STAGING_FORMAT}:{architecture}:{python_version}".encode())
    for base, path in sources:
        digest.update(str(path.relative_to(base)).encode())
        digest.update(path.read_bytes())
    if requirements.is_file():
        digest.update(requirements.read_bytes())
    staged = _cache_root() / digest.hexdigest()[:32]
    if staged.is_dir():
        return staged

    staged.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".staging-", dir=staged.parent))
    try:
        for base, path in sources:
            target = building / path.relative_to(base)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        if include_runtime_helpers:
            # The library's own __init__ names the CDK constructs; in Lambda only the runtime helpers exist.
            (building / "constructs_lib" / "__init__.py").write_text("")
        if requirements.is_file():
            _pip_install(requirements, building, architecture, python_version)
        for cache in building.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        try:
            building.rename(staged)
        except OSError:
            if not staged.is_dir():  # another process staged the same inputs first: use theirs
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return staged


def _pip_install(requirements: Path, target: Path, architecture: str, python_version: str) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--requirement",
        str(requirements),
        "--target",
        str(target),
        *(f"--platform={tag}_{_PIP_MACHINES[architecture]}" for tag in _MANYLINUX_TAGS),
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--only-binary=:all:",
        "--no-compile",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"installing {requirements} for {architecture}/Python {python_version} failed:\n{result.stderr}"
        )
