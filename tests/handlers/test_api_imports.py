"""Importing an API handler module stays lean: the cold-start budget is 1.3x importing boto3.

Powertools, the X-Ray SDK and the library's runtime helpers are loaded on the first request
(see lambda/api/api_common.py), so a fresh interpreter that imports a handler module must not
have loaded them. Checked in a subprocess: this test process has imported them already.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[2] / "lambda" / "api"
DEFERRED = ("aws_lambda_powertools", "aws_xray_sdk", "constructs_lib", "aws_cdk")


@pytest.mark.parametrize("module", ["groups_read", "groups_write", "images_read", "images_write", "search"])
def test_importing_a_handler_defers_powertools_xray_and_helpers(module: str) -> None:
    code = (
        f"import sys; import {module}; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({DEFERRED!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=API,
        env={"PYTHONPATH": str(API), "AWS_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
    assert callable(__import__(module).handler)
