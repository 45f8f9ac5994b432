"""Runs patch moto's ASL interpreter to sign its calls as their own; a run must leave no patch behind."""

from __future__ import annotations

import sys
import types

import pytest

from constructs_lib.local.stepfunctions import service
from constructs_lib.local.stepfunctions.service import Workflows


@pytest.fixture
def lazy_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """An interpreter module imported while a run was patched: it copied the run's client factory."""
    module = types.ModuleType("moto.stepfunctions.parser.imported_during_a_run")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module


def test_stop_restores_modules_the_interpreter_imported_while_patched(lazy_module: types.ModuleType) -> None:
    run = Workflows()
    run._patch_clients()
    lazy_module.boto_client_for = run._client_for  # type: ignore[attr-defined]
    run.stop()
    assert lazy_module.boto_client_for is service._ORIGINAL_CLIENT_FOR


def test_a_new_run_replaces_a_factory_an_earlier_run_left_behind(lazy_module: types.ModuleType) -> None:
    earlier, later = Workflows(), Workflows()
    lazy_module.boto_client_for = earlier._client_for  # type: ignore[attr-defined]  # never stopped
    later._patch_clients()
    try:
        # Calls of the later run's executions must reach the later run's AWS, not a stopped one.
        assert lazy_module.boto_client_for == later._client_for
    finally:
        later.stop()
    assert lazy_module.boto_client_for is service._ORIGINAL_CLIENT_FOR
