"""ServerlessApi: endpoint types, CORS on errors, request validation, authorizers, stage defaults."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib import AlarmSettings, ApiAlarms, ApiAuthorizers, ApiStage, CustomDomain
from constructs_lib.serverless_api import AuthorizationMode, CorsPolicy, ServerlessApi
from constructs_lib.serverless_function import ServerlessFunction
from tests.cdk import cfn_lint_findings, new_app, new_stack, normalized, synth_templates

ECHO = Path(__file__).resolve().parent.parent / "fixtures" / "echo_function"
APP_ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://admin.example.com"
VPCE_IDS = ("vpce-0123456789abcdef0", "vpce-0fedcba9876543210")
WEB_ACL_ARN = "arn:aws:wafv2:us-east-1:111111111111:regional/webacl/api/0a1b2c3d"
GROUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "visibility": {"enum": ["private", "shared"]},
        "limits": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
    },
    "additionalProperties": False,
}
PUBLIC_REASON = "Health checks from the load balancer carry no credentials and the route returns only 'ok'."


def _function(stack: Stack, name: str = "Handler") -> lambda_.IFunction:
    return ServerlessFunction(stack, name, entry=ECHO).function


def _regional(stack: Stack) -> ServerlessApi:
    """The reference app's shape: Cognito, one CORS origin, schemas, required query parameters."""
    handler = _function(stack)
    pool = cognito.UserPool.from_user_pool_id(stack, "Users", "us-east-1_Example")
    api = ServerlessApi(
        stack,
        "Api",
        cors=CorsPolicy(allow_origins=[APP_ORIGIN]),
        authorizers=ApiAuthorizers(user_pools=[pool]),
        default_authorization=AuthorizationMode.COGNITO,
    )
    api.add_route("POST", "/groups", handler, request_schema=GROUP_SCHEMA)
    api.add_route("GET", "/groups/{groupId}/images", handler, required_query_parameters=["limit"])
    api.add_route(
        "GET", "/search", handler, authorization_scopes=["images/read"], required_headers=["X-Trace"]
    )
    api.add_route(
        "GET", "/health", handler, authorization=AuthorizationMode.NONE, public_reason=PUBLIC_REASON
    )
    api.grant_invoke(iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal()), "GET", "/health")
    return api


def _edge(stack: Stack) -> ServerlessApi:
    api = ServerlessApi(
        stack,
        "Api",
        endpoint_type=apigw.EndpointType.EDGE,
        cors=CorsPolicy(
            allow_origins=[APP_ORIGIN, OTHER_ORIGIN],
            allow_methods=["GET", "PUT"],
            allow_headers=["Content-Type", "Authorization"],
            allow_credentials=True,
            max_age=Duration.hours(1),
        ),
    )
    api.add_route("GET", "/items/{itemId}", _function(stack))
    return api


def _private(stack: Stack) -> ServerlessApi:
    endpoints = [
        ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
            stack, f"Endpoint{index}", vpc_endpoint_id=endpoint_id, port=443
        )
        for index, endpoint_id in enumerate(VPCE_IDS)
    ]
    api = ServerlessApi(stack, "Api", endpoint_type=apigw.EndpointType.PRIVATE, vpc_endpoints=endpoints)
    api.add_route("ANY", "/{proxy+}", _function(stack))
    return api


