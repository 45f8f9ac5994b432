"""`constructs-lib-diff`: where the two assemblies come from, and the exit status.

BASE is a directory of templates (a saved ``cdk.out``) or a git ref; a ref is checked out in a
temporary ``git worktree`` and synthesized there with the app's pinned CLI, so the base build
uses the base commit's own code and cdk.json. The new side is the working tree (synthesized)
or ``--head DIR``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from constructs_lib.diff._checks import CATEGORIES, check
from constructs_lib.diff._compare import diff_assemblies, read_templates
from constructs_lib.diff._render import stack_lines, summary_lines
from constructs_lib.diff._spec import DiffError, find_cli_package, load_spec

PROG = "constructs-lib-diff"
EXIT_FAIL_ON = 1  # a --fail-on category has warnings
EXIT_ERROR = 2  # no diff: bad arguments, unknown BASE, missing CLI, failed synth
SYNTH_LOG_LINES = 40  # of a failed synth's output, in the error


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def default_base(app_dir: Path) -> str:
    """The merge base with origin/main or main (what a pull request would merge into), else HEAD."""
    for main in ("origin/main", "main"):
        result = _git(app_dir, "merge-base", "HEAD", main)
        if result.returncode == 0:
            return result.stdout.strip()
    return "HEAD"


def synth(app_dir: Path, outdir: Path, *, cli: Path, app: str | None) -> dict[str, dict[str, object]]:
    """`cdk synth` of the app in `app_dir` (its cdk.json; `app` overrides its app command) into `outdir`."""
    command = [str(cli / "bin" / "cdk"), "synth", "--quiet", "--output", str(outdir)]
    if app:
        command += ["--app", app]
    # Progress on stderr (a synth takes seconds to minutes); stdout stays the diff alone.
    print(f"{PROG}: synthesizing {app_dir}", file=sys.stderr, flush=True)
    result = subprocess.run(command, cwd=app_dir, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        log = (result.stdout + result.stderr).strip().splitlines()[-SYNTH_LOG_LINES:]
        raise DiffError(f"cdk synth failed in {app_dir}:\n" + "\n".join(log))
    return read_templates(outdir)


def base_templates(
    base: str, app_dir: Path, scratch: Path, *, cli: Path, app: str | None
) -> tuple[dict[str, dict[str, object]], str]:
    """The base side's templates and how to name it."""
    if Path(base).is_dir():
        templates = read_templates(Path(base))
        if not templates:
            raise DiffError(f"BASE directory {base} holds no *.template.json")
        return templates, f"the templates in {base}"
    commit = _git(app_dir, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    if commit.returncode != 0:
        raise DiffError(f"unknown BASE {base!r}: neither a directory nor a git ref in {app_dir}")
    sha = commit.stdout.strip()
    top = Path(_git(app_dir, "rev-parse", "--show-toplevel").stdout.strip())
    worktree = scratch / "base"
    added = _git(top, "worktree", "add", "--detach", "--quiet", str(worktree), sha)
    if added.returncode != 0:
        raise DiffError(f"git worktree add failed: {added.stderr.strip()}")
    try:
        base_app = worktree / app_dir.resolve().relative_to(top.resolve())
        label = f"{base} ({sha[:12]})"
        if not (base_app / "cdk.json").is_file():
            print(f"{base_app.relative_to(worktree)} has no cdk.json at {label}: comparing with no stacks")
            return {}, label
        return synth(base_app, scratch / "base.out", cli=cli, app=app), label
    finally:
        _git(top, "worktree", "remove", "--force", str(worktree))


def _categories(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in CATEGORIES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown categories {unknown}; choose from {', '.join(CATEGORIES)}")
    return names


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Per-stack CloudFormation diff of a CDK app against BASE, with data-loss and security "
        "warnings.",
    )
    parser.add_argument(
        "--base",
        default=os.environ.get("BASE") or None,
        help="a git ref or a directory of templates (default: $BASE, else the merge base with main)",
    )
    parser.add_argument(
        "--head", type=Path, help="compare this directory of templates instead of synthesizing"
    )
    parser.add_argument("--app-dir", type=Path, default=Path(), help="the CDK app (its cdk.json); default: .")
    parser.add_argument("--app", help="the app command for cdk synth (default: cdk.json's)")
    parser.add_argument(
        "--fail-on",
        type=_categories,
        default=[],
        help=f"exit 1 when any warning of these categories is found: {','.join(CATEGORIES)}",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    app_dir: Path = args.app_dir.resolve()
    try:
        cli = find_cli_package(app_dir)
        with tempfile.TemporaryDirectory(prefix="template-diff-") as scratch:
            base, label = base_templates(
                args.base or default_base(app_dir), app_dir, Path(scratch), cli=cli, app=args.app
            )
            if args.head is not None:
                head = read_templates(args.head)
            else:
                head = synth(app_dir, Path(scratch) / "head.out", cli=cli, app=args.app)
        stacks = diff_assemblies(base, head, load_spec(cli))
    except DiffError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    warnings = check(stacks)
    print(f"Comparing {args.head or 'the working tree'} with {label}\n")
    for stack in stacks:
        print("\n".join(stack_lines(stack, warnings)))
    print("\n".join(summary_lines(stacks, warnings)))
    failing = [warning for warning in warnings if warning.category in args.fail_on]
    if failing:
        print(f"\n{PROG}: {len(failing)} warning(s) in --fail-on {','.join(args.fail_on)}: failing")
        return EXIT_FAIL_ON
    return 0
