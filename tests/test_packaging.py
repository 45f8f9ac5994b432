"""The library as users get it: a wheel, installed beside only its declared dependencies.

A wheel is built from a copy of what setuptools reads (so stale ``build/`` output in the
checkout cannot leak into it) and installed into a virtual environment that holds the
dependencies pyproject.toml declares, pinned by requirements.txt, plus pytest. The example
consumer app (examples/consumer-app) then synthesizes and runs its own tests there: an
undeclared dependency, a module or a package-data file missing from the wheel fails them.

Installing aws-cdk-lib into a fresh environment costs ~35 s, so that environment is cached in
``.cache/consumer-venv-<hash>/``, keyed by everything installed into it; each run only
reinstalls the freshly built wheel. Commands run as ``<venv>/bin/python -m ...``: the
environment is built elsewhere and renamed into place, which leaves console-script shebangs
pointing at the old path.
"""

from __future__ import annotations

import email.parser
import fcntl
import hashlib
import io
import json
import os
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
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from packaging.requirements import Requirement

from constructs_lib.local.runner import LocalRunner, RunnerOptions

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "consumer-app"
CACHE = ROOT / ".cache"
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Everything setuptools reads to build the wheel (pyproject.toml's readme, packages, package-data).
WHEEL_INPUTS = ("pyproject.toml", "README.md", "constructs_lib")
DISTRIBUTION = "constructs_lib"  # the wheel's file-name form of the project name
STALE_BUILD_SECONDS = 3600  # a half-built environment this old belongs to a run that died
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


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("wheel-source")
    for name in WHEEL_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
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
    """Create the environment beside its final path and rename it there only once it is complete."""
    for leftover in CACHE.glob(".consumer-venv-building-*"):
        if time.time() - leftover.stat().st_mtime > STALE_BUILD_SECONDS:
            shutil.rmtree(leftover, ignore_errors=True)
    building = Path(tempfile.mkdtemp(prefix=".consumer-venv-building-", dir=CACHE))
    try:
        _run([sys.executable, "-m", "venv", str(building)])
        with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=CACHE) as constraints:
            constraints.write("\n".join(REPOSITORY_PINS) + "\n")
            constraints.flush()
            _run(
                [
                    str(_venv_python(building)),
                    *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
                    *("--constraint", constraints.name),
                    *requirements,
                ]
            )
        building.rename(venv)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    # Environments for other dependency sets are out of date: each holds a few hundred MB.
    for old in CACHE.glob("consumer-venv-*"):
        if old != venv and not old.name.endswith(".lock"):
            shutil.rmtree(old, ignore_errors=True)


@pytest.fixture(scope="session")
def consumer_venv(wheel: Path) -> Iterator[Path]:
    """The cached dependency environment with the freshly built wheel installed."""
    requirements = [*DECLARED_DEPENDENCIES, *EXAMPLE_PINS, PYTEST]
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
        if not venv.is_dir():
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
    if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
        continue  # an extra's requirement: the example installs none
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


def test_example_app_runs_locally(consumer_run: tuple[str, Path]) -> None:
    """`python -m constructs_lib.local` runs any app built with the library: here the example's
    IAM-authorized notes API, from the example's own synthesized assembly."""
    _, outdir = consumer_run
    with LocalRunner(outdir, RunnerOptions(port=0, websocket_port=0), output=io.StringIO()) as runner:
        ((name, url),) = runner.rest_apis.items()
        notes_url = f"{url}/{runner.rest_gateways[name].stage_names[0]}/notes"
        unsigned = requests.post(notes_url, json={"text": "hello"}, timeout=30)
        created = _signed("POST", notes_url, {"text": "hello"}, runner.region)
        listed = _signed("GET", notes_url, None, runner.region)
    assert (unsigned.status_code, unsigned.json()) == (403, {"message": "Missing Authentication Token"})
    assert created.status_code == 201, created.text
    assert [note["text"] for note in listed.json()["items"]] == ["hello"]


def _signed(method: str, url: str, body: dict[str, str] | None, region: str) -> requests.Response:
    """A request signed with SigV4 for execute-api, as an IAM caller sends it."""
    data = json.dumps(body) if body is not None else None
    request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("AKIDLOCALNOTES", "secret"), "execute-api", region).add_auth(request)
    return requests.request(method, url, data=data, headers=dict(request.headers.items()), timeout=30)
