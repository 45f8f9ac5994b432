"""The environment contract (issue #25): names in one runtime module, read through one validated reader."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from constructs_lib.runtime import environment as env

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = {
    value
    for name, value in vars(env).items()
    if name.isupper() and isinstance(value, str) and name == value  # the constants, named as they read
}
# Both sides of the contract: what constructs write and what handlers read.
SIDES = [
    ROOT / "app.py",
    *sorted((ROOT / "lambda").rglob("*.py")),
    *sorted((ROOT / "constructs_lib").glob("*.py")),
    *sorted((ROOT / "constructs_lib" / "functions").rglob("*.py")),
    *sorted((ROOT / "constructs_lib" / "runtime").glob("*.py")),
]


def _string_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_the_contract_lists_the_library_variables() -> None:
    assert {"CORS_ALLOW_ORIGINS", "IMAGE_STORE_BUCKET", "CONNECTIONS_TABLE", "SEARCH_INDEX"} <= CONTRACT
    assert "POWERTOOLS_METRICS_NAMESPACE" in CONTRACT
    assert "IDEMPOTENCY_TABLE" in CONTRACT  # IdempotencyTable writes it, the API's idempotency reads it


def test_no_side_spells_a_variable_name_itself() -> None:
    spelled = [
        f"{path.relative_to(ROOT)}:{line}: {value}"
        for path in SIDES
        if path.name != "environment.py"
        for line, value in _string_literals(path)
        if value in CONTRACT
    ]
    assert spelled == []


def test_require_names_the_construct_that_sets_a_missing_variable() -> None:
    with pytest.raises(env.MissingEnvironmentError, match=r"IMAGE_STORE_BUCKET is not set: pass ImageStore"):
        env.require(env.IMAGE_STORE_BUCKET, {})
    assert env.require(env.CONNECTIONS_TABLE, {"CONNECTIONS_TABLE": " connections "}) == "connections"


def test_require_int_refuses_what_is_not_a_whole_number() -> None:
    assert env.require_int(env.CONNECTION_TTL_SECONDS, {"CONNECTION_TTL_SECONDS": "7200"}) == 7200
    with pytest.raises(
        env.MissingEnvironmentError, match="CONNECTION_TTL_SECONDS is '2h': expected a whole number"
    ):
        env.require_int(env.CONNECTION_TTL_SECONDS, {"CONNECTION_TTL_SECONDS": "2h"})
