"""The template diff of a CDK app, as a command: ``constructs-lib-diff`` / ``python -m constructs_lib.diff``.

Compares every stack of the app with BASE (a git ref, synthesized in a temporary worktree, or a
directory of templates) and prints the resource changes in `cdk diff`'s notation, without the
CDK's noise (``CDKMetadata``, the bootstrap-version check, asset-hash-only changes), then loud
warnings for what loses or exposes data even without a replacement, and a summary per stack.

Exit status: 0 the diff was made; 1 a warning of a ``--fail-on`` category was found; 2 no diff
(unknown BASE, no aws-cdk CLI, a failed synth). Needs no AWS account: only the app's pinned CLI.
"""

from __future__ import annotations

from constructs_lib.diff._checks import CATEGORIES, STATEFUL_TYPES, Warning, check
from constructs_lib.diff._cli import main
from constructs_lib.diff._compare import StackDiff, diff_assemblies, read_templates
from constructs_lib.diff._spec import DiffError, ReplacementSpec, find_cli_package, load_spec

__all__ = [
    "CATEGORIES",
    "STATEFUL_TYPES",
    "DiffError",
    "ReplacementSpec",
    "StackDiff",
    "Warning",
    "check",
    "diff_assemblies",
    "find_cli_package",
    "load_spec",
    "main",
    "read_templates",
]
