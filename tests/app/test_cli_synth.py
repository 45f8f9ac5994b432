"""`python app.py` as users (and `cdk synth`) run it: built-in CloudFormation validation on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cdk import CDK_CONTEXT, ROOT


def test_app_synthesizes_every_stack_with_validation_on(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CDK_VALIDATION": "true",
        "CDK_OUTDIR": str(tmp_path),
        # What the CDK CLI passes: cdk.json's context.
        "CDK_CONTEXT_JSON": json.dumps(CDK_CONTEXT),
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]
    templates = sorted(path.name for path in tmp_path.glob("*.template.json"))
    assert templates == [
        "ImageSharingApi-dev.template.json",
        "ImageSharingData-dev.template.json",
        "ImageSharingSearch-dev.template.json",
    ]
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert all(plugin["conclusion"] == "success" for plugin in report["pluginReports"]), report
