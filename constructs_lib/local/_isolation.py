"""What a function's worker may import: what Lambda would give it, and nothing else of the runner's.

Lambda's Python runtime puts the function's code first, then its layers (``/opt/python``), then the
standard library, then the runtime's own boto3. A worker gets the same, from this machine:

- the asset (its code directory);
- each layer defined in the app (``AWS::Lambda::LayerVersion`` with an asset): its ``python/`` folder;
- the public Powertools for AWS Lambda (Python) layer: ``aws-lambda-powertools`` with the dependencies
  of all its extras that are installed here (the layer ships ``[all]``), from a folder of links that
  holds those distributions only;
- boto3 and its dependencies, the same way (the runtime's SDK).

Everything else installed beside the runner (the library itself, moto, requests, ...) is invisible,
so a module missing from the asset fails as ``Runtime.ImportModuleError``, as in Lambda. The one
exception: a package in the asset built for another platform (Lambda's CPU or Python) is imported
from this machine's installation instead (`foreign_packages`), and the worker says so.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import sysconfig
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import Tag, parse_tag, sys_tags

POWERTOOLS_LAYER = re.compile(r":layer:AWSLambdaPowertoolsPython")
POWERTOOLS = "aws-lambda-powertools"
RUNTIME_SDK = "boto3"
_SITE_ROOT = Path(tempfile.gettempdir()) / "constructs-lib-local" / "site"
_lock = threading.Lock()


def distributions(root: str, *, all_extras: bool = False) -> set[str]:
    """`root` and every installed distribution it needs (with all its extras if `all_extras`)."""
    found: set[str] = set()
    pending = [(root, all_extras)]
    while pending:
        name, extras = pending.pop()
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # an optional dependency that is not installed here
        key = _normalized(distribution.metadata["Name"])
        if key in found:
            continue
        found.add(key)
        wanted = [""] + (distribution.metadata.get_all("Provides-Extra") or [] if extras else [])
        for text in distribution.requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in wanted):
                pending.append((requirement.name, False))
    return found


def site_directory(names: Iterable[str]) -> Path:
    """A folder holding links to exactly these installed distributions (packages, modules, metadata)."""
    chosen = sorted(set(names))
    # Named after the exact installation (versions and places): an upgrade gets a folder of its own.
    installed = [f"{name}=={importlib.metadata.version(name)}" for name in chosen]
    installed.append(sysconfig.get_paths()["purelib"])
    directory = _SITE_ROOT / hashlib.sha256("\n".join(installed).encode()).hexdigest()[:16]
    with _lock:
        if directory.is_dir():
            return directory
        partial = directory.with_name(f"{directory.name}.{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for name in chosen:
            distribution = importlib.metadata.distribution(name)
            base = Path(str(distribution.locate_file("")))
            for top in _top_level_entries(distribution):
                link = partial / top
                if not link.exists() and (base / top).exists():
                    link.symlink_to(base / top)
        try:
            partial.rename(directory)
        except OSError:  # another runner made it first
            shutil.rmtree(partial, ignore_errors=True)
    return directory


def _top_level_entries(distribution: importlib.metadata.Distribution) -> set[str]:
    entries = set()
    for file in distribution.files or []:
        parts = Path(str(file)).parts
        if parts and parts[0] not in ("..", "__pycache__") and not parts[0].endswith(".pth"):
            entries.add(parts[0])
    return entries


def import_path(layers: Iterable[str], layer_directories: Iterable[Path]) -> tuple[list[str], list[str]]:
    """The worker's path entries before the standard library (layers) and after it (the runtime's SDK)."""
    before = [str(directory) for directory in layer_directories]
    if any(POWERTOOLS_LAYER.search(layer) for layer in layers):
        before.append(str(site_directory(distributions(POWERTOOLS, all_extras=True))))
    after = [str(site_directory(distributions(RUNTIME_SDK)))]
    return before, after


def host_site_packages() -> list[str]:
    """Where this machine's packages are installed: the exception for packages built for Lambda."""
    return sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})


def foreign_packages(code_directory: Path) -> dict[str, str]:
    """Top-level packages of wheels in `code_directory` built for another platform, with their wheel tag."""
    supported = set(sys_tags())
    foreign: dict[str, str] = {}
    for wheel_file in code_directory.glob("*.dist-info/WHEEL"):
        tags: set[Tag] = set()
        for line in wheel_file.read_text().splitlines():
            if line.startswith("Tag:"):
                tags |= parse_tag(line.partition(":")[2].strip())
        if not tags or tags & supported:
            continue
        record = wheel_file.with_name("RECORD")
        for line in record.read_text().splitlines() if record.exists() else ():
            top = line.split(",", 1)[0].split("/", 1)[0]
            if top and not top.endswith((".dist-info", ".data")) and not top.startswith("__"):
                foreign[top.removesuffix(".py")] = str(min(tags, key=str))
    return foreign


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
