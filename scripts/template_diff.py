#!/usr/bin/env python3
"""`make diff`: the per-stack CloudFormation difference between a git ref and the working tree.

Synthesizes the app twice, offline, with the pinned CDK CLI: at BASE (default: the merge base
with main) in a temporary git worktree, and in the working tree. Then prints the CDK's own diff
per stack with IAM and security-group changes called out, a summary line per stack, and a loud
warning for stateful resources that would be replaced or removed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"
PYTHON = ROOT / ".venv" / "bin" / "python"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def default_base() -> str:
    for main in ("origin/main", "main"):
        try:
            return _git("merge-base", "HEAD", main)
        except subprocess.CalledProcessError:
            continue
    return "HEAD"


def synth(app_dir: Path, outdir: Path) -> None:
    """Synthesize the app in `app_dir` into `outdir` with that tree's own cdk.json context."""
    if not (app_dir / "app.py").is_file():
        print(f"{app_dir} has no app.py: comparing against an empty app", flush=True)
        outdir.mkdir(parents=True)
        return
    env = {**os.environ, "CDK_VALIDATION": "false"}
    command = [str(CDK), "synth", "--quiet", "--app", f"{PYTHON} app.py", "--output", str(outdir)]
    result = subprocess.run(command, cwd=app_dir, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"synth failed in {app_dir}:\n{result.stdout}\n{result.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default=os.environ.get("BASE") or None, help="git ref to compare against")
    base = parser.parse_args().base or default_base()
    base_commit = _git("rev-parse", "--verify", f"{base}^{{commit}}")
    print(f"Comparing the working tree with {base} ({base_commit[:12]})", flush=True)

    with tempfile.TemporaryDirectory(prefix="template-diff-") as scratch:
        work = Path(scratch)
        worktree = work / "base"
        _git("worktree", "add", "--detach", "--quiet", str(worktree), base_commit)
        try:
            # The base tree imports its own constructs_lib: app.py's folder comes first on sys.path.
            synth(worktree, work / "base.out")
        finally:
            _git("worktree", "remove", "--force", str(worktree))
        synth(ROOT, work / "head.out")
        node = shutil.which("node") or "node"
        subprocess.run(
            [
                node,
                str(ROOT / "scripts" / "template-diff.mjs"),
                str(work / "base.out"),
                str(work / "head.out"),
            ],
            cwd=ROOT,
            check=True,
        )


if __name__ == "__main__":
    main()
