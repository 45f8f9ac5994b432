"""The GitHub Actions workflow is valid workflow syntax, runs `make test`, and publishes the docs."""

from __future__ import annotations

from pathlib import Path

import check_jsonschema
import pytest
import yaml

from tests.cdk import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _schema_check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """check-jsonschema against the GitHub workflow schema it ships (SchemaStore): offline."""
    with pytest.raises(SystemExit) as finished:
        check_jsonschema.main(["--builtin-schema", "vendor.github-workflows", str(path)])
    captured = capsys.readouterr()
    return int(finished.value.code or 0), captured.out + captured.err


def test_workflow_matches_the_github_workflow_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _schema_check(WORKFLOW, capsys)
    assert code == 0, output


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Edited as text: a YAML round trip would turn the `on:` key into `true:`.
    text = WORKFLOW.read_text()
    assert "    timeout-minutes: 45\n" in text
    path = tmp_path / "broken.yml"
    path.write_text(text.replace("    timeout-minutes: 45\n", "    timeout-minutes: soon\n", 1))
    code, output = _schema_check(path, capsys)
    assert code != 0
    assert "timeout-minutes" in output
    assert "'on' is a required property" not in output


def test_workflow_runs_make_test_and_posts_make_diff_on_pull_requests() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    test_steps = [step.get("run", "") for step in workflow["jobs"]["test"]["steps"]]
    assert "make test" in test_steps
    diff_job = workflow["jobs"]["template-diff"]
    assert diff_job["if"] == "github.event_name == 'pull_request'"
    runs = "\n".join(step.get("run", "") for step in diff_job["steps"])
    assert "make diff" in runs
    assert "GITHUB_STEP_SUMMARY" in runs


def test_workflow_runs_the_compliance_gate_beside_the_tests() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = [step.get("run", "") for step in workflow["jobs"]["compliance"]["steps"]]
    assert "make compliance" in steps
    assert "needs" not in workflow["jobs"]["compliance"]


def test_workflow_publishes_the_docs_from_main_apart_from_the_tests() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    pages = workflow["jobs"]["pages"]
    assert pages["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert pages["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert pages["environment"]["name"] == "github-pages"
    steps = pages["steps"]
    assert "make docs" in [step.get("run", "") for step in steps]
    uploads = [step for step in steps if step.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert [step["with"]["path"] for step in uploads] == ["site"]  # where `make docs` builds
    assert any(step.get("uses", "").startswith("actions/deploy-pages@") for step in steps)
    # The tests never wait for the docs, and the docs never hold up a pull request.
    assert not any("pages" in str(job.get("needs", "")) for job in workflow["jobs"].values())
