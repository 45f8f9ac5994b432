"""UserDirectory: the Cognito user pool an app's end users sign up and sign in with.

Creates: one Cognito user pool and one public app client (no secret: browsers and mobile
apps cannot keep one) for SRP sign-in, and stack outputs with their ids for client setup.
OAuth (the managed login pages) is off unless `oauth` names the app's redirect URLs; then only
the authorization code grant is allowed, never the implicit grant that returns tokens in URLs.

Defaults: self sign-up on with verified email as the username; passwords of 12+ characters
with all character classes; optional TOTP MFA; email-only account recovery; the Essentials
feature plan; 1-hour ID and access tokens, 30-day refresh tokens with revocation; deletion
protection on and RETAIN, since the pool holds the users.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from constructs_lib import _resolved
from constructs_lib._cognito import DEFAULT_PASSWORD_MIN_LENGTH, strong_password_policy
from constructs_lib._protection import check_disposable, record_reason, weakened_removal_policy
from constructs_lib._validation import PropErrors, check_token_unit
from constructs_lib.compliance import Acknowledged, acknowledge_all

DEFAULT_TOKEN_VALIDITY = _resolved.hours(1)  # short-lived bearer tokens; refresh tokens renew them
DEFAULT_REFRESH_TOKEN_VALIDITY = _resolved.days(30)
# CreateUserPoolClient: CallbackURLs and LogoutURLs hold at most 100 items of 1-1024 characters.
MAX_REDIRECT_URLS = 100
MAX_REDIRECT_URL_LENGTH = 1024


class UserDirectory(Construct):
    """A Cognito user pool for end users, with a public SRP app client.

    Attributes: `user_pool` (the L2 `UserPool`) and `client` (the `UserPoolClient`).
    Use `user_pool` with `ServerlessApi` Cognito authorization.

    Protections: the pool has deletion protection and is RETAINed. A `removal_policy` other than
    RETAIN lets the users (and their passwords and MFA devices) go with the stack, so it needs
    `disposable_data_reason`: one sentence saying why they are disposable; deletion protection is
    then off too, or CloudFormation could not delete the pool (both written into the template).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        self_sign_up: bool = True,
        mfa: cognito.Mfa = cognito.Mfa.OPTIONAL,
        password_min_length: int = DEFAULT_PASSWORD_MIN_LENGTH,
        feature_plan: cognito.FeaturePlan = cognito.FeaturePlan.ESSENTIALS,
        id_token_validity: Duration = DEFAULT_TOKEN_VALIDITY,
        access_token_validity: Duration = DEFAULT_TOKEN_VALIDITY,
        refresh_token_validity: Duration = DEFAULT_REFRESH_TOKEN_VALIDITY,
        allow_password_auth: bool = False,
        oauth: cognito.OAuthSettings | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        disposable_data_reason: str | None = None,
    ) -> None:
        errors = PropErrors(scope, construct_id)
        weakened = weakened_removal_policy(removal_policy)
        check_disposable(errors, weakened, disposable_data_reason, "the users")
        if oauth is not None:
            _check_oauth(errors, oauth)
        min_length_token = _resolved.is_unresolved_number(password_min_length)
        errors.check(
            min_length_token or 8 <= password_min_length <= 99,
            "password_min_length",
            f"{password_min_length} is outside Cognito's 8-99; use 12 or more",
        )
        validities = {
            "id_token_validity": id_token_validity,
            "access_token_validity": access_token_validity,
            "refresh_token_validity": refresh_token_validity,
        }
        tokens = {name for name, validity in validities.items() if _resolved.is_unresolved_duration(validity)}
        # A validity from a token (a CfnParameter) is not judged, it resolves at deploy; Cognito's
        # client takes it in minutes (TokenValidityUnits), the unit it must come in.
        for name, validity in validities.items():
            if name in tokens:
                check_token_unit(errors, name, validity, "minutes")
        # Milliseconds, never to_seconds()/to_minutes(): those throw through jsii on a fraction.
        millis = {
            name: _resolved.to_milliseconds(validity)
            for name, validity in validities.items()
            if name not in tokens
        }
        for name in ("id_token_validity", "access_token_validity"):
            errors.check(
                name not in millis or 300_000 <= millis[name] <= 86_400_000,
                name,
                "Cognito allows 5 minutes to 1 day; keep bearer tokens short-lived",
            )
        refresh_ms = millis.get("refresh_token_validity")
        errors.check(
            refresh_ms is None or 3_600_000 <= refresh_ms <= 10 * 365 * 86_400_000,
            "refresh_token_validity",
            "Cognito allows 1 hour to 10 years",
        )
        errors.check(
            len(millis) < len(validities)
            or millis["refresh_token_validity"]
            > max(millis["id_token_validity"], millis["access_token_validity"]),
            "refresh_token_validity",
            "must be longer than the ID and access token validity",
        )
        # aws-cdk-lib writes the validities in whole minutes (CfnUserPoolClient TokenValidityUnits) and
        # throws through jsii on a fraction of one.
        for name, value in millis.items():
            errors.check(
                value % 60_000 == 0, name, f"{value / 60_000:g} minutes is not a whole number of minutes"
            )
        errors.raise_if_any()
        super().__init__(scope, construct_id)

        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=self_sign_up,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            keep_original=cognito.KeepOriginalAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=strong_password_policy(
                DEFAULT_PASSWORD_MIN_LENGTH if min_length_token else password_min_length
            ),
            mfa=mfa,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=feature_plan,
            # Threat protection exists only on the Plus plan; there, block risky sign-ins outright.
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION
            if feature_plan == cognito.FeaturePlan.PLUS
            else None,
            deletion_protection=not weakened,
            removal_policy=removal_policy,
        )
        record_reason(self.user_pool, disposable_data_reason)
        self.client = self.user_pool.add_client(
            "AppClient",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True, user_password=allow_password_auth),
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            # aws-cdk-lib range-checks the validities and throws through jsii on a token: a token goes
            # on the CfnUserPoolClient below, the default meanwhile.
            id_token_validity=DEFAULT_TOKEN_VALIDITY if "id_token_validity" in tokens else id_token_validity,
            access_token_validity=DEFAULT_TOKEN_VALIDITY
            if "access_token_validity" in tokens
            else access_token_validity,
            refresh_token_validity=DEFAULT_REFRESH_TOKEN_VALIDITY
            if "refresh_token_validity" in tokens
            else refresh_token_validity,
            # Without settings CDK would allow the implicit grant with an https://example.com callback.
            disable_o_auth=oauth is None,
            o_auth=_code_grant_only(oauth) if oauth is not None else None,
        )
        if min_length_token:
            # aws-cdk-lib range-checks it and throws through jsii on a token, which Cognito checks instead.
            cfn_pool = self.user_pool.node.default_child
            assert isinstance(cfn_pool, cognito.CfnUserPool)
            cfn_pool.add_property_override("Policies.PasswordPolicy.MinimumLength", password_min_length)
        if tokens:
            cfn_client = self.client.node.default_child
            assert isinstance(cfn_client, cognito.CfnUserPoolClient)
            for cfn_name, name in (
                ("IdTokenValidity", "id_token_validity"),
                ("AccessTokenValidity", "access_token_validity"),
                ("RefreshTokenValidity", "refresh_token_validity"),
            ):
                if name in tokens:
                    cfn_client.add_property_override(cfn_name, validities[name].to_minutes())
        CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id, description="Cognito user pool id")
        CfnOutput(
            self,
            "UserPoolClientId",
            value=self.client.user_pool_client_id,
            description="Cognito app client id (public, no secret)",
        )
        findings: list[Acknowledged] = []
        if mfa != cognito.Mfa.REQUIRED:
            findings.append(
                Acknowledged(
                    "End users of a public app enrol TOTP MFA themselves; requiring it at sign-up would "
                    "lock out users without an authenticator app. Pass mfa=Mfa.REQUIRED to enforce it.",
                    cdk_nag=["AwsSolutions-COG2"],
                )
            )
        if feature_plan != cognito.FeaturePlan.PLUS:
            findings.append(
                Acknowledged(
                    "Threat protection (adaptive authentication) needs the Plus feature plan, a per-user "
                    "cost the owner opts into with feature_plan=FeaturePlan.PLUS.",
                    cdk_nag=["AwsSolutions-COG8"],
                )
            )
        if findings:
            acknowledge_all(self.user_pool, *findings)


