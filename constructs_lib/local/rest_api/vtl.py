"""API Gateway mapping templates (Velocity, VTL) evaluated locally, with API Gateway's variables.

The engine is airspeed-ext (the Velocity dialect AWS services use: string literals keep their
backslashes, Java string methods such as ``replaceAll``). The variables are API Gateway's:
``$input`` (``body``, ``json(path)``, ``path(path)``, ``params()``, ``params(name)``), ``$util``
(``escapeJavaScript``, ``parseJson``, ``urlEncode``, ``urlDecode``, ``base64Encode``,
``base64Decode``), ``$context`` (the proxy event's request context, plus ``responseOverride``)
and ``$stageVariables``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import airspeed  # type: ignore[import-untyped]
from jsonpath_ng.ext import parse as jsonpath  # type: ignore[attr-defined]


class TemplateError(ValueError):
    """A mapping template that does not evaluate (API Gateway answers 500)."""


class _Util:
    """``$util``."""

    def escapeJavaScript(self, value: Any) -> str:  # noqa: N802 -- API Gateway's name
        # JavaScript string escaping: JSON's, plus the single quote.
        return json.dumps("" if value is None else str(value))[1:-1].replace("'", "\\'")

    def parseJson(self, value: str) -> Any:  # noqa: N802 -- API Gateway's name
        return json.loads(value)

    def urlEncode(self, value: str) -> str:  # noqa: N802 -- API Gateway's name
        return quote(str(value), safe="")

    def urlDecode(self, value: str) -> str:  # noqa: N802 -- API Gateway's name
        return unquote(str(value))

    def base64Encode(self, value: str) -> str:  # noqa: N802 -- API Gateway's name
        return base64.b64encode(str(value).encode()).decode()

    def base64Decode(self, value: str) -> str:  # noqa: N802 -- API Gateway's name
        return base64.b64decode(str(value)).decode()


class _Input:
    """``$input``: the body (request or integration response) and the request's parameters."""

    def __init__(self, body: str, params: Mapping[str, Mapping[str, str]]) -> None:
        self.body = body
        self._params = params

    def _document(self) -> Any:
        try:
            return json.loads(self.body) if self.body.strip() else {}
        except ValueError as error:
            raise TemplateError(f"the body is not JSON: {error}") from None

    def _select(self, path: str) -> Any:
        document = self._document()
        if path in ("$", ""):
            return document
        found = [match.value for match in jsonpath(path).find(document)]
        return found[0] if len(found) == 1 else (found or None)

    def json(self, path: str) -> str:
        """The JSON text of what `path` selects in the body."""
        return json.dumps(self._select(path))

    def path(self, path: str) -> Any:
        """What `path` selects in the body, as an object (a string stays a string)."""
        return self._select(path)

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return {location: dict(values) for location, values in self._params.items()}
        for location in ("path", "querystring", "header"):
            if name in self._params.get(location, {}):
                return self._params[location][name]
        return ""


@dataclass
class Rendered:
    """A template's output and the response overrides it set (``$context.responseOverride``)."""

    text: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


def render(
    template: str,
    *,
    body: str,
    params: Mapping[str, Mapping[str, str]],
    context: Mapping[str, Any],
    stage_variables: Mapping[str, str],
) -> Rendered:
    """Evaluate `template`; raises TemplateError when it does not evaluate."""
    override: dict[str, Any] = {"header": {}}
    namespace = {
        "input": _Input(body, params),
        "util": _Util(),
        "context": {**context, "responseOverride": override},
        "stageVariables": dict(stage_variables),
    }
    try:
        text = airspeed.Template(template).merge(namespace)
    except TemplateError:
        raise
    except Exception as error:  # airspeed raises its own errors and whatever a method raised
        raise TemplateError(f"{type(error).__name__}: {error}") from None
    status = override.get("status")
    headers = {str(name): str(value) for name, value in override.get("header", {}).items()}
    return Rendered(text, int(status) if status not in (None, "") else None, headers)