def _options(stack: Stack) -> ServerlessApi:
    """Every other option: Lambda authorizers, API keys, mapping templates, domain, WAF, alarms, cache."""
    handler = _function(stack)
    api = ServerlessApi(
        stack,
        "Api",
        api_name="orders",
        description="Orders API",
        stage=ApiStage(
            name="prod",
            access_log_retention=logs.RetentionDays.ONE_MONTH,
            throttling_rate_limit=50,
            throttling_burst_limit=80,
            cache_cluster_size="0.5",
            cache_ttl=Duration.minutes(2),
            web_acl_arn=WEB_ACL_ARN,
        ),
        cors=CorsPolicy(allow_origins=["*"]),
        authorizers=ApiAuthorizers(
            token_authorizer=_function(stack, "TokenCheck"),
            token_identity_source="method.request.header.X-Token",
            request_authorizer=_function(stack, "RequestCheck"),
            request_identity_sources=[
                "method.request.header.Authorization",
                "method.request.querystring.tenant",
            ],
            cache_ttl=Duration.minutes(1),
        ),
        default_authorization=AuthorizationMode.TOKEN,
        cloud_watch_role=True,
        custom_domain=CustomDomain(
            domain_name="api.example.com",
            certificate=acm.Certificate.from_certificate_arn(
                stack, "Certificate", "arn:aws:acm:us-east-1:111111111111:certificate/0a1b2c3d"
            ),
            base_path="v1",
        ),
        alarms=ApiAlarms(
            topic=sns.Topic.from_topic_arn(stack, "Alarms", "arn:aws:sns:us-east-1:111111111111:alarms"),
            server_error_rate_threshold=0.05,
            latency_p99_threshold=Duration.seconds(2),
        ),
    )
    api.add_route("GET", "/orders", handler)
    api.add_route("POST", "/orders", handler, authorization=AuthorizationMode.REQUEST, api_key_required=True)
    api.add_route(
        "GET",
        "/orders/{orderId}",
        handler,
        authorization=AuthorizationMode.IAM,
        request_templates={"application/json": '{"orderId": "$input.params(\'orderId\')"}'},
        response_templates={"application/json": "$input.json('$.order')"},
    )
    plan = api.add_usage_plan("Partners", rate_limit=10, burst_limit=20, quota_limit=10000)
    api.add_api_key("PartnerKey", usage_plan=plan)
    return api


BUILDERS: dict[str, Callable[[Stack], ServerlessApi]] = {
    "Regional": _regional,
    "Edge": _edge,
    "Private": _private,
    "Options": _options,
}


@pytest.fixture(scope="module")
def built() -> tuple[dict[str, ServerlessApi], dict[str, dict[str, Any]]]:
    app = new_app()
    apis = {name: build(new_stack(app, name)) for name, build in BUILDERS.items()}
    return apis, synth_templates(app)


