"""The REST APIs of the assembly as one `LocalService`: each served on its own port."""

from __future__ import annotations

from typing import Any

from constructs_lib.local._assembly import AWS_URL_SUFFIX
from constructs_lib.local._servers import HttpServers, execute_api_url, first_stage_urls, ports_of
from constructs_lib.local._service import ServiceContext
from constructs_lib.local._sessions import RoleSessions
from constructs_lib.local.rest_api.aws_integration import AwsIntegrations
from constructs_lib.local.rest_api.gateway import RestApiGateway
from constructs_lib.local.rest_api.server import serve


class RestApis:
    """Every ``AWS::ApiGateway::RestApi``, on consecutive ports from ``--port`` (0: free ports)."""

    name = "rest-apis"

    def __init__(self) -> None:
        self.urls: dict[str, str] = {}  # "Stack/ApiName" -> http://host:port (without the stage)
        self.gateways: dict[str, RestApiGateway] = {}
        self._servers = HttpServers()

    def start(self, context: ServiceContext) -> None:
        host, port = context.options.host, context.options.port
        # AWS service integrations call moto as their credentials role (API Gateway's session).
        sessions = RoleSessions(context.aws.url, context.region, "apigateway")
        integrations = AwsIntegrations(context.aws.url, context.region, sessions.session_for)
        for stack in context.assembly.stacks:
            for logical_id in stack.resources_of_type("AWS::ApiGateway::RestApi"):
                gateway = RestApiGateway(
                    stack,
                    logical_id,
                    invoker=context.invoker,
                    jwks=context.jwks,
                    region=context.region,
                    account=context.account,
                    aws_integrations=integrations,
                )
                name = f"{stack.stack_name}/{gateway.name}"
                if name in self.gateways:  # two APIs of one name: tell them apart by logical id
                    name = f"{stack.stack_name}/{logical_id}"
                server = serve(gateway, host, context.ports.get(self.name, {}).get(name, port))
                port = port + 1 if port else 0
                self._servers.start(server, f"rest-{logical_id}")
                url = f"http://{host}:{server.server_address[1]}"
                self.urls[name] = url
                self.gateways[name] = gateway
                prefix = execute_api_url("https", stack.ref(logical_id), context.region, AWS_URL_SUFFIX)
                context.endpoints[prefix] = url

    def stop(self) -> None:
        self._servers.stop()

    def ports(self) -> dict[str, int]:
        """Each API's port, by name (to serve it on again)."""
        return ports_of(self.urls)

    def stage_urls(self) -> dict[str, str]:
        """Each API's URL with its first stage, where its routes are (``http://host:port/prod``)."""
        return first_stage_urls(self.urls, self.gateways)

    def banner(self) -> list[str]:
        lines = []
        for name, url in self.stage_urls().items():
            lines.append(f"REST API {name}: {url if self.gateways[name].stage_names else url + '/'}")
            for method, path, authorization in self.gateways[name].routes():
                lines.append(f"  {method:7} {path}  ({authorization.lower().replace('_', ' ')})")
        return lines

    def state(self) -> dict[str, Any]:
        # restApiUrls end in "/", as CDK's RestApi.url does: scripts append a resource path.
        return {
            "restApis": dict(self.urls),
            "restApiUrls": {name: f"{url}/" for name, url in self.stage_urls().items()},
        }

    def not_emulated(self) -> list[str]:
        if not self.gateways:
            return []
        return [
            "REST APIs: SigV4 signatures of IAM-authorized routes are not verified (the signing access key "
            "is the caller), API keys are only checked for presence, and AWS service integrations other "
            "than JSON-protocol action/ calls (Step Functions, DynamoDB) answer 500."
        ]