def _check_oauth(errors: PropErrors, oauth: cognito.OAuthSettings) -> None:
    errors.check(
        bool(oauth.callback_urls),
        "oauth.callback_urls",
        "is empty; list the app's sign-in redirect URLs (CDK would otherwise use https://example.com)",
    )
    flows = oauth.flows
    errors.check(
        not (flows and flows.implicit_code_grant),
        "oauth.flows",
        "the implicit grant returns tokens in the redirect URL; use authorization_code_grant (with PKCE)",
    )
    errors.check(
        not (flows and flows.client_credentials),
        "oauth.flows",
        "client_credentials needs a client secret, which this public client does not have",
    )
    for prop, urls in (
        ("oauth.callback_urls", oauth.callback_urls),
        ("oauth.logout_urls", oauth.logout_urls),
    ):
        errors.check(
            len(urls or ()) <= MAX_REDIRECT_URLS,
            prop,
            f"{len(urls or ())} URLs exceed Cognito's {MAX_REDIRECT_URLS} per app client",
        )
        for url in urls or ():
            problem = _redirect_url_problem(url)
            if problem:
                errors.add(prop, f"'{url}' {problem}")
    default = oauth.default_redirect_uri
    errors.check(
        default is None or default in (oauth.callback_urls or ()),
        "oauth.default_redirect_uri",
        f"'{default}' is not one of callback_urls; add it there or choose one of them",
    )


def _redirect_url_problem(url: str) -> str | None:
    """Why Cognito refuses `url` as a callback or sign-out URL, or None.

    CreateUserPoolClient CallbackURLs: "must be an absolute URI ... must not include a fragment
    component ... Amazon Cognito requires HTTPS over HTTP except for http://localhost for testing
    purposes only. App callback URLs such as myapp://example are also supported"; 1-1024 characters
    (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html).
    """
    if _resolved.is_unresolved_str(url):
        return None
    parsed = urlsplit(url)
    if not parsed.scheme or not (parsed.netloc or parsed.path):
        return "is not an absolute URL; write it with its scheme, like https://app.example.com/callback"
    if len(url) > MAX_REDIRECT_URL_LENGTH:
        return f"is longer than Cognito's {MAX_REDIRECT_URL_LENGTH} characters"
    if parsed.fragment or url.endswith("#"):
        return "has a fragment (#...), which Cognito refuses in redirect URLs; remove it"
    if parsed.scheme == "http" and parsed.hostname not in ("localhost", "127.0.0.1"):
        return "uses http, which Cognito allows only for localhost; use https"
    return None


def _code_grant_only(oauth: cognito.OAuthSettings) -> cognito.OAuthSettings:
    """`oauth` with the authorization code grant as its only flow (CDK's default adds the implicit one)."""
    return cognito.OAuthSettings(
        flows=cognito.OAuthFlows(authorization_code_grant=True),
        callback_urls=oauth.callback_urls,
        logout_urls=oauth.logout_urls,
        scopes=oauth.scopes,
        default_redirect_uri=oauth.default_redirect_uri,
    )
