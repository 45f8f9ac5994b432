"""UserDirectory: the app's end-user Cognito pool."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_cognito as cognito
from aws_cdk.assertions import Match, Template
from syrupy.assertion import SnapshotAssertion

from constructs_lib.user_directory import UserDirectory
from tests.cdk import cfn_lint_findings, new_app, new_stack, normalized, synth_templates


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    app = new_app()
    UserDirectory(new_stack(app, "Users"), "Users")
    UserDirectory(
        new_stack(app, "StrictUsers"),
        "Users",
        self_sign_up=False,
        mfa=cognito.Mfa.REQUIRED,
        feature_plan=cognito.FeaturePlan.PLUS,
        password_min_length=16,
        allow_password_auth=True,
        oauth=cognito.OAuthSettings(
            callback_urls=["https://app.example.org/signed-in"],
            logout_urls=["https://app.example.org/"],
            scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
        ),
    )
    return synth_templates(app)


@pytest.fixture(scope="module")
def template(templates: dict[str, dict[str, Any]]) -> Template:
    return Template.from_json(templates["Users"])


def test_users_sign_up_with_a_verified_email(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False},
            "UsernameAttributes": ["email"],
            "AutoVerifiedAttributes": ["email"],
            "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
        },
    )


def test_strong_password_policy(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "Policies": {
                "PasswordPolicy": {
                    "MinimumLength": 12,
                    "RequireLowercase": True,
                    "RequireUppercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": True,
                }
            }
        },
    )


def test_optional_totp_mfa_and_explicit_feature_plan(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {"MfaConfiguration": "OPTIONAL", "EnabledMfas": ["SOFTWARE_TOKEN_MFA"], "UserPoolTier": "ESSENTIALS"},
    )


def test_pool_keeps_its_users(template: Template) -> None:
    template.has_resource(
        "AWS::Cognito::UserPool",
        {"DeletionPolicy": "Retain", "Properties": Match.object_like({"DeletionProtection": "ACTIVE"})},
    )


def test_public_client_signs_in_with_srp_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "GenerateSecret": False,
            "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            "PreventUserExistenceErrors": "ENABLED",
            "EnableTokenRevocation": True,
            "IdTokenValidity": 60,
            "AccessTokenValidity": 60,
            "RefreshTokenValidity": 43200,
        },
    )


def test_oauth_is_off_unless_asked_for(template: Template) -> None:
    """CDK's default would allow the implicit grant with an https://example.com callback."""
    (client,) = template.find_resources("AWS::Cognito::UserPoolClient").values()
    properties = client["Properties"]
    assert properties.get("AllowedOAuthFlowsUserPoolClient") is not True
    for oauth_property in ("AllowedOAuthFlows", "CallbackURLs", "AllowedOAuthScopes"):
        assert oauth_property not in properties


def test_oauth_allows_only_the_code_grant_to_the_given_urls(templates: dict[str, dict[str, Any]]) -> None:
    Template.from_json(templates["StrictUsers"]).has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "AllowedOAuthFlowsUserPoolClient": True,
            "AllowedOAuthFlows": ["code"],
            "CallbackURLs": ["https://app.example.org/signed-in"],
            "LogoutURLs": ["https://app.example.org/"],
            "AllowedOAuthScopes": ["openid", "email"],
        },
    )


def test_ids_are_stack_outputs(template: Template) -> None:
    outputs = template.to_json()["Outputs"]
    (pool_id,) = [o for key, o in outputs.items() if "UserPoolId" in key]
    (client_id,) = [o for key, o in outputs.items() if "UserPoolClientId" in key]
    assert list(pool_id["Value"]) == ["Ref"]
    assert pool_id["Value"]["Ref"].startswith("UsersUserPool")
    assert client_id["Value"]["Ref"].startswith("UsersUserPoolAppClient")


def test_options(templates: dict[str, dict[str, Any]]) -> None:
    strict = Template.from_json(templates["StrictUsers"])
    strict.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "MfaConfiguration": "ON",
            "UserPoolTier": "PLUS",
            "UserPoolAddOns": {"AdvancedSecurityMode": "ENFORCED"},
            "Policies": {"PasswordPolicy": Match.object_like({"MinimumLength": 16})},
        },
    )
    strict.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {"ExplicitAuthFlows": Match.array_with(["ALLOW_USER_PASSWORD_AUTH"])},
    )


@pytest.mark.parametrize("stack", ["Users", "StrictUsers"])
def test_cfn_lint_clean(templates: dict[str, dict[str, Any]], stack: str) -> None:
    assert cfn_lint_findings(templates[stack]) == []


def test_snapshot(templates: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion) -> None:
    assert normalized(templates["Users"]) == snapshot_json


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"password_min_length": 6}, "password_min_length: 6 is outside Cognito's 8-99"),
        ({"id_token_validity": Duration.days(2)}, "id_token_validity: Cognito allows 5 minutes to 1 day"),
        ({"access_token_validity": Duration.minutes(1)}, "access_token_validity: Cognito allows 5 minutes"),
        ({"refresh_token_validity": Duration.minutes(30)}, "refresh_token_validity: Cognito allows 1 hour"),
        ({"refresh_token_validity": Duration.hours(1)}, "refresh_token_validity: must be longer than the ID"),
        ({"oauth": cognito.OAuthSettings()}, "oauth.callback_urls: is empty; list the app's sign-in"),
        (
            {
                "oauth": cognito.OAuthSettings(
                    flows=cognito.OAuthFlows(implicit_code_grant=True), callback_urls=["https://a.example"]
                )
            },
            "oauth.flows: the implicit grant returns tokens in the redirect URL",
        ),
        (
            {
                "oauth": cognito.OAuthSettings(
                    flows=cognito.OAuthFlows(client_credentials=True), callback_urls=["https://a.example"]
                )
            },
            "oauth.flows: client_credentials needs a client secret",
        ),
    ],
)
def test_invalid_props_raise(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"(?s)Test/Users: .*{message}"):
        UserDirectory(new_stack(new_app()), "Users", **props)
