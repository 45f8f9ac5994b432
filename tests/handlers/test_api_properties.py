"""Property tests: malformed requests on every route never produce a 5xx or an exception.

Random bodies (text, JSON of any shape, near-valid objects, base64 or not), headers, query
strings, path parameters and caller claims go to each handler; every answer must be a 2xx or
a 4xx with a JSON ``{"message": ...}``. One moto account and one search endpoint serve the module.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.handlers.conftest import (
    api_event,
    canned_opensearch,
    handler_module,
    invoke,
    seed_group,
    seed_images,
)


@dataclass(frozen=True)
class Route:
    module: str
    method: str
    resource: str

    @property
    def parameter(self) -> str | None:
        start = self.resource.find("{")
        return self.resource[start + 1 : self.resource.find("}")] if start >= 0 else None


ROUTES = [
    Route("groups_read", "GET", "/groups"),
    Route("groups_read", "GET", "/groups/{groupId}"),
    Route("groups_write", "POST", "/groups"),
    Route("images_read", "GET", "/groups/{groupId}/images"),
    Route("images_read", "GET", "/images/{imageId}"),
    Route("images_write", "POST", "/groups/{groupId}/images"),
    Route("search", "GET", "/images"),
]


@dataclass(frozen=True)
class Known:
    """Ids that exist, so examples reach past the 404s into validation and listing."""

    group_id: str
    image_id: str


@pytest.fixture(scope="module")
def known(api_aws: None) -> Iterator[Known]:
    group = seed_group("Fuzzed", "group")
    (image,) = seed_images(group["id"], ["fuzzed image"])
    with canned_opensearch() as server:
        server.reply = {"hits": {"hits": []}}
        yield Known(group["id"], image["newItem"]["imageId"])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
near_valid_bodies = st.dictionaries(
    st.sampled_from(["name", "description", "title", "id", "userId", "extra"]), json_values, max_size=4
)
bodies = st.one_of(
    st.none(),
    st.text(max_size=200),
    json_values.map(json.dumps),
    near_valid_bodies.map(json.dumps),
    st.binary(max_size=100).map(lambda raw: base64.b64encode(raw).decode()),
)
tokens = st.one_of(
    st.text(max_size=40),
    json_values.map(lambda value: base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")),
)
queries = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["limit", "nextKey", "q", "other"]),
        st.one_of(st.text(max_size=30), st.integers(-5, 500).map(str), tokens),
        max_size=4,
    ),
)
headers = st.one_of(
    st.none(),
    st.dictionaries(
        st.one_of(
            st.sampled_from(["Origin", "Content-Type", "Authorization"]), st.text(min_size=1, max_size=15)
        ),
        st.text(max_size=40),
        max_size=5,
    ),
)
claims = st.one_of(st.none(), st.fixed_dictionaries({"sub": st.text(max_size=40)}))


@dataclass(frozen=True)
class FuzzedRequest:
    body: str | None
    base64_body: bool
    query: dict[str, str] | None
    headers: dict[str, str] | None
    claims: dict[str, str] | None
    parameter: str


fuzzed_requests = st.builds(
    FuzzedRequest,
    body=bodies,
    base64_body=st.booleans(),
    query=queries,
    headers=headers,
    claims=claims,
    parameter=st.one_of(st.text(max_size=50), st.uuids().map(str), st.just("<known>")),
)


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.method} {route.resource}")
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=fuzzed_requests)
def test_malformed_requests_never_cause_a_5xx(known: Known, route: Route, request: FuzzedRequest) -> None:
    parameter = request.parameter
    path, path_parameters = route.resource, None
    if route.parameter:
        if parameter == "<known>":
            parameter = known.group_id if route.parameter == "groupId" else known.image_id
        path = route.resource.replace("{" + route.parameter + "}", parameter)
        path_parameters = {route.parameter: parameter}
    event = api_event(
        route.method,
        path,
        resource=route.resource,
        path_parameters=path_parameters,
        query=request.query,
        headers=request.headers,
        body=request.body,
        base64_body=request.base64_body and request.body is not None,
        claims=request.claims,
    )

    response = invoke(handler_module(route.module), event)

    assert response.status < 500, response.body
    if response.status >= 400:
        assert set(response.body) == {"message"}
        assert isinstance(response.body["message"], str)


def test_search_endpoint_is_configured(known: Known) -> None:
    assert handler_module("search").opensearch().endpoint.startswith("http://127.0.0.1:")
