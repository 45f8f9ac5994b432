"""Routing a request to a method through the resource tree, as execute-api does.

``/<stage>/<resource path>``: literal parts before ``{param}`` before ``{proxy+}``, then the method
or ``ANY``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import unquote

from constructs_lib.local.rest_api._model import ApiDefinition, Call, GatewayError, Method, Resource


def route(api: ApiDefinition, call: Call) -> Method:
    stage, _, rest = call.request.path.lstrip("/").partition("/")
    if stage not in api.stages:
        raise GatewayError("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
    found = _match(api.root, [part for part in rest.split("/") if part], {})
    if found is None:
        raise GatewayError("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
    resource, parameters = found
    method = resource.methods.get(call.request.method) or resource.methods.get("ANY")
    if method is None:
        raise GatewayError("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
    call.stage, call.path, call.resource, call.path_parameters = stage, f"/{rest}", resource, parameters
    return method


def walk(resource: Resource) -> Iterator[Resource]:
    yield resource
    for child in sorted(resource.children, key=lambda child: child.part):
        yield from walk(child)


def _match(
    resource: Resource, parts: Sequence[str], parameters: dict[str, str]
) -> tuple[Resource, dict[str, str]] | None:
    """The resource a request path's parts reach, literal parts first, and its path parameters."""
    if not parts:
        return resource, parameters
    for child in resource.children:
        if child.rank == 2:
            return child, {**parameters, child.parameter: unquote("/".join(parts))}
        if child.rank == 1:
            found = _match(child, parts[1:], {**parameters, child.parameter: unquote(parts[0])})
        else:
            found = _match(child, parts[1:], parameters) if child.part == parts[0] else None
        if found is not None:
            return found
    return None
