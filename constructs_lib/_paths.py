"""A construct's path in one jsii round trip instead of two.

`construct.node.path` is two calls into Node.js (`node`, then its `path`); constructs'
`Construct.toString()` returns the same path (construct.ts: ``this.node.path || '<root>'``) in one,
and no construct of aws-cdk-lib or of this library overrides it. Only the root (an App) differs:
its path is empty, its string ``<root>``. tests/constructs/test_service_dashboard.py compares them.
"""

from __future__ import annotations

from constructs import Construct, IConstruct


def path_of(construct: IConstruct) -> str:
    """`construct.node.path`, for any construct but the root, in one jsii call."""
    return construct.to_string() if isinstance(construct, Construct) else construct.node.path
