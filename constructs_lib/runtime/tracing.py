"""X-Ray tracing for Lambda handlers, paid for on the first invocation instead of at import.

Building a Powertools ``Tracer`` imports the X-Ray SDK (~100 ms) and patches libraries,
which would triple a small handler module's import cost (its cold start). A handler
decorated with `traced_on_first_call` builds its Tracer when first invoked, once per
container, and patches only botocore: every AWS call still becomes a subsegment.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Handler = Callable[[dict[str, Any], Any], T]


def traced_on_first_call(handler: Handler[T]) -> Handler[T]:
    """`handler` traced with X-Ray through a Tracer built on the first invocation."""
    wrapped: Handler[T] | None = None

    @functools.wraps(handler)
    def invoke(event: dict[str, Any], context: Any) -> T:
        nonlocal wrapped
        if wrapped is None:
            from aws_lambda_powertools import Tracer  # noqa: PLC0415 - the point: not at import

            wrapped = Tracer(patch_modules=("botocore",)).capture_lambda_handler(handler)
        return wrapped(event, context)

    return invoke