@pytest.fixture(scope="module")
def templates(built: tuple[dict[str, ServerlessApi], dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return built[1]


@pytest.fixture(scope="module")
def regional(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Regional"])


@pytest.fixture(scope="module")
def edge(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Edge"])


@pytest.fixture(scope="module")
def private(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Private"])


@pytest.fixture(scope="module")
def options(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Options"])


def _method(template: Template, verb: str, resource_prefix: str) -> dict[str, Any]:
    """Properties of the `verb` method whose logical id starts with Api<resource_prefix>."""
    found = template.find_resources("AWS::ApiGateway::Method", {"Properties": {"HttpMethod": verb}})
    matches = [
        r["Properties"]
        for logical_id, r in found.items()
        if logical_id.startswith(f"Api{resource_prefix}{verb}")
    ]
    assert len(matches) == 1, sorted(found)
    return dict(matches[0])


def _stage(template: Template) -> dict[str, Any]:
    (stage,) = template.find_resources("AWS::ApiGateway::Stage").values()
    return dict(stage["Properties"])


# Endpoint types


def test_regional_endpoint_by_default(regional: Template) -> None:
    regional.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"EndpointConfiguration": {"Types": ["REGIONAL"]}}
    )


def test_edge_endpoint(edge: Template) -> None:
    edge.has_resource_properties("AWS::ApiGateway::RestApi", {"EndpointConfiguration": {"Types": ["EDGE"]}})


def test_private_endpoint_is_bound_to_its_vpc_endpoints(private: Template) -> None:
    private.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {"EndpointConfiguration": {"Types": ["PRIVATE"], "VpcEndpointIds": list(VPCE_IDS)}},
    )


def test_private_endpoint_policy_allows_only_through_vpc_endpoints(private: Template) -> None:
    (api,) = private.find_resources("AWS::ApiGateway::RestApi").values()
    deny, allow = api["Properties"]["Policy"]["Statement"]
    for statement in (deny, allow):
        assert statement["Action"] == "execute-api:Invoke"
        assert statement["Resource"] == "execute-api:/*"
        assert statement["Principal"] == {"AWS": "*"}
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"StringNotEquals": {"aws:SourceVpce": list(VPCE_IDS)}}
    assert allow["Effect"] == "Allow"
    assert allow["Condition"] == {"StringEquals": {"aws:SourceVpce": list(VPCE_IDS)}}


def test_public_endpoints_have_no_resource_policy(regional: Template, edge: Template) -> None:
    for template in (regional, edge):
        template.has_resource_properties("AWS::ApiGateway::RestApi", {"Policy": Match.absent()})


def test_greedy_proxy_route(private: Template) -> None:
    method = _method(private, "ANY", "proxy")
    assert method["RequestParameters"] == {"method.request.path.proxy": True}
    assert method["Integration"]["Type"] == "AWS_PROXY"


# Stage


def test_stage_defaults(regional: Template) -> None:
    stage = _stage(regional)
    assert stage["StageName"] == "dev"
    assert stage["TracingEnabled"] is True
    assert stage["CacheClusterEnabled"] is False
    assert stage["MethodSettings"] == [
        {
            "CachingEnabled": False,
            "DataTraceEnabled": False,
            "HttpMethod": "*",
            "LoggingLevel": "INFO",
            "MetricsEnabled": True,
            "ResourcePath": "/*",
            "ThrottlingBurstLimit": 200,
            "ThrottlingRateLimit": 100,
        }
    ]


def test_access_logs_are_json_in_a_retained_log_group(regional: Template) -> None:
    access = _stage(regional)["AccessLogSetting"]
    fields = json.loads(access["Format"])
    for field in ("requestId", "status", "errorMessage", "validationError", "authorizerError", "xrayTraceId"):
        assert field in fields
    log_groups = regional.find_resources("AWS::Logs::LogGroup")
    access_group = next(logical_id for logical_id in log_groups if logical_id.startswith("ApiAccessLogs"))
    assert log_groups[access_group]["Properties"]["RetentionInDays"] == 365
    assert log_groups[access_group]["DeletionPolicy"] == "Retain"
    assert access["DestinationArn"]["Fn::Join"][1][1] == {"Ref": access_group}


def test_no_account_cloudwatch_role_by_default(regional: Template, edge: Template, private: Template) -> None:
    for template in (regional, edge, private):
        template.resource_count_is("AWS::ApiGateway::Account", 0)


def test_cloudwatch_role_on_request(options: Template) -> None:
    options.resource_count_is("AWS::ApiGateway::Account", 1)
    options.has_resource(
        "AWS::IAM::Role",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [Match.object_like({"Principal": {"Service": "apigateway.amazonaws.com"}})]
                }
            },
        },
    )


def test_stage_options(options: Template) -> None:
    stage = _stage(options)
    assert stage["StageName"] == "prod"
    assert (stage["CacheClusterEnabled"], stage["CacheClusterSize"]) == (True, "0.5")
    (settings,) = stage["MethodSettings"]
    assert settings["CachingEnabled"] is True
    assert settings["CacheDataEncrypted"] is True
    assert settings["CacheTtlInSeconds"] == 120
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (50, 80)
    options.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"Name": "orders", "Description": "Orders API"}
    )


def test_url_is_a_stack_output(built: tuple[dict[str, ServerlessApi], dict[str, dict[str, Any]]]) -> None:
    apis, templates = built
    outputs = templates["Regional"]["Outputs"]
    (endpoint,) = [output for name, output in outputs.items() if name.startswith("ApiEndpoint")]
    assert endpoint["Value"]["Fn::Join"][1][0] == "https://"
    api = apis["Regional"]
    assert api.stage.node.path == "Regional/Api/Api/DeploymentStage.dev"
    assert Stack.of(api).resolve(api.url) == endpoint["Value"]


# CORS


def test_preflight_on_every_resource(regional: Template) -> None:
    resources = regional.find_resources("AWS::ApiGateway::Resource")
    preflights = regional.find_resources("AWS::ApiGateway::Method", {"Properties": {"HttpMethod": "OPTIONS"}})
    assert len(preflights) == len(resources) + 1  # plus the root
    for preflight in preflights.values():
        props = preflight["Properties"]
        assert props["AuthorizationType"] == "NONE"
        (response,) = props["Integration"]["IntegrationResponses"]
        assert response["StatusCode"] == "204"
        assert response["ResponseParameters"]["method.response.header.Access-Control-Allow-Origin"] == (
            f"'{APP_ORIGIN}'"
        )
        assert response["ResponseParameters"]["method.response.header.Access-Control-Max-Age"] == "'600'"


