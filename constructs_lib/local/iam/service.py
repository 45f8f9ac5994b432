"""IAM enforcement as a service of the local run: every SDK call and delivery checked before it happens.

- SDK calls: a check in front of the embedded moto server (``context.aws.checks``) maps each request
  to its IAM authorizations (`wire`, `actions`) and decides them as its signer: a function's
  execution role (each worker signs with its own key), a role session assumed through STS (the
  image store's presign role: presigned URLs act as the role that signed them), the runner's own
  clients (``local``: an administrator, not checked) or an anonymous caller. The same check answers
  for the endpoints the runner serves in AWS's place: a WebSocket API's ``@connections`` and
  OpenSearch domains.
- Deliveries (``context.delivery_checks``): a service principal (S3, SNS, EventBridge, Scheduler)
  invoking a function, publishing to a topic or sending to a queue, against the resource's policy,
  with ``aws:SourceArn`` / ``aws:SourceAccount``; and to an encrypted topic, the key policy too.
- API Gateway invoking a function: the function's Lambda permissions, for the method's ARN.

In ``report`` mode nothing is refused, only logged; ``off`` adds no check at all.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from moto.sts.models import sts_backends

from constructs_lib.local._aws import RUNNER_ACCESS_KEY, AwsRequest, AwsResponse
from constructs_lib.local._service import DeliveryRequest, ServiceContext
from constructs_lib.local._types import Invocation, Invoker, TemplateView
from constructs_lib.local._workers import display_name_of
from constructs_lib.local.iam import app_policies
from constructs_lib.local.iam.actions import accesses
from constructs_lib.local.iam.app_policies import AppResources
from constructs_lib.local.iam.authorizer import Authorizer, Mode
from constructs_lib.local.iam.calls import Access, ApiCall
from constructs_lib.local.iam.errors import access_denied, message
from constructs_lib.local.iam.policy import Principal
from constructs_lib.local.iam.report import least_privilege_report, summary_lines
from constructs_lib.local.iam.wire import HttpRequest, api_call, model_protocol, signature, unsigned_allowed

log = logging.getLogger("constructs_lib.local.iam")
_AWS_SUFFIX = ".amazonaws.com"


class IamEnforcement:
    """The `LocalService` that enforces the app's IAM policies in one `Mode`."""

    name = "iam"

    def __init__(self, mode: Mode | str = Mode.ENFORCE) -> None:
        self.mode = Mode(mode)
        self.authorizer: Authorizer | None = None
        self.report_path: Path | None = None  # set by the runner: beside its state file
        self.report: dict[str, Any] | None = None
        self._resources: AppResources | None = None
        self._functions: dict[str, tuple[str, str]] = {}  # function ARN -> (display name, role ARN)
        self._domains: dict[str, str] = {}  # OpenSearch endpoint host -> domain ARN
        self._context: ServiceContext | None = None
        self._lock = threading.Lock()

    # LocalService ----------------------------------------------------------------------------

    def start(self, context: ServiceContext) -> None:
        self._context = context
        mode = getattr(context.options, "iam", None)
        if mode is not None:
            self.mode = Mode(mode)
        if self.mode == Mode.OFF:
            return
        authorizer = Authorizer(account=context.account, region=context.region, mode=self.mode)
        self._resources = app_policies.load(authorizer, context.assembly.stacks)
        for stack in context.assembly.stacks:
            self._read_functions(stack, authorizer)
            for logical_id in stack.resources_of_type("AWS::OpenSearchService::Domain"):
                host = str(stack.resolve({"Fn::GetAtt": [logical_id, "DomainEndpoint"]}))
                self._domains[host] = str(stack.resolve({"Fn::GetAtt": [logical_id, "Arn"]}))
        authorizer.add_resolver(self._assumed_role)
        self.authorizer = authorizer
        context.aws.checks.append(self.check_request)
        context.delivery_checks.append(self.check_delivery)
        context.invoker = ApiGatewayInvoker(context.invoker, self)
        for stack in context.assembly.stacks:
            self._check_alarm_actions(stack)

    def _check_alarm_actions(self, stack: TemplateView) -> None:
        """Alarms do not run locally, so whether each could notify its topics is decided at start."""
        assert self._context is not None
        for logical_id, resource in stack.resources_of_type("AWS::CloudWatch::Alarm").items():
            properties = stack.resolve(resource.get("Properties", {}))
            region, account = self._context.region, self._context.account
            alarm = f"arn:aws:cloudwatch:{region}:{account}:alarm:{stack.ref(logical_id)}"
            actions = [*properties.get("AlarmActions", []), *properties.get("OKActions", [])]
            for topic in sorted(
                {str(action) for action in actions if str(action).startswith("arn:aws:sns:")}
            ):
                refusal = self.check_delivery(
                    DeliveryRequest("cloudwatch.amazonaws.com", "sns:Publish", topic, alarm)
                )
                if refusal is not None:
                    log.warning(
                        "IAM: alarm %s/%s could not notify %s in AWS (alarms do not run locally): %s",
                        stack.stack_name,
                        logical_id,
                        topic,
                        refusal,
                    )

    def stop(self) -> None:
        if self.authorizer is None or self.report is not None:
            return
        self.report = least_privilege_report(self.authorizer)
        for line in summary_lines(self.report):
            log.info("%s", line)
        if self.report_path is not None:
            self.report_path.write_text(json.dumps(self.report, indent=2))
            log.info("IAM report written to %s", self.report_path)

    def banner(self) -> list[str]:
        if self.mode == Mode.OFF:
            return ["IAM: not enforced (--iam off)"]
        verb = "enforced" if self.mode == Mode.ENFORCE else "evaluated, denials only logged (--iam report)"
        roles = len(self.authorizer.roles) if self.authorizer else 0
        return [
            f"IAM: the app's policies are {verb} ({roles} roles); report at stop: {self.report_path or '-'}"
        ]

    def state(self) -> dict[str, Any]:
        return {
            "iam": {"mode": self.mode.value, "report": str(self.report_path) if self.report_path else None}
        }

    def not_emulated(self) -> list[str]:
        if self.mode == Mode.OFF:
            return ["IAM: policies are not enforced (--iam off); every call a function makes is allowed."]
        return [
            "IAM: SCPs, RCPs, permission boundaries, session policies and cross-account access are not "
            "evaluated; the local endpoint counts as HTTPS (aws:SecureTransport true).",
        ]

    # Who is calling --------------------------------------------------------------------------

    def _read_functions(self, stack: TemplateView, authorizer: Authorizer) -> None:
        for logical_id, resource in stack.resources_of_type("AWS::Lambda::Function").items():
            role = stack.resolve(resource.get("Properties", {}).get("Role"))
            arn = str(stack.resolve({"Fn::GetAtt": [logical_id, "Arn"]}))
            name = display_name_of(resource, logical_id)
            if isinstance(role, str) and role in authorizer.roles:
                self._functions[arn] = (name, role)
                existing = authorizer.callers.get(role)
                authorizer.callers[role] = f"{existing}, {name}" if existing else name

    def _assumed_role(self, access_key: str) -> Principal | None:
        """A session moto's STS handed out (AssumeRole): the role it assumed, named by its session.

        The embedded moto runs in this process: its STS backend knows every session's access key.
        """
        assert self.authorizer is not None
        backend = sts_backends[self.authorizer.account]["aws"]
        for session in list(backend.assumed_roles):
            if session.access_key_id == access_key:
                return self.authorizer.role_principal(session.role_arn, session.session_name)
        return None

    def _principal(self, request: AwsRequest) -> Principal | None:
        """The request's principal; None for the runner's own clients (not checked)."""
        assert self.authorizer is not None
        if request.access_key == RUNNER_ACCESS_KEY:
            return None
        if request.principal is not None and request.principal in self._functions:
            name, role = self._functions[request.principal]
            return self.authorizer.role_principal(role, name.rsplit("/", 1)[-1])
        return self.authorizer.principal_for(request.access_key)

    # Checks ----------------------------------------------------------------------------------

    def check_request(self, request: AwsRequest) -> AwsResponse | None:  # noqa: PLR0911 -- one return per kind of caller
        """The `AwsRequestCheck`: None lets the request through, a response denies it as AWS would."""
        assert self.authorizer is not None
        parts = urlsplit(request.url)
        if parts.path.startswith("/moto-api") or parts.path.endswith("/.well-known/jwks.json"):
            return None
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        http = HttpRequest(request.method, parts.path or "/", query, request.headers, request.body)
        call = self._call(http, parts.hostname or "")
        if call is None:
            return None
        if request.access_key is None and unsigned_allowed(call):
            return None
        if request.access_key is None:
            return self._anonymous_check(call)
        principal = self._principal(request)
        if principal is None:
            # The runner's own clients, or a script signing with keys the run never handed out:
            # the operator's requests, like an administrator's, are not checked.
            return None
        outcome = self.authorizer.check(
            principal, accesses(call, self._resources), caller=self._caller(principal)
        )
        denied = outcome.denied
        if outcome.allowed or denied is None:
            return None
        text = message(principal.name, denied)
        error = access_denied(call.service, model_protocol(call.service), text)
        return AwsResponse(error.status, list(error.headers), error.body)

    def _anonymous_check(self, call: ApiCall) -> AwsResponse | None:
        assert self.authorizer is not None
        anonymous = Principal("anonymous", "*", self.authorizer.account)
        outcome = self.authorizer.check(anonymous, accesses(call, self._resources), caller="anonymous")
        if outcome.allowed or outcome.denied is None:
            return None
        error = access_denied(
            call.service, model_protocol(call.service), message("anonymous", outcome.denied)
        )
        return AwsResponse(error.status, list(error.headers), error.body)

    def _caller(self, principal: Principal) -> str:
        assert self.authorizer is not None
        session = principal.session_arn.rsplit("/", 1)[-1]
        function = self.authorizer.callers.get(principal.arn, "")
        return (
            function if session and session in function else f"{principal.arn.rsplit('/', 1)[-1]} ({session})"
        )

    def _call(self, http: HttpRequest, host: str) -> ApiCall | None:
        assert self._context is not None
        region, account = self._context.region, self._context.account
        signer = signature(http.headers, http.query)
        context = {"aws:SecureTransport": "true", "s3:TlsVersion": "1.3", "aws:SourceIp": "127.0.0.1"}
        if _header(http.headers, "x-forwarded-proto") == "http":
            context = {"aws:SecureTransport": "false"}
        if host in self._domains:
            params = {"Method": http.method, "Path": http.path, "DomainArn": self._domains[host]}
            return ApiCall("opensearch-http", "es", "HttpRequest", params, region, account, context)
        if ".execute-api." in host:
            call = api_call(_without_stage(http), signing_name="execute-api", region=region, account=account)
            if call is None:
                return None
            stage = http.path.lstrip("/").split("/", 1)[0]
            params = {**call.params, "ApiId": host.split(".", 1)[0], "Stage": stage}
            return ApiCall(call.service, call.signing_name, call.operation, params, region, account, context)
        service = signer.service if signer else _unsigned_service(http)
        call = api_call(http, signing_name=service, region=region, account=account)
        if call is None:
            log.debug("IAM: no operation of %s matches %s %s; not checked", service, http.method, http.path)
            return None
        return ApiCall(call.service, call.signing_name, call.operation, call.params, region, account, context)

    def check_delivery(self, request: DeliveryRequest) -> str | None:
        """The `DeliveryCheck`: a refusal in AWS's words, or None to let the delivery happen."""
        assert self.authorizer is not None and self._context is not None
        if request.principal in self.authorizer.roles:  # a role a service assumes (Scheduler's target role)
            service = (request.source_arn or "arn:aws:service").split(":")[2]
            refusal = self.check_assume_role(f"{service}{_AWS_SUFFIX}", request.principal, request.source_arn)
            if refusal is not None:
                return refusal
            principal = self.authorizer.role_principal(request.principal, service)
            caller = f"{request.principal.rsplit('/', 1)[-1]} (assumed by {service})"
        elif request.principal.startswith("arn:"):
            if request.principal not in self._functions:
                return None
            name, role = self._functions[request.principal]
            principal = self.authorizer.role_principal(role, name.rsplit("/", 1)[-1])
            caller = name
        else:
            principal = Principal("service", request.principal, self.authorizer.account)
            caller = request.principal
        if principal is None:
            return None
        context = {"aws:SecureTransport": "true", "aws:SourceAccount": self.authorizer.account}
        if request.source_arn:
            context["aws:SourceArn"] = request.source_arn
        needed = [Access(request.action, request.resource, context)]
        key = self._resources.encryption_key(request.resource) if self._resources else None
        if key is not None and request.action in ("sns:Publish", "sqs:SendMessage"):
            # Publishing to an encrypted topic or queue: the sender needs the key too.
            via = {
                **context,
                "kms:ViaService": f"{request.resource.split(':')[2]}.{self.authorizer.region}{_AWS_SUFFIX}",
            }
            key_arn = self._resources.key_arn(key) if self._resources else key
            needed += [Access("kms:GenerateDataKey", key_arn, via), Access("kms:Decrypt", key_arn, via)]
        outcome = self.authorizer.check(principal, needed, caller=caller)
        denied = outcome.denied
        if outcome.allowed or denied is None:
            return None
        return message(principal.name, denied)

    def check_assume_role(self, service: str, role_arn: str, source_arn: str | None) -> str | None:
        """`service` (``scheduler.amazonaws.com``) assuming `role_arn` for `source_arn`: the role's trust
        policy must allow it, with the condition keys AWS passes; a refusal in AWS's words, else None.
        """
        assert self.authorizer is not None
        context = {"aws:SecureTransport": "true", "aws:SourceAccount": self.authorizer.account}
        trusted_source = _assuming_source_arn(source_arn)
        if trusted_source:
            context["aws:SourceArn"] = trusted_source
        principal = Principal("service", service, self.authorizer.account)
        outcome = self.authorizer.check(
            principal, [Access("sts:AssumeRole", role_arn, context)], caller=service
        )
        if outcome.allowed or outcome.denied is None:
            return None
        return message(principal.name, outcome.denied)

    def check_invoke(self, function_arn: str, event: Mapping[str, Any]) -> str | None:
        """API Gateway invoking a function for a request: its Lambda permissions must allow the method."""
        assert self.authorizer is not None
        source = _api_source_arn(event, self.authorizer.region, self.authorizer.account)
        if source is None:
            return None
        principal = Principal("service", "apigateway.amazonaws.com", self.authorizer.account)
        context = {"aws:SourceArn": source, "aws:SourceAccount": self.authorizer.account}
        outcome = self.authorizer.check(
            principal,
            [Access("lambda:InvokeFunction", function_arn, context)],
            caller="apigateway.amazonaws.com",
        )
        if outcome.allowed or outcome.denied is None:
            return None
        return message(principal.name, outcome.denied)


