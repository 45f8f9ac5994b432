"""ServerlessFunction's checks of what Lambda refuses at deployment or at the first invocation.

Kept apart from the construct so it reads top to bottom; every check names its source.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration

from constructs_lib import _resolved
from constructs_lib._validation import PropErrors, check_token_unit

# Lambda API Environment: "Key Pattern: [a-zA-Z]([a-zA-Z0-9_])+"
# (https://docs.aws.amazon.com/lambda/latest/api/API_Environment.html).
ENVIRONMENT_KEY = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")
# "The total size of all environment variables doesn't exceed 4 KB" (Lambda quotas,
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html); keys and values count.
ENVIRONMENT_MAX_BYTES = 4096
# Reserved keys Lambda sets itself and refuses in a function's configuration
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
RESERVED_ENVIRONMENT_KEYS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
# CreateFunction Description: "Length Constraints: Minimum length of 0. Maximum length of 256."
# (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html); aws-cdk-lib throws first.
DESCRIPTION_MAX_LENGTH = 256
# CreateFunction Handler: "Maximum length of 128. Pattern: [^\s]+" (same page).
HANDLER_MAX_LENGTH = 128


def check_seconds(
    errors: PropErrors, prop: str, duration: Duration, *, low_ms: int, high_ms: int, out_of_range: str
) -> None:
    """A Lambda setting in whole seconds within `low_ms`-`high_ms`; a token duration is not judged.

    Lambda's settings in seconds are integers, and aws-cdk-lib's `to_seconds()` throws through jsii on a
    fraction; a duration from a token (a CfnParameter) converts to milliseconds only by throwing too,
    and to seconds only when given in seconds.
    """
    if _resolved.is_unresolved_duration(duration):
        check_token_unit(errors, prop, duration, "seconds")
        return
    millis = _resolved.to_milliseconds(duration)
    if millis % 1000:
        errors.add(prop, f"{millis} ms is not a whole number of seconds; round it")
    errors.check(low_ms <= millis <= high_ms, prop, out_of_range)


def check_handler(errors: PropErrors, entry: Path, handler: str) -> None:
    """`handler` names a module file of the staged `entry` folder and a function defined in it.

    Lambda reports a missing module as Runtime.ImportModuleError and a missing function as
    Runtime.HandlerNotFound on every invocation. The module is parsed with `ast`, never imported:
    it may need packages only the function's asset has.
    """
    module, _, function_name = handler.rpartition(".")
    if (
        not module
        or not function_name.isidentifier()
        or not all(part.isidentifier() for part in module.split("."))
        or len(handler) > HANDLER_MAX_LENGTH
    ):
        errors.add(
            "handler",
            f"'{handler}' is not '<module>.<function>' (Python identifiers, at most {HANDLER_MAX_LENGTH} "
            "characters), e.g. 'handler.handler' for def handler() in handler.py",
        )
        return
    if not entry.is_dir():
        return  # `entry` is reported on its own
    relative = Path(*module.split("."))
    source = next(
        (path for path in (entry / f"{relative}.py", entry / relative / "__init__.py") if path.is_file()),
        None,
    )
    if source is None:
        errors.add(
            "handler",
            f"module '{module}' is not in '{entry}' (no {relative}.py); Lambda would fail every invocation "
            "with Runtime.ImportModuleError: point handler at a module of the entry folder",
        )
        return
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    except (SyntaxError, UnicodeDecodeError) as error:
        errors.add("handler", f"{source} does not parse as Python ({error}); fix the module")
        return
    defined = _top_level_names(tree)
    if defined is not None and function_name not in defined:
        errors.add(
            "handler",
            f"'{function_name}' is not defined at the top level of {source}; Lambda would fail every "
            "invocation with Runtime.HandlerNotFound: define it or name the function that handles events",
        )


def _top_level_names(tree: ast.Module) -> set[str] | None:
    """Names a module binds at its top level; None when it may bind others (``import *``, ``__getattr__``)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While):
            # Conditional definitions (try/except ImportError, if TYPE_CHECKING): any name bound inside.
            for child in ast.walk(node):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    names.add(child.name)
                elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    names.add(child.id)
                elif isinstance(child, ast.alias):
                    names.add(child.asname or child.name.split(".")[0])
    return None if "__getattr__" in names else names


def check_environment(errors: PropErrors, environment: Mapping[str, str]) -> None:
    """Keys Lambda accepts, none of its reserved ones, and at most 4 KB in all (when concrete)."""
    size = 0
    for key, value in environment.items():
        if _resolved.is_unresolved_str(key):
            continue
        if not ENVIRONMENT_KEY.fullmatch(key):
            errors.add(
                "environment",
                f"key '{key}' is not a valid name; start with a letter and use letters, digits and "
                "underscores (at least 2 characters)",
            )
        elif key in RESERVED_ENVIRONMENT_KEYS:
            errors.add(
                "environment", f"key '{key}' is reserved by Lambda, which sets it itself; use another name"
            )
        if not _resolved.is_unresolved_str(value):
            size += len(key.encode()) + len(value.encode())
    errors.check(
        size <= ENVIRONMENT_MAX_BYTES,
        "environment",
        f"the variables take {size} bytes, over Lambda's {ENVIRONMENT_MAX_BYTES} bytes (4 KB) for all "
        "keys and values; keep large settings in SSM Parameter Store or S3",
    )