@pytest.mark.parametrize("response_type", ["DEFAULT_4XX", "DEFAULT_5XX"])
def test_gateway_error_responses_carry_cors_headers(regional: Template, response_type: str) -> None:
    regional.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": response_type,
            "ResponseParameters": {
                "gatewayresponse.header.Access-Control-Allow-Origin": f"'{APP_ORIGIN}'",
                "gatewayresponse.header.Access-Control-Allow-Headers": (
                    "'Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token'"
                ),
                "gatewayresponse.header.Access-Control-Allow-Methods": "'GET,POST,PUT,PATCH,DELETE'",
            },
        },
    )


def test_several_origins_echo_the_request_origin_with_credentials(edge: Template) -> None:
    responses = edge.find_resources("AWS::ApiGateway::GatewayResponse")
    assert len(responses) == 4  # DEFAULT_4XX, DEFAULT_5XX, BAD_REQUEST_BODY, BAD_REQUEST_PARAMETERS
    for response in responses.values():
        assert response["Properties"]["ResponseParameters"] == {
            "gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin",
            "gatewayresponse.header.Access-Control-Allow-Headers": "'Content-Type,Authorization'",
            "gatewayresponse.header.Access-Control-Allow-Methods": "'GET,PUT'",
            "gatewayresponse.header.Access-Control-Allow-Credentials": "'true'",
            "gatewayresponse.header.Vary": "'Origin'",
        }
    preflight = _method(edge, "OPTIONS", "itemsitemId")
    (integration_response,) = preflight["Integration"]["IntegrationResponses"]
    template = integration_response["ResponseTemplates"]["application/json"]
    assert f'$origin == "{OTHER_ORIGIN}"' in template


def test_no_cors_means_no_preflight_and_no_cors_headers(private: Template) -> None:
    responses = private.find_resources("AWS::ApiGateway::GatewayResponse")
    assert sorted(response["Properties"]["ResponseType"] for response in responses.values()) == [
        "BAD_REQUEST_BODY",
        "BAD_REQUEST_PARAMETERS",
    ]
    assert all("ResponseParameters" not in response["Properties"] for response in responses.values())
    private.resource_properties_count_is("AWS::ApiGateway::Method", {"HttpMethod": "OPTIONS"}, 0)


def test_cors_environment_for_handlers(
    built: tuple[dict[str, ServerlessApi], dict[str, dict[str, Any]]],
) -> None:
    apis, _ = built
    assert apis["Regional"].cors_environment == {
        "CORS_ALLOW_ORIGINS": APP_ORIGIN,
        "CORS_ALLOW_HEADERS": "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token",
        "CORS_ALLOW_CREDENTIALS": "false",
        "CORS_MAX_AGE": "600",
    }
    assert apis["Edge"].cors_environment == {
        "CORS_ALLOW_ORIGINS": f"{APP_ORIGIN},{OTHER_ORIGIN}",
        "CORS_ALLOW_HEADERS": "Content-Type,Authorization",
        "CORS_ALLOW_CREDENTIALS": "true",
        "CORS_MAX_AGE": "3600",
    }
    assert apis["Private"].cors_environment == {}


def test_wildcard_origin(options: Template) -> None:
    options.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseParameters": Match.object_like(
                {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}
            )
        },
    )


# Routes and validation


def test_one_validator_checks_body_and_parameters_on_every_route(regional: Template) -> None:
    regional.resource_count_is("AWS::ApiGateway::RequestValidator", 1)
    regional.has_resource_properties(
        "AWS::ApiGateway::RequestValidator", {"ValidateRequestBody": True, "ValidateRequestParameters": True}
    )
    routes = regional.find_resources(
        "AWS::ApiGateway::Method", {"Properties": {"HttpMethod": Match.any_value()}}
    )
    for logical_id, route in routes.items():
        if route["Properties"]["HttpMethod"] != "OPTIONS":
            assert "Ref" in route["Properties"]["RequestValidatorId"], logical_id