class ApiGatewayInvoker:
    """The runner's invoker as API Gateway uses it: an invocation the function's permissions refuse fails."""

    def __init__(self, invoker: Invoker, enforcement: IamEnforcement) -> None:
        self._invoker = invoker
        self._enforcement = enforcement

    def invoke(self, function_arn: str, event: Mapping[str, Any]) -> Invocation:
        # Qualified when the route invokes an alias: Lambda checks the permission added on the alias.
        refusal = self._enforcement.check_invoke(function_arn, event)
        if refusal is not None:
            # API Gateway answers 500 when it may not invoke the integration's function.
            raise PermissionError(refusal)
        return self._invoker.invoke(function_arn, event)


def _api_source_arn(event: Mapping[str, Any], region: str, account: str) -> str | None:
    """The execute-api ARN API Gateway invokes a function as, from its event; None if not API Gateway's."""
    context = event.get("requestContext") if isinstance(event, Mapping) else None
    if not isinstance(context, Mapping) or "apiId" not in context or "stage" not in context:
        return None
    if "methodArn" in event:
        # A Lambda authorizer's event (REQUEST type carries the request context too): API Gateway
        # invokes it as .../authorizers/<authorizer id>, which the event does not name, so it is not
        # checked here, like TOKEN authorizers, whose events have no request context.
        return None
    base = f"arn:aws:execute-api:{region}:{account}:{context['apiId']}/{context['stage']}"
    if "routeKey" in context and "httpMethod" not in context:  # WebSocket: the route
        return f"{base}/{context['routeKey']}"
    return f"{base}/{context.get('httpMethod', '*')}{context.get('resourcePath', '')}"


