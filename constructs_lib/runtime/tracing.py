"""X-Ray tracing for Lambda handlers, paid for on the first invocation instead of at import.

Building a Powertools ``Tracer`` imports the X-Ray SDK and patches libraries, which would
triple a small handler module's import cost (its cold start). So:

- `traced` wraps a handler with a Tracer that patches only botocore: every AWS call still
  becomes a subsegment, without the cost of patching the other installed libraries on the SDK's
  list, which the handlers do not use (``Tracer()``'s default: sqlite3 at least).
- When Powertools would not trace anyway (POWERTOOLS_TRACE_DISABLED, outside Lambda, SAM or
  Chalice local), `traced` returns the handler itself and the X-Ray SDK is never imported: a
  disabled Tracer would still load it and build its recorder, to record nothing.
- A handler decorated with `traced_on_first_call` is wrapped on its first invocation, once per
  container.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Handler = Callable[[dict[str, Any], Any], T]


def tracing_enabled() -> bool:
    """Whether a Powertools Tracer would trace here: in Lambda, not disabled, not emulated locally.

    The same switches, read the same way, as ``Tracer`` itself (its rule is a private method).
    """
    from aws_lambda_powertools.shared import constants  # noqa: PLC0415 - deferred: see the module docstring
    from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice  # noqa: PLC0415

    if resolve_truthy_env_var_choice(env=os.getenv(constants.TRACER_DISABLED_ENV, "false")):
        return False
    local = os.getenv(constants.SAM_LOCAL_ENV) or os.getenv(constants.CHALICE_LOCAL_ENV)
    return bool(os.getenv(constants.LAMBDA_TASK_ROOT_ENV)) and not local


def traced(handler: Handler[T], *, capture_response: bool = True) -> Handler[T]:
    """`handler` in an X-Ray subsegment, its AWS calls traced; `handler` itself when tracing is off.

    `capture_response=False` keeps the handler's result out of the trace's metadata (for results
    that hold secrets, such as presigned URLs).
    """
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools import Tracer  # noqa: PLC0415 - the point: only when tracing

    wrapped: Handler[T] = Tracer(patch_modules=("botocore",)).capture_lambda_handler(
        handler, capture_response=capture_response
    )
    return wrapped


def traced_on_first_call(handler: Handler[T]) -> Handler[T]:
    """`handler` wrapped by `traced` on its first invocation."""
    wrapped: Handler[T] | None = None

    @functools.wraps(handler)
    def invoke(event: dict[str, Any], context: Any) -> T:
        nonlocal wrapped
        if wrapped is None:
            wrapped = traced(handler)
        return wrapped(event, context)

    return invoke