def test_schema_becomes_a_draft4_model_on_the_route(regional: Template) -> None:
    models = regional.find_resources("AWS::ApiGateway::Model")
    ((model_id, model),) = models.items()
    assert model["Properties"]["ContentType"] == "application/json"
    assert model["Properties"]["Schema"] == {
        "$schema": "http://json-schema.org/draft-04/schema#",
        **GROUP_SCHEMA,
    }
    method = _method(regional, "POST", "groups")
    assert method["RequestModels"] == {"application/json": {"Ref": model_id}}


def test_path_and_query_parameters_are_required(regional: Template) -> None:
    method = _method(regional, "GET", "groupsgroupIdimages")
    assert method["RequestParameters"] == {
        "method.request.path.groupId": True,
        "method.request.querystring.limit": True,
    }
    assert _method(regional, "GET", "search")["RequestParameters"] == {"method.request.header.X-Trace": True}


def test_routes_use_lambda_proxy_integrations_without_test_invoke_permissions(regional: Template) -> None:
    method = _method(regional, "POST", "groups")
    assert method["Integration"]["Type"] == "AWS_PROXY"
    for permission in regional.find_resources("AWS::Lambda::Permission").values():
        source = json.dumps(permission["Properties"]["SourceArn"])
        assert "test-invoke-stage" not in source


def test_mapping_templates_make_a_non_proxy_integration(options: Template) -> None:
    method = _method(options, "GET", "ordersorderId")
    integration = method["Integration"]
    assert integration["Type"] == "AWS"
    assert integration["PassthroughBehavior"] == "NEVER"
    assert integration["RequestTemplates"] == {
        "application/json": '{"orderId": "$input.params(\'orderId\')"}'
    }
    success, failure = integration["IntegrationResponses"]
    assert success["StatusCode"] == "200"
    assert success["ResponseTemplates"]["application/json"].endswith("$input.json('$.order')")
    assert "Access-Control-Allow-Origin = '*'" in success["ResponseTemplates"]["application/json"]
    assert (failure["StatusCode"], failure["SelectionPattern"]) == ("500", ".+")
    assert [response["StatusCode"] for response in method["MethodResponses"]] == ["200", "500"]


# Authorization


def test_cognito_routes(regional: Template) -> None:
    regional.resource_count_is("AWS::ApiGateway::Authorizer", 1)
    regional.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "COGNITO_USER_POOLS",
            "IdentitySource": "method.request.header.Authorization",
            "AuthorizerResultTtlInSeconds": 300,
        },
    )
    post = _method(regional, "POST", "groups")
    assert post["AuthorizationType"] == "COGNITO_USER_POOLS"
    assert "Ref" in post["AuthorizerId"]
    assert _method(regional, "GET", "search")["AuthorizationScopes"] == ["images/read"]


def test_public_route_needs_no_authorizer(regional: Template) -> None:
    health = _method(regional, "GET", "health")
    assert health["AuthorizationType"] == "NONE"
    assert "AuthorizerId" not in health


def test_iam_is_the_default_authorization(private: Template) -> None:
    assert _method(private, "ANY", "proxy")["AuthorizationType"] == "AWS_IAM"
    private.resource_count_is("AWS::ApiGateway::Authorizer", 0)


def test_grant_invoke_scopes_to_the_stage_method_and_path(regional: Template) -> None:
    regional.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "execute-api:Invoke",
                        "Effect": "Allow",
                        "Resource": {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:aws:execute-api:us-east-1:111111111111:",
                                    {"Ref": Match.string_like_regexp("^Api")},
                                    "/",
                                    {"Ref": Match.string_like_regexp("^ApiDeploymentStagedev")},
                                    "/GET/health",
                                ],
                            ]
                        },
                    }
                ]
            }
        },
    )