def _assuming_source_arn(source_arn: str | None) -> str | None:
    """The aws:SourceArn a service passes when it assumes a role for `source_arn` (what delivers).

    EventBridge Scheduler passes the schedule's GROUP (arn:aws:scheduler:r:a:schedule-group/<group>),
    never the schedule: its user guide (confused deputy prevention) says the trust policy's SourceArn
    must be a schedule group ARN. EventBridge passes the rule, Step Functions the state machine.
    """
    if source_arn and source_arn.startswith("arn:aws:scheduler:") and ":schedule/" in source_arn:
        prefix, path = source_arn.split(":schedule/", 1)
        return f"{prefix}:schedule-group/{path.split('/', 1)[0]}"
    return source_arn


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name), "")


def _without_stage(http: HttpRequest) -> HttpRequest:
    stage_path = "/" + http.path.lstrip("/").split("/", 1)[-1] if "/" in http.path.lstrip("/") else http.path
    return HttpRequest(http.method, stage_path, http.query, http.headers, http.body)


def _unsigned_service(http: HttpRequest) -> str:
    """The service an unsigned request is for: Cognito's public operations, STS's web identity, else S3."""
    target = _header(http.headers, "x-amz-target")
    if target.startswith("AWSCognitoIdentityProviderService."):
        return "cognito-idp"
    if target.startswith("AWSCognitoIdentityService."):
        return "cognito-identity"
    if "AssumeRoleWith" in http.query.get("Action", "") or b"Action=AssumeRoleWith" in http.body:
        return "sts"
    return "s3"
