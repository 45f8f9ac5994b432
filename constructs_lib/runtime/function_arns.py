"""Lambda function ARNs: the one rule for dropping a version or alias qualifier. No CDK import.

The local runner's Lambda API and Step Functions service and redrive all name a function by its
unqualified ARN (or name), whatever qualifier the caller gave.
"""

from __future__ import annotations

# arn:aws:lambda:<region>:<account>:function:<name>[:<version or alias>]
_UNQUALIFIED_ARN_PARTS = 7


def unqualified(function: str) -> str:
    """`function` (an ARN or a name) without its version or alias.

    ``arn:aws:lambda:us-east-1:111111111111:function:orders:live`` -> ``...:function:orders``;
    ``orders:$LATEST`` -> ``orders``; an unqualified ARN or name is returned as it is.
    """
    if function.startswith("arn:"):
        return ":".join(function.split(":")[:_UNQUALIFIED_ARN_PARTS])
    return function.split(":", 1)[0]
