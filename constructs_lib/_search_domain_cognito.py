"""SearchDomain's Dashboards sign-in: the Cognito user pool and its domain, the identity pool, the
authenticated users' role, and the service role OpenSearch uses to configure Cognito.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from constructs import Construct

from constructs_lib._cognito import strong_password_policy
from constructs_lib._nag import acknowledge
from constructs_lib.compliance import Acknowledged, acknowledge_all

_COGNITO_SERVICE_POLICY = "AmazonOpenSearchServiceCognitoAccess"


@dataclass(frozen=True)
class DashboardsSignIn:
    user_pool: cognito.UserPool
    user_pool_domain: cognito.UserPoolDomain
    identity_pool: cognito.CfnIdentityPool
    identity_pool_id: str  # its ref, read through jsii once
    authenticated_role: iam.Role
    authenticated_role_arn: str  # read through jsii once
    cognito_service_role: iam.Role


def dashboards_sign_in(
    scope: Construct, path: str, prefix: str, mfa: cognito.Mfa, feature_plan: cognito.FeaturePlan
) -> DashboardsSignIn:
    """Everything Cognito-side, created in `scope` (the SearchDomain, whose path is `path`)."""
    user_pool, user_pool_domain = _user_pool(scope, prefix, mfa, feature_plan)
    identity_pool = cognito.CfnIdentityPool(
        scope,
        "IdentityPool",
        allow_unauthenticated_identities=False,
        # Only the enhanced flow: the classic flow would let clients pick any role.
        allow_classic_flow=False,
    )
    identity_pool_id = identity_pool.ref
    authenticated_role = iam.Role(
        scope,
        "AuthenticatedRole",
        description=f"Dashboards users of {path}, signed in through Cognito",
        assumed_by=iam.FederatedPrincipal(
            "cognito-identity.amazonaws.com",
            conditions={
                "StringEquals": {"cognito-identity.amazonaws.com:aud": identity_pool_id},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
            },
            assume_role_action="sts:AssumeRoleWithWebIdentity",
        ),
    )
    authenticated_role_arn = authenticated_role.role_arn
    cognito.CfnIdentityPoolRoleAttachment(
        scope,
        "IdentityPoolRoles",
        identity_pool_id=identity_pool_id,
        roles={"authenticated": authenticated_role_arn},
    )
    cognito_service_role = iam.Role(
        scope,
        "CognitoServiceRole",
        description=f"Lets OpenSearch Service configure Cognito sign-in for {path}",
        assumed_by=iam.ServicePrincipal("opensearchservice.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(_COGNITO_SERVICE_POLICY)],
    )
    acknowledge(
        cognito_service_role,
        f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{_COGNITO_SERVICE_POLICY}]",
        "OpenSearch Service requires this AWS managed policy on the role it uses to create the "
        "Dashboards app client in the user pool and identity pool.",
    )
    return DashboardsSignIn(
        user_pool,
        user_pool_domain,
        identity_pool,
        identity_pool_id,
        authenticated_role,
        authenticated_role_arn,
        cognito_service_role,
    )


def _user_pool(
    scope: Construct, prefix: str, mfa: cognito.Mfa, feature_plan: cognito.FeaturePlan
) -> tuple[cognito.UserPool, cognito.UserPoolDomain]:
    user_pool = cognito.UserPool(
        scope,
        "UserPool",
        self_sign_up_enabled=False,
        sign_in_aliases=cognito.SignInAliases(email=True, username=False),
        auto_verify=cognito.AutoVerifiedAttrs(email=True),
        password_policy=strong_password_policy(),
        mfa=mfa,
        # TOTP apps only: SMS needs an SNS role and spend limits, and is weaker.
        mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
        account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
        feature_plan=feature_plan,
        deletion_protection=True,
        removal_policy=RemovalPolicy.RETAIN,
    )
    findings: list[Acknowledged] = []
    if mfa == cognito.Mfa.OPTIONAL:
        findings.append(
            Acknowledged(
                "MFA is optional by the caller's explicit choice (mfa=Mfa.OPTIONAL); by default it is "
                "required.",
                cdk_nag=["AwsSolutions-COG2"],
            )
        )
    if feature_plan != cognito.FeaturePlan.PLUS:
        findings.append(
            Acknowledged(
                "Threat protection needs the PLUS feature plan, a cost the caller chooses with "
                "feature_plan; sign-up is closed and MFA is on, so only invited users can sign in.",
                cdk_nag=["AwsSolutions-COG8"],
            )
        )
    if findings:
        acknowledge_all(user_pool, *findings)
    domain = user_pool.add_domain("Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=prefix))
    return user_pool, domain
