"""The library as users get it: a wheel, installed beside only its declared dependencies.

A wheel is built from a copy of what setuptools reads (so stale ``build/`` output in the
checkout cannot leak into it) and installed into a virtual environment that holds the
dependencies pyproject.toml declares (with the ``local`` extra), pinned by requirements.txt,
plus the example's pins and pytest. The example consumer app (examples/consumer-app) then
synthesizes and runs its own tests there: an undeclared dependency, a module or a package-data
file missing from the wheel fails them. Then docs/own-app.md's quick start runs, block by block,
from ``cdk init`` to ``pytest``.

Installing aws-cdk-lib into a fresh environment costs ~35 s, so that environment is cached in
``.cache/consumer-venv-<hash>/``, keyed by everything installed into it; each run only
reinstalls the freshly built wheel. It is built in place (console scripts and ``activate`` name
its real path, which the quick start needs) and marked complete last: an environment without the
marker is a build that died, and is rebuilt.
"""

from __future__ import annotations

import email.parser
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "consumer-app"
CACHE = ROOT / ".cache"
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Everything setuptools reads to build the wheel (pyproject.toml's readme, packages, package-data).
WHEEL_INPUTS = ("pyproject.toml", "README.md", "constructs_lib")
DISTRIBUTION = "constructs_lib"  # the wheel's file-name form of the project name
COMPLETE = ".complete"  # written into a cached environment once it is fully installed
EXAMPLE_STACK = "ConsumerNotes"


def _requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def _pinned(path: Path, name: str) -> str:
    (pin,) = [line for line in _requirement_lines(path) if line.startswith(f"{name}==")]
    return pin


DECLARED_DEPENDENCIES: list[str] = PYPROJECT["project"]["dependencies"]
# Extras (``constructs_lib[local]``): declared in the wheel with an ``extra == "<name>"`` marker.
DECLARED_EXTRAS: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]
# The exact versions the repository is tested with, as constraints: they choose versions
# within the declared ranges and add no package the wheel does not declare.
REPOSITORY_PINS = [line for line in _requirement_lines(ROOT / "requirements.txt") if "==" in line]
# The example's own pins; its constructs-lib line is the wheel, never looked up on an index.
EXAMPLE_PINS = [
    line for line in _requirement_lines(EXAMPLE / "requirements.txt") if not line.startswith("constructs-lib")
]
PYTEST = _pinned(ROOT / "requirements-dev.txt", "pytest")  # the example's tests run with the suite's pytest


def _run(command: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (
        f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result.stdout


def _clean_copy(source: Path) -> Path:
    """What setuptools reads to build the wheel, copied into `source` (no build/ or caches)."""
    source.mkdir(exist_ok=True)
    for name in WHEEL_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    return source


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = _clean_copy(tmp_path_factory.mktemp("wheel-source"))
    dist = tmp_path_factory.mktemp("dist")
    # The venv pins setuptools (requirements-dev.txt): no isolated build environment to create.
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(source)])
    (built,) = dist.glob("*.whl")
    return built


@pytest.fixture(scope="session")
def wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(metadata).decode())


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _build_venv(venv: Path, requirements: list[str]) -> None:
    """Create the environment at its final path; mark it complete only once everything is installed."""
    shutil.rmtree(venv, ignore_errors=True)  # a build that died half-way
    _run([sys.executable, "-m", "venv", str(venv)])
    with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=CACHE) as constraints:
        constraints.write("\n".join(REPOSITORY_PINS) + "\n")
        constraints.flush()
        _run(
            [
                str(_venv_python(venv)),
                *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
                *("--constraint", constraints.name),
                *requirements,
            ]
        )
    (venv / COMPLETE).touch()
    # Environments for other dependency sets are out of date: each holds a few hundred MB.
    for old in CACHE.glob("consumer-venv-*"):
        if old != venv and not old.name.endswith(".lock"):
            shutil.rmtree(old, ignore_errors=True)


@pytest.fixture(scope="session")
def consumer_venv(wheel: Path) -> Iterator[Path]:
    """The cached dependency environment with the freshly built wheel installed."""
    requirements = [*DECLARED_DEPENDENCIES, *DECLARED_EXTRAS["local"], *EXAMPLE_PINS, PYTEST]
    key = hashlib.sha256(
        json.dumps(
            {"python": [sys.base_prefix, sys.version], "requirements": requirements, "pins": REPOSITORY_PINS}
        ).encode()
    ).hexdigest()[:16]
    venv = CACHE / f"consumer-venv-{key}"
    CACHE.mkdir(exist_ok=True)
    # Concurrent test sessions would reinstall the wheel under each other: one at a time.
    with (CACHE / f"consumer-venv-{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / COMPLETE).is_file():
            _build_venv(venv, requirements)
        python = str(_venv_python(venv))
        _run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel)])
        yield venv


