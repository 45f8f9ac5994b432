"""Lambda function ARNs: the one rule for dropping a version or alias qualifier. No CDK import.

The local runner's Lambda API and Step Functions service and redrive all name a function by its
unqualified ARN (or name), whatever qualifier the caller gave. Lambda's FunctionName takes a name,
a partial ARN (``<account>:function:<name>``) or an ARN, each with or without a qualifier.
"""

from __future__ import annotations

# arn:aws:lambda:<region>:<account>:function:<name>[:<version or alias>]
_UNQUALIFIED_ARN_PARTS = 7
# <account>:function:<name>[:<version or alias>]
_UNQUALIFIED_PARTIAL_ARN_PARTS = 3


def _is_partial_arn(function: str) -> bool:
    parts = function.split(":")
    return len(parts) >= _UNQUALIFIED_PARTIAL_ARN_PARTS and parts[1] == "function"


def unqualified(function: str) -> str:
    """`function` (an ARN, a partial ARN or a name) without its version or alias, in the same form.

    ``arn:aws:lambda:us-east-1:111111111111:function:orders:live`` -> ``...:function:orders``;
    ``111111111111:function:orders:live`` -> ``111111111111:function:orders``;
    ``orders:$LATEST`` -> ``orders``; an unqualified ARN or name is returned as it is.
    """
    if function.startswith("arn:"):
        return ":".join(function.split(":")[:_UNQUALIFIED_ARN_PARTS])
    if _is_partial_arn(function):
        return ":".join(function.split(":")[:_UNQUALIFIED_PARTIAL_ARN_PARTS])
    return function.split(":", 1)[0]


def unqualified_arn(function: str, *, region: str, account: str) -> str:
    """The unqualified ARN of `function` (any form `unqualified` takes), in `region`; `account`
    unless a partial ARN names its own."""
    name = unqualified(function)
    if name.startswith("arn:"):
        return name
    if _is_partial_arn(name):
        account, _, name = name.split(":")
    return f"arn:aws:lambda:{region}:{account}:function:{name}"