def test_lambda_token_and_request_authorizers(options: Template) -> None:
    options.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "TOKEN",
            "IdentitySource": "method.request.header.X-Token",
            "AuthorizerResultTtlInSeconds": 60,
        },
    )
    options.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {
            "Type": "REQUEST",
            "IdentitySource": "method.request.header.Authorization,method.request.querystring.tenant",
            "AuthorizerResultTtlInSeconds": 60,
        },
    )
    assert _method(options, "GET", "orders")["AuthorizationType"] == "CUSTOM"
    post = _method(options, "POST", "orders")
    assert (post["AuthorizationType"], post["ApiKeyRequired"]) == ("CUSTOM", True)
    assert post["AuthorizerId"] != _method(options, "GET", "orders")["AuthorizerId"]


def test_usage_plan_throttles_and_limits_its_api_keys(options: Template) -> None:
    options.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "Throttle": {"RateLimit": 10, "BurstLimit": 20},
            "Quota": {"Limit": 10000, "Period": "MONTH"},
            "ApiStages": [
                Match.object_like({"Stage": {"Ref": Match.string_like_regexp("^ApiDeploymentStageprod")}})
            ],
        },
    )
    options.resource_count_is("AWS::ApiGateway::ApiKey", 1)
    options.resource_count_is("AWS::ApiGateway::UsagePlanKey", 1)


# Domain, WAF, alarms


def test_custom_domain_with_tls12_and_base_path(options: Template) -> None:
    options.has_resource_properties(
        "AWS::ApiGateway::DomainName",
        {
            "DomainName": "api.example.com",
            "SecurityPolicy": "TLS_1_2",
            "RegionalCertificateArn": "arn:aws:acm:us-east-1:111111111111:certificate/0a1b2c3d",
            "EndpointConfiguration": {"Types": ["REGIONAL"]},
        },
    )
    options.has_resource_properties("AWS::ApiGateway::BasePathMapping", {"BasePath": "v1"})


def test_web_acl_association(options: Template, regional: Template) -> None:
    options.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation",
        {"WebACLArn": WEB_ACL_ARN, "ResourceArn": Match.any_value()},
    )
    regional.resource_count_is("AWS::WAFv2::WebACLAssociation", 0)


def test_alarms_on_server_error_rate_and_p99_latency(options: Template, regional: Template) -> None:
    options.resource_count_is("AWS::CloudWatch::Alarm", 2)
    topic = "arn:aws:sns:us-east-1:111111111111:alarms"
    options.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "5XXError",
            "Statistic": "Average",
            "Threshold": 0.05,
            "Dimensions": Match.array_with([{"Name": "Stage", "Value": Match.any_value()}]),
            "AlarmActions": [topic],
            "OKActions": [topic],
        },
    )
    options.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "Latency", "ExtendedStatistic": "p99", "Threshold": 2000, "AlarmActions": [topic]},
    )
    regional.resource_count_is("AWS::CloudWatch::Alarm", 0)


# Whole templates


@pytest.mark.parametrize("name", list(BUILDERS))
def test_cfn_lint_clean(templates: dict[str, dict[str, Any]], name: str) -> None:
    assert cfn_lint_findings(templates[name]) == []


@pytest.mark.parametrize("name", ["Edge", "Regional", "Private"])
def test_snapshot(templates: dict[str, dict[str, Any]], name: str, snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates[name]) == snapshot_json


# Bad input: every message names the prop and the fix


def _bad_api(**props: Any) -> None:
    ServerlessApi(new_stack(new_app()), "Bad", **props)


def _private_endpoint(stack: Stack) -> ec2.IInterfaceVpcEndpoint:
    return ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
        stack, "Endpoint", vpc_endpoint_id=VPCE_IDS[0], port=443
    )


def test_private_api_without_vpc_endpoints() -> None:
    with pytest.raises(ValueError, match=r"Test/Bad: vpc_endpoints: a PRIVATE API is reachable only through"):
        _bad_api(endpoint_type=apigw.EndpointType.PRIVATE)


def test_vpc_endpoints_on_a_regional_api() -> None:
    stack = new_stack(new_app())
    with pytest.raises(
        ValueError, match=r"vpc_endpoints: only a PRIVATE API uses VPC endpoints, this one is REGIONAL"
    ):
        ServerlessApi(stack, "Bad", vpc_endpoints=[_private_endpoint(stack)])