def _consumer_env(venv: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment (PATH carries Node.js >= 22 for jsii), minus anything that
    could make the consumer import the checkout's library instead of the wheel's."""
    env = {name: value for name, value in os.environ.items() if name not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return {
        **env,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONDONTWRITEBYTECODE": "1",
        # Stage function code afresh, from the installed wheel's runtime helpers.
        "CONSTRUCTS_LIB_BUNDLE_CACHE": str(tmp_path / "bundles"),
        # The built-in CloudFormation validation changes no template and costs seconds per synth;
        # the reference app's dev synth in tests/app keeps it on.
        "CDK_VALIDATION": "false",
        **extra,
    }


def test_wheel_holds_every_library_file_and_nothing_else(wheel: Path) -> None:
    sources = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "constructs_lib").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    library = {name for name in names if not name.startswith(f"{DISTRIBUTION}-")}
    assert library == sources
    assert {
        "constructs_lib/py.typed",
        "constructs_lib/functions/search_indexer/indexer.py",
        "constructs_lib/functions/search_security/handler.py",
        "constructs_lib/runtime/__init__.py",
        "constructs_lib/runtime/presign.py",
        "constructs_lib/runtime/opensearch.py",
        "constructs_lib/runtime/cors.py",
    } <= library


def test_wheel_metadata_matches_pyproject(wheel_metadata: Message) -> None:
    project = PYPROJECT["project"]
    assert wheel_metadata["Name"] == project["name"]
    assert wheel_metadata["Version"] == project["version"]
    assert wheel_metadata["License-Expression"] == project["license"] == "Apache-2.0"
    assert wheel_metadata["Requires-Python"] == project["requires-python"] == ">=3.11"
    assert wheel_metadata.get_all("Classifier") == project["classifiers"]
    assert "Typing :: Typed" in project["classifiers"]
    declared = {
        (requirement.name, requirement.specifier, "")
        for requirement in map(Requirement, DECLARED_DEPENDENCIES)
    } | {
        (requirement.name, requirement.specifier, extra)
        for extra, requirements in DECLARED_EXTRAS.items()
        for requirement in map(Requirement, requirements)
    }
    required = {
        (requirement.name, requirement.specifier, _extra_of(requirement))
        for requirement in map(Requirement, wheel_metadata.get_all("Requires-Dist") or [])
    }
    assert required == declared
    assert wheel_metadata.get_all("Provides-Extra") == list(DECLARED_EXTRAS)
    assert wheel_metadata["Summary"] == project["description"]


def _extra_of(requirement: Requirement) -> str:
    """The extra a wheel requirement belongs to ("" for the base install)."""
    if requirement.marker is None:
        return ""
    return next(extra for extra in DECLARED_EXTRAS if requirement.marker.evaluate({"extra": extra}))


# One interpreter for the consumer (each start costs a jsii process): where constructs_lib is
# imported from, then `python app.py` as `cdk synth` runs it, then the example's own tests.
_CONSUMER_RUN = """
import runpy, sys
from importlib.metadata import PackageNotFoundError, requires, version
from packaging.requirements import Requirement
for requirement in map(Requirement, requires("constructs-lib") or []):
    extras = ("", "local")
    if requirement.marker is not None and not any(requirement.marker.evaluate({"extra": e}) for e in extras):
        continue  # another extra's requirement: the environment holds the base and `local` only
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        installed = None
    if installed is None or not requirement.specifier.contains(installed, prereleases=True):
        print("unsatisfied:", requirement, "installed:", installed)
import constructs_lib
print("library:", constructs_lib.__file__)
runpy.run_path("app.py", run_name="__main__")
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider"]))  # no cache: leave the example as it was
"""


@pytest.fixture(scope="module")
def consumer_run(consumer_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    scratch = tmp_path_factory.mktemp("consumer")
    outdir = scratch / "cdk.out"
    context = json.loads((EXAMPLE / "cdk.json").read_text())["context"]
    # What `cdk synth` passes to the app command: the output folder and cdk.json's context.
    env = _consumer_env(consumer_venv, scratch, CDK_OUTDIR=str(outdir), CDK_CONTEXT_JSON=json.dumps(context))
    output = _run([str(_venv_python(consumer_venv)), "-c", _CONSUMER_RUN], cwd=EXAMPLE, env=env)
    return output, outdir


def test_declared_dependencies_are_satisfied(consumer_run: tuple[str, Path]) -> None:
    output, _ = consumer_run
    assert [line for line in output.splitlines() if line.startswith("unsatisfied:")] == []


def test_consumer_imports_the_installed_wheel(consumer_run: tuple[str, Path], consumer_venv: Path) -> None:
    output, _ = consumer_run
    (location,) = [
        line.removeprefix("library: ") for line in output.splitlines() if line.startswith("library: ")
    ]
    assert Path(location).is_relative_to(consumer_venv / "lib"), location


def test_example_app_synthesizes_with_the_installed_wheel(consumer_run: tuple[str, Path]) -> None:
    _, outdir = consumer_run
    template = json.loads((outdir / f"{EXAMPLE_STACK}.template.json").read_text())
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert {
        "AWS::DynamoDB::GlobalTable",
        "AWS::S3::Bucket",
        "AWS::ApiGateway::RestApi",
        "AWS::Lambda::Function",
    } <= types


def test_example_tests_pass_with_the_wheel(consumer_run: tuple[str, Path]) -> None:
    output, _ = consumer_run  # _run fails the fixture on a non-zero exit: a failed example test
    assert " passed" in output
    assert "failed" not in output
    assert "skipped" not in output


# docs/own-app.md's quick start, run as written (two lines changed, see quickstart_script).
OWN_APP = ROOT / "docs" / "own-app.md"
_BLOCK = re.compile(
    r"(?P<marker><!--[^\n]*-->\n)?```(?P<language>\w+)(?: title=\"(?P<title>[^\"]+)\")?\n(?P<body>.*?)\n```",
    re.DOTALL,
)
NOT_RUN = "quickstart: not run"
# The page's lines the test changes, exactly as the page writes them.
VENV_LINE = "python3 -m venv .venv && source .venv/bin/activate"
SOURCE_PLACEHOLDER = "file:///path/to/constructs_lib"


def quickstart_script(page: str, *, venv: Path, source: Path) -> str:
    """One bash script of the page's "Quick start" section: its bash blocks in order, each titled
    python block written to its file where it stands. The venv line links the cached environment
    instead of creating one; the install line names a clean copy of the checkout."""
    section = page.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    parts = ["set -euo pipefail"]
    for block in _BLOCK.finditer(section):
        if NOT_RUN in (block.group("marker") or ""):
            continue
        body, title = block.group("body"), block.group("title")
        if block.group("language") == "bash":
            parts.append(body)
        else:
            assert title, f"an untitled {block.group('language')} block in the quick start:\n{body}"
            parts.append(
                f"mkdir -p \"$(dirname {title})\"\ncat > {title} <<'QUICKSTART_EOF'\n{body}\nQUICKSTART_EOF"
            )
    script = "\n".join(parts)
    assert script.count(VENV_LINE) == 1, f"the quick start no longer reads {VENV_LINE!r}"
    assert script.count(SOURCE_PLACEHOLDER) == 1, f"the quick start no longer installs {SOURCE_PLACEHOLDER}"
    script = script.replace(VENV_LINE, f"ln -s {venv} .venv && source .venv/bin/activate")
    return script.replace(SOURCE_PLACEHOLDER, source.as_uri())


def _without_checkout_tools(path: str) -> str:
    """PATH without this repository's .venv: the quick start sees the machine's own Node.js."""
    mine = {
        str(ROOT / ".venv" / "bin"),
        str(ROOT / ".venv" / "node" / "bin"),
        str(ROOT / "node_modules" / ".bin"),
    }
    return os.pathsep.join(part for part in path.split(os.pathsep) if part not in mine)


def test_the_quick_start_runs_as_written(consumer_venv: Path, tmp_path: Path) -> None:
    source = _clean_copy(tmp_path / "constructs_lib")
    script = quickstart_script(OWN_APP.read_text(), venv=consumer_venv, source=source)
    env = {name: value for name, value in os.environ.items() if name not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env |= {
        "PATH": _without_checkout_tools(env["PATH"]),
        "CONSTRUCTS_LIB_BUNDLE_CACHE": str(tmp_path / "bundles"),
    }
    started = time.monotonic()
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"quick start failed after {time.monotonic() - started:.0f} s:\n{output[-6000:]}"
    )
    app = tmp_path / "notes"
    assert (app / "cdk.out" / "NotesStack.template.json").is_file()
    assert re.search(r"^Node\.js (22|24) .*; aws-cdk CLI 2\.1148\.1 ", output, re.MULTILINE), output[-3000:]
    assert "Synthesize with (the virtual environment active): cdk synth" in output
    assert re.search(r"^=+ 2 passed in ", output, re.MULTILINE), output[-3000:]


def test_the_own_app_install_lines_are_valid_requirements() -> None:
    lines = re.findall(r'^pip install "([^"]+ @ [^"]+)"', OWN_APP.read_text(), re.MULTILINE)
    assert len(lines) >= 2
    for line in lines:
        requirement = Requirement(line)  # raises on what pip reports as "Invalid requirement"
        assert requirement.name == "constructs-lib"
        assert requirement.url is not None and requirement.url.startswith(("file:///", "git+https://"))
