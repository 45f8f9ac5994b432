"""A construct's path in one jsii round trip instead of two.

`construct.node.path` is two calls into Node.js (`node`, then its `path`); a construct's
`Construct.toString()` returns the same path (construct.ts: ``this.node.path || '<root>'``) in one.
Of the constructs of aws-cdk-lib, `constructs` and this library, only `CfnResource` overrides it
(``<path> [<type>]``); any other class may, so a CfnResource, a construct of any other library or
app, and the root (an App: an empty path, string ``<root>``) are asked for their `node.path`.
tests/constructs/test_paths.py compares both ways.
"""

from __future__ import annotations

from aws_cdk import App, CfnResource
from constructs import Construct, IConstruct

# Modules whose construct classes keep `Construct.toString()` (CfnResource aside).
_PATH_AS_STRING = ("aws_cdk.", "constructs", "constructs_lib.")


def path_of(construct: IConstruct) -> str:
    """`construct.node.path`, in one jsii call where the construct's string is its path."""
    if (
        isinstance(construct, Construct)
        and type(construct).__module__.startswith(_PATH_AS_STRING)
        and not isinstance(construct, (CfnResource, App))
    ):
        path: str = construct.to_string()
        return path
    return construct.node.path
