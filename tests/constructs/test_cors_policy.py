"""CorsPolicy (issue #25): one origin rule for every construct, and one policy whose forms agree.

Each form is read the way its consumer reads it: the handlers' environment through the runtime's
`cors_config_from_env`, the preflight, gateway responses and mapped responses through the local
runner's rendering of API Gateway. A form that drifts from the others fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import CorsPolicy, ImageStore, ServerlessApi
from constructs_lib.cors_policy import origin_problem
from constructs_lib.local.rest_api._model import Call, HttpRequest, Method
from constructs_lib.local.rest_api.responses import mapped_headers, mock, render_template
from constructs_lib.runtime.cors import cors_config_from_env
from tests.cdk import new_app, new_stack

APP = "https://app.example.com"
ADMIN = "https://admin.example.com:8443"
STRANGER = "https://evil.example.net"

POLICIES = {
    "one origin": CorsPolicy(allow_origins=[APP]),
    "several origins with credentials": CorsPolicy(
        allow_origins=[APP, ADMIN], allow_credentials=True, max_age=Duration.minutes(5)
    ),
    "any origin": CorsPolicy(allow_origins=["*"], allow_headers=["Content-Type", "Idempotency-Key"]),
}


@pytest.mark.parametrize(
    ("origin", "valid"),
    [
        ("https://my_app.example.com", False),  # '_' is no host character: the reported disagreement
        ("https://*.example.com", False),  # a pattern: the API and handlers compare exactly
        ("https://app.example.com/", False),
        ("https://app.example.com:99999", False),
        ("app.example.com", False),
        ("http://localhost:3000", True),
        ("http://127.0.0.1:8080", True),
        (ADMIN, True),
        ("*", True),
    ],
)
def test_serverless_api_and_image_store_apply_the_same_origin_rule(origin: str, valid: bool) -> None:
    app = new_app()
    outcomes = []
    for name, build in (
        ("Api", lambda stack: ServerlessApi(stack, "Api", cors=CorsPolicy(allow_origins=[origin]))),
        ("Store", lambda stack: ImageStore(stack, "Store", cors_allowed_origins=[origin])),
    ):
        try:
            build(new_stack(app, name))
        except ValueError as error:
            assert "is not an origin" in str(error)
            outcomes.append(False)
        else:
            outcomes.append(True)
    assert outcomes == [valid, valid]
    assert (origin_problem(origin) is None) == valid


@pytest.fixture(scope="module")
def preflights() -> dict[str, dict[str, Any]]:
    """Each policy's OPTIONS method as CDK synthesizes it."""
    app = App()
    stacks = {}
    for index, (name, policy) in enumerate(POLICIES.items()):
        stacks[name] = Stack(app, f"Cors{index}")
        apigw.RestApi(stacks[name], "Api", default_cors_preflight_options=policy.preflight(), deploy=False)
    methods = {}
    for name, stack in stacks.items():
        (options,) = (
            Template.from_stack(stack)
            .find_resources("AWS::ApiGateway::Method", {"Properties": {"HttpMethod": "OPTIONS"}})
            .values()
        )
        methods[name] = options["Properties"]
    return methods


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for variable in ("CORS_ALLOW_ORIGINS", "CORS_ALLOW_HEADERS", "CORS_ALLOW_CREDENTIALS", "CORS_MAX_AGE"):
        monkeypatch.delenv(variable, raising=False)
    yield monkeypatch


def _call(origin: str) -> Call:
    return Call(HttpRequest("OPTIONS", "/", [], [("Origin", origin)], b""))


def _preflight(method: dict[str, Any], origin: str) -> dict[str, str]:
    options = Method(
        http_method="OPTIONS",
        authorization_type="NONE",
        authorizer=None,
        scopes=(),
        api_key_required=False,
        required_parameters=(),
        validate_parameters=False,
        validate_body=False,
        models={},
        integration_type="MOCK",
        integration=method["Integration"],
        function_arn=None,
    )
    return dict(mock(_call(origin), options).headers)


def _forms(policy: CorsPolicy, preflight: dict[str, Any], origin: str, environ: pytest.MonkeyPatch) -> Any:
    for variable, value in policy.environment().items():
        environ.setenv(variable, value)
    handler = cors_config_from_env().to_dict(origin)
    gateway_parameters = {
        f"gatewayresponse.header.{k}": v for k, v in policy.gateway_response_headers().items()
    }
    gateway = dict(mapped_headers(_call(origin), gateway_parameters, "gatewayresponse.header."))
    rendered = render_template(policy.mapped_response_vtl(), [("Origin", origin)])
    assert rendered is not None, "the local runner cannot evaluate the mapped-response VTL"
    return handler, _preflight(preflight, origin), gateway, rendered[0]


@pytest.mark.parametrize("name", POLICIES)
def test_every_form_allows_the_listed_origins_alike(
    name: str, preflights: dict[str, dict[str, Any]], environ: pytest.MonkeyPatch
) -> None:
    policy = POLICIES[name]
    for origin in [o for o in policy.allow_origins if o != "*"] or [APP]:
        handler, preflight, gateway, mapped = _forms(policy, preflights[name], origin, environ)
        for form in (handler, preflight, gateway, mapped):
            assert form["Access-Control-Allow-Origin"] in (origin, "*"), (name, form)
            assert form.get("Access-Control-Allow-Credentials") == (
                "true" if policy.allow_credentials else None
            ), (name, form)
            if form["Access-Control-Allow-Origin"] != "*" and len(policy.allow_origins) > 1:
                assert form.get("Vary") == "Origin", (name, form)
        # A cache must not serve one origin's answer to another wherever an origin is echoed.
        assert handler.get("Vary") == ("Origin" if handler["Access-Control-Allow-Origin"] != "*" else None)
        assert set(policy.allow_headers) <= set(handler["Access-Control-Allow-Headers"].split(","))
        assert preflight["Access-Control-Allow-Headers"].split(",") == list(policy.allow_headers)
        assert gateway["Access-Control-Allow-Headers"].split(",") == list(policy.allow_headers)
        assert gateway["Access-Control-Allow-Methods"] == preflight["Access-Control-Allow-Methods"]
        max_age = str(int(policy.max_age.to_seconds()))
        assert handler["Access-Control-Max-Age"] == preflight["Access-Control-Max-Age"] == max_age


@pytest.mark.parametrize("name", ["one origin", "several origins with credentials"])
def test_no_form_but_the_gateway_error_responses_allows_an_unlisted_origin(
    name: str, preflights: dict[str, dict[str, Any]], environ: pytest.MonkeyPatch
) -> None:
    policy = POLICIES[name]
    handler, preflight, gateway, mapped = _forms(policy, preflights[name], STRANGER, environ)

    assert handler == {}
    assert mapped == {}
    assert preflight.get("Access-Control-Allow-Origin") != STRANGER
    # Documented trade-off: API Gateway's own error responses cannot choose from a list, so with
    # several origins they echo the request's Origin (they carry only API Gateway's messages).
    expected = STRANGER if len(policy.allow_origins) > 1 else policy.allow_origins[0]
    assert gateway["Access-Control-Allow-Origin"] == expected


def test_the_bucket_rule_lists_the_policy_origins() -> None:
    policy = POLICIES["several origins with credentials"]

    rule = policy.bucket_cors_rule("Rule", [s3.HttpMethods.GET], exposed_headers=["ETag"])

    assert (rule.id, rule.allowed_origins, rule.max_age) == ("Rule", [APP, ADMIN], 300)
    assert rule.allowed_methods == [s3.HttpMethods.GET]
