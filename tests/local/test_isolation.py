"""A worker imports what Lambda would give the function: its asset, its layers, the runtime's boto3."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from constructs_lib.local._isolation import distributions
from constructs_lib.local._workers import FunctionPool, FunctionSpec

IMPORTS = """
import importlib

def handler(event, context):
    try:
        module = importlib.import_module(event["module"])
    except ImportError as error:
        return f"ImportError: {error}"
    return getattr(module, "__file__", "") or "imported"
"""
POWERTOOLS_LAYER = (
    "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27"
)
OTHER_LAYER = "arn:aws:lambda:eu-west-1:123456789012:layer:SomeoneElses:3"


@pytest.fixture(scope="module")
def asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("asset")
    (directory / "imports.py").write_text(textwrap.dedent(IMPORTS))
    # Installed beside the runner (a test dependency), but not in this asset.
    (directory / "uses_requests.py").write_text(
        "import requests\n\ndef handler(event, context):\n    return 1\n"
    )
    return directory


@pytest.fixture(scope="module")
def own_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An app's own layer, as staged: its modules under python/."""
    directory = tmp_path_factory.mktemp("layer") / "python"
    directory.mkdir()
    (directory / "shared_helpers.py").write_text("ANSWER = 42\n")
    return directory


def spec(asset: Path, name: str, handler: str, **options: object) -> FunctionSpec:
    return FunctionSpec(
        name=name,
        arn=f"arn:aws:lambda:eu-west-1:111111111111:function:{name}",
        display_name=name,
        handler=handler,
        code_directory=asset,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def pool(asset: Path, own_layer: Path) -> Iterator[FunctionPool]:
    functions = [
        spec(asset, "plain", "imports.handler"),
        spec(asset, "powertools", "imports.handler", layers=(POWERTOOLS_LAYER,)),
        spec(asset, "layered", "imports.handler", layers=(OTHER_LAYER,), layer_directories=(own_layer,)),
        spec(asset, "requests", "uses_requests.handler"),
    ]
    pool = FunctionPool(
        functions, aws_environment={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, output=io.StringIO()
    )
    yield pool
    pool.close()


def imported(pool: FunctionPool, function: str, module: str) -> str:
    invocation = pool.invoke(function, {"module": module})
    assert invocation.error is None, invocation.error
    return str(invocation.payload)


def test_a_module_installed_beside_the_runner_but_not_in_the_asset_fails_as_in_lambda(
    pool: FunctionPool,
) -> None:
    invocation = pool.invoke("requests", {})
    assert invocation.error is not None
    assert (invocation.error.error_type, invocation.error.message) == (
        "Runtime.ImportModuleError",
        "Unable to import module 'uses_requests': No module named 'requests'",
    )


@pytest.mark.parametrize(
    "module", ["constructs_lib", "moto", "requests", "aws_lambda_powertools", "pydantic"]
)
def test_without_layers_only_the_asset_the_standard_library_and_boto3_are_importable(
    pool: FunctionPool, module: str
) -> None:
    assert imported(pool, "plain", module) == f"ImportError: No module named '{module}'"
    assert imported(pool, "plain", "boto3").endswith("boto3/__init__.py")
    assert imported(pool, "plain", "json").endswith("json/__init__.py")


def test_the_powertools_layer_brings_powertools_with_its_extras_and_nothing_else(pool: FunctionPool) -> None:
    for module in ("aws_lambda_powertools", "pydantic", "aws_xray_sdk", "boto3"):
        assert not imported(pool, "powertools", module).startswith("ImportError"), module
    assert imported(pool, "powertools", "constructs_lib").startswith("ImportError")
    assert imported(pool, "powertools", "moto").startswith("ImportError")


def test_an_apps_own_layer_is_on_the_path_and_another_accounts_layer_is_missing(
    pool: FunctionPool, own_layer: Path
) -> None:
    assert imported(pool, "layered", "shared_helpers") == str(own_layer / "shared_helpers.py")
    assert imported(pool, "layered", "aws_lambda_powertools").startswith("ImportError")


def test_the_runtimes_sdk_is_boto3_and_its_dependencies_only() -> None:
    assert distributions("boto3") >= {"boto3", "botocore", "s3transfer", "jmespath"}
    assert "requests" not in distributions("boto3")
    assert {"aws-lambda-powertools", "pydantic", "aws-xray-sdk"} <= distributions(
        "aws-lambda-powertools", all_extras=True
    )