@pytest.mark.parametrize(
    ("cors", "message"),
    [
        (
            CorsPolicy(allow_origins=["*"], allow_credentials=True),
            r"cors.allow_origins: '\*' cannot be combined with allow_credentials=True",
        ),
        (CorsPolicy(allow_origins=[]), "cors.allow_origins: list at least one origin"),
        (
            CorsPolicy(allow_origins=["*", APP_ORIGIN]),
            r"cors.allow_origins: '\*' already allows every origin",
        ),
        (CorsPolicy(allow_origins=["https://app.example.com/"]), "is not an origin; use scheme://host"),
        (
            CorsPolicy(allow_origins=[APP_ORIGIN], allow_methods=["FETCH"]),
            "cors.allow_methods: 'FETCH' is not",
        ),
    ],
)
def test_invalid_cors(cors: CorsPolicy, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _bad_api(cors=cors)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"stage": ApiStage(throttling_burst_limit=50)},
            "stage.throttling_burst_limit: 50 is below stage.throttling_rate_limit 100",
        ),
        (
            {"stage": ApiStage(throttling_rate_limit=0, throttling_burst_limit=0)},
            "stage.throttling_rate_limit: must be more than 0",
        ),
        ({"stage": ApiStage(name="dev stage")}, "stage.name: 'dev stage' must be 1-128 letters"),
        (
            {"default_authorization": AuthorizationMode.COGNITO},
            "default_authorization: COGNITO authorization needs an authorizer; pass authorizers.user_pools",
        ),
        (
            {"default_authorization": AuthorizationMode.TOKEN},
            "default_authorization: TOKEN authorization needs an authorizer; pass "
            "authorizers.token_authorizer",
        ),
        (
            {"default_authorization": AuthorizationMode.REQUEST},
            "default_authorization: REQUEST authorization needs an authorizer; pass "
            "authorizers.request_authorizer",
        ),
        (
            {"default_authorization": AuthorizationMode.NONE},
            "default_authorization: NONE would make every route",
        ),
        (
            {"stage": ApiStage(cache_cluster_size="2")},
            "stage.cache_cluster_size: '2' is not one of API Gateway's sizes",
        ),
        (
            {"alarms": ApiAlarms(server_error_rate_threshold=5)},
            "alarms.server_error_rate_threshold: 5 is a fraction of requests",
        ),
        (
            {"alarms": ApiAlarms(server_error_rate_threshold=0.05)},
            r"alarms.topic: the API's alarms are given without an alarm topic: pass alarms.topic \(or "
            r"AlarmSettings.topics in alarms.settings\), or the alarms notify no one",
        ),
    ],
)
def test_invalid_props(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _bad_api(**props)


def test_custom_domain_on_a_private_api() -> None:
    stack = new_stack(new_app())
    certificate = acm.Certificate.from_certificate_arn(
        stack, "Cert", "arn:aws:acm:us-east-1:111111111111:certificate/x"
    )
    with pytest.raises(
        ValueError, match=r"custom_domain\.domain_name: this construct maps custom domains for EDGE"
    ):
        ServerlessApi(
            stack,
            "Bad",
            endpoint_type=apigw.EndpointType.PRIVATE,
            vpc_endpoints=[_private_endpoint(stack)],
            custom_domain=CustomDomain(domain_name="api.example.com", certificate=certificate),
        )


def test_alarm_settings_without_a_topic_name_the_grouped_props() -> None:
    with pytest.raises(ValueError) as raised:
        _bad_api(alarms=ApiAlarms(settings=AlarmSettings(alarms={"cpu": False})))
    assert str(raised.value) == (
        "Test/Bad: 2 invalid props:\n"
        "  - alarms.settings: are given without an alarm topic: pass alarms.topic (or AlarmSettings.topics), "
        "or the tuned alarms notify no one\n"
        "  - alarms.settings: names no alarm 'cpu' of the API's; its alarms are: latency_p99, "
        "server_error_rate"
    )


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(
        ValueError, match=r"Test/Bad: 2 invalid props:\n  - vpc_endpoints: .*\n  - stage.throttling_burst"
    ):
        _bad_api(endpoint_type=apigw.EndpointType.PRIVATE, stage=ApiStage(throttling_burst_limit=1))


@pytest.fixture
def route_api() -> tuple[ServerlessApi, lambda_.IFunction]:
    stack = new_stack(new_app())
    handler = lambda_.Function.from_function_arn(
        stack, "Handler", "arn:aws:lambda:us-east-1:111111111111:function:handler"
    )
    api = ServerlessApi(stack, "Api", cors=CorsPolicy(allow_origins=[APP_ORIGIN]))
    api.add_route("GET", "/items", handler)
    return api, handler


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "message"),
    [
        ("GET", "items", {}, r"add_route\(GET items\): path: 'items' is not a resource path"),
        ("GET", "/items/", {}, "path: '/items/' is not a resource path"),
        ("GET", "/items//x", {}, "path: '/items//x' is not a resource path"),
        (
            "GET",
            "/items/{id}/parts/{id}",
            {},
            "path: parameter 'id' appears twice in '/items/{id}/parts/{id}'",
        ),
        ("GET", "/it ems", {}, "path: 'it ems' in '/it ems' is not a valid path part"),
        (
            "GET",
            "/{path+}/x",
            {},
            r"path: the greedy parameter \{path\+\} in '/\{path\+\}/x' must be the last part",
        ),
        ("GET", "/items", {}, "method: GET /items is already routed; each method is added once per path"),
        ("FETCH", "/things", {}, "method: 'FETCH' is not one of GET"),
        ("OPTIONS", "/things", {}, "method: OPTIONS is the CORS preflight"),
        (
            "GET",
            "/things",
            {"authorization": AuthorizationMode.NONE},
            "public_reason: a route with AuthorizationMode.NONE is public",
        ),
        (
            "GET",
            "/things",
            {"public_reason": "Because."},
            "public_reason: only public routes take a reason; this one is authorized with IAM",
        ),
        (
            "GET",
            "/things",
            {"authorization": AuthorizationMode.COGNITO},
            "authorization: COGNITO authorization needs an authorizer; pass authorizers.user_pools",
        ),
        (
            "GET",
            "/things",
            {"authorization_scopes": ["read"]},
            "authorization_scopes: OAuth scopes apply to COGNITO",
        ),
        (
            "GET",
            "/things",
            {"required_query_parameters": ["a b"]},
            "required_query_parameters: 'a b' is not a valid",
        ),
        ("GET", "/things", {"required_headers": ["X:Y"]}, "required_headers: 'X:Y' is not a valid"),
        (
            "POST",
            "/things",
            {"request_schema": {"type": "object", "properties": {"name": {"type": "text"}}}},
            "request_schema: not a valid JSON Schema draft-04 at properties/name/type",
        ),
        (
            "POST",
            "/things",
            {"request_schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}},
            "request_schema: \\$schema is '.*draft-07/schema#'; API Gateway models support only",
        ),
        (
            "POST",
            "/things",
            {"request_schema": {"type": "object", "properties": {"id": {"const": 1}}}},
            "request_schema: schema.properties.id uses 'const', which is not a JSON Schema draft-04 keyword",
        ),
    ],
)
def test_invalid_routes(
    route_api: tuple[ServerlessApi, lambda_.IFunction],
    method: str,
    path: str,
    kwargs: dict[str, Any],
    message: str,
) -> None:
    api, handler = route_api
    with pytest.raises(ValueError, match=message):
        api.add_route(method, path, handler, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate_limit": 10, "burst_limit": 5}, "Test/Api/Plan: burst_limit: 5 is below rate_limit 10"),
        ({"rate_limit": 0, "burst_limit": 5}, "rate_limit: must be more than 0"),
        ({"rate_limit": 1, "burst_limit": 5, "quota_limit": 0}, "quota_limit: must be more than 0"),
    ],
)
def test_invalid_usage_plans(
    route_api: tuple[ServerlessApi, lambda_.IFunction], kwargs: dict[str, Any], message: str
) -> None:
    api, _ = route_api
    with pytest.raises(ValueError, match=message):
        api.add_usage_plan("Plan", **kwargs)
