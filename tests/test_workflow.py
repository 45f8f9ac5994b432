"""The GitHub Actions workflow is valid workflow syntax and runs the README's commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.cdk import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    # check-jsonschema ships the GitHub workflow schema (SchemaStore) inside the package: offline.
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_workflow_matches_the_github_workflow_schema() -> None:
    result = _schema_check(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = yaml.safe_load(WORKFLOW.read_text())
    broken["jobs"]["test"]["runs-on"] = {"unexpected": ["shape"]}
    del broken["jobs"]["test"]["steps"]
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert _schema_check(path).returncode != 0


def test_workflow_runs_make_test_and_posts_make_diff_on_pull_requests() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    test_steps = [step.get("run", "") for step in workflow["jobs"]["test"]["steps"]]
    assert "make test" in test_steps
    diff_job = workflow["jobs"]["template-diff"]
    assert diff_job["if"] == "github.event_name == 'pull_request'"
    runs = "\n".join(step.get("run", "") for step in diff_job["steps"])
    assert "make diff" in runs
    assert "GITHUB_STEP_SUMMARY" in runs
