#!/usr/bin/env python3
"""The reference image-sharing backend, composed only from constructs_lib.

Stacks (per stage, e.g. ``-c stage=prod``):
- ``ImageSharingData-<stage>`` (stateful, termination protection): users, groups and images
  tables, the image store, the alarm topic.
- ``ImageSharingSearch-<stage>`` (stateful, termination protection): the OpenSearch domain and
  the indexer fed from the images table stream.
- ``ImageSharingApi-<stage>`` (stateless): the REST and WebSocket APIs, every function, and the
  stage's CloudWatch dashboard (every construct and alarm of the three stacks).
  Redeploying or deleting it never touches data.

Settings per stage come from the ``image-sharing`` context in cdk.json (see the README).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from constructs_lib import (
    AlarmTopic,
    ApiAlarms,
    ApiAuthorizers,
    ApiStage,
    AuthorizationMode,
    CompositeKeyTable,
    CorsPolicy,
    DeploymentPreference,
    GlobalIndex,
    IdempotencyTable,
    ImageStore,
    ScheduledJob,
    SearchDomain,
    SearchDomainSize,
    ServerlessApi,
    ServerlessFunction,
    ServiceDashboard,
    UserDirectory,
    WebSocketApi,
    Workflow,
    add_nag_checks,
    lambda_task,
)
from constructs_lib.cors_policy import DEFAULT_CORS_HEADERS
from constructs_lib.runtime import environment as handler_env

LAMBDA = Path(__file__).resolve().parent / "lambda"
CDK_JSON = Path(__file__).resolve().parent / "cdk.json"
SCHEMAS = LAMBDA / "api" / "schemas"
SERVICE = "image-sharing"
METRICS_NAMESPACE = "ImageSharing"
IMAGES_ID_INDEX = "imageId-index"
SEARCH_INDEX = "images"
# Hourly: an abandoned image item disappears within an hour of its deadline (the upload URL's
# lifetime plus a grace), and a scan of the images table once an hour costs little.
UPLOAD_SWEEP_SCHEDULE = "rate(1 hour)"
# A group's images are deleted four batches (of 25) at a time: the tables and buckets take it easily,
# and a group of thousands of images is gone in minutes.
GROUP_DELETION_CONCURRENCY = 4
# The route waits for the authorizing workflow: within API Gateway's 29 s integration timeout.
GROUP_DELETION_REQUEST_TIMEOUT = Duration.seconds(25)
_UPLOAD_SWEEP_ENVIRONMENT = (
    handler_env.IMAGE_STORE_BUCKET,
    handler_env.IMAGE_STORE_UPLOAD_PREFIX,
    handler_env.IMAGE_STORE_UPLOAD_URL_TTL,
)


@dataclass(frozen=True)
class Settings:
    """One stage's settings, from cdk.json context ``image-sharing.<stage>``."""

    stage: str
    account: str
    region: str
    cors_allowed_origins: tuple[str, ...]
    search_preset: str
    log_retention: logs.RetentionDays
    alarm_emails: tuple[str, ...]
    upload_url_ttl: Duration
    download_url_ttl: Duration
    allow_password_auth: bool
    deployment: DeploymentPreference  # of the API functions: how new code reaches the traffic

    @classmethod
    def from_context(cls, app: App) -> Settings:
        stage = str(app.node.try_get_context("stage") or "dev")
        stages: dict[str, dict[str, Any]] = app.node.try_get_context("image-sharing") or {}
        if stage not in stages:
            raise ValueError(
                f"stage '{stage}' has no settings: add it under context 'image-sharing' in cdk.json "
                f"(known stages: {', '.join(sorted(stages)) or 'none'})"
            )
        values = stages[stage]
        return cls(
            stage=stage,
            account=str(app.node.try_get_context("account")),
            region=str(app.node.try_get_context("region")),
            cors_allowed_origins=tuple(values["corsAllowedOrigins"]),
            search_preset=values["searchPreset"],
            log_retention=logs.RetentionDays[values["logRetention"]],
            alarm_emails=tuple(values.get("alarmEmails", ())),
            upload_url_ttl=Duration.seconds(int(values.get("uploadUrlTtlSeconds", 300))),
            download_url_ttl=Duration.seconds(int(values.get("downloadUrlTtlSeconds", 3600))),
            allow_password_auth=bool(values.get("allowPasswordAuth", False)),
            deployment=_deployment_preference(values.get("deployment", "all_at_once")),
        )

    @property
    def env(self) -> Environment:
        return Environment(account=self.account, region=self.region)


class DataStack(Stack):
    """Users, tables, images and alarms: everything that holds data."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings) -> None:
        super().__init__(scope, construct_id, env=settings.env, termination_protection=True)
        self.alarms = AlarmTopic(self, "Alarms", email_addresses=settings.alarm_emails)
        self.users = UserDirectory(self, "Users", allow_password_auth=settings.allow_password_auth)
        self.groups = CompositeKeyTable(
            self,
            "Groups",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            alarms=True,
            alarm_topic=self.alarms.topic,
        )
        self.images = CompositeKeyTable(
            self,
            "Images",
            partition_key=dynamodb.Attribute(name="groupId", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="timestamp", type=dynamodb.AttributeType.STRING),
            global_indexes=[
                GlobalIndex(
                    name=IMAGES_ID_INDEX,
                    partition_key=dynamodb.Attribute(name="imageId", type=dynamodb.AttributeType.STRING),
                )
            ],
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            alarms=True,
            alarm_topic=self.alarms.topic,
        )
        # The POST routes' Idempotency-Key records (Powertools' idempotency utility), shared by both.
        self.idempotency = IdempotencyTable(self, "Idempotency", alarms=True, alarm_topic=self.alarms.topic)
        self.image_store = ImageStore(
            self,
            "ImageStore",
            upload_url_ttl=settings.upload_url_ttl,
            download_url_ttl=settings.download_url_ttl,
            cors_allowed_origins=settings.cors_allowed_origins,
        )


class SearchStack(Stack):
    """Full-text search over images: the OpenSearch domain and its indexer."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, data: DataStack) -> None:
        super().__init__(scope, construct_id, env=settings.env, termination_protection=True)
        size = (
            SearchDomainSize.production()
            if settings.search_preset == "production"
            else SearchDomainSize.dev()
        )
        self.search = SearchDomain(
            self,
            "Search",
            size=size,
            cognito_domain_prefix=f"image-sharing-{settings.stage}-{settings.account}",
            log_retention=settings.log_retention,
            alarms=True,
            alarm_topic=data.alarms.topic,
        )
        self.indexer = self.search.index_table(data.images, index_name=SEARCH_INDEX, id_attribute="imageId")


class ApiStack(Stack):
    """The REST and WebSocket APIs and every function: stateless, safe to redeploy or delete."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: Settings, data: DataStack, search: SearchStack
    ) -> None:
        super().__init__(scope, construct_id, env=settings.env)
        self.api = ServerlessApi(
            self,
            "Api",
            stage=ApiStage(name=settings.stage, access_log_retention=settings.log_retention),
            # Browsers may send the POST routes' Idempotency-Key header.
            cors=CorsPolicy(
                allow_origins=settings.cors_allowed_origins,
                allow_headers=[*DEFAULT_CORS_HEADERS, "Idempotency-Key"],
            ),
            default_authorization=AuthorizationMode.COGNITO,
            authorizers=ApiAuthorizers(user_pools=[data.users.user_pool]),
            alarms=ApiAlarms(topic=data.alarms.topic),
        )
        self.websocket = WebSocketApi(
            self, "Notifications", stage_name=settings.stage, access_log_retention=settings.log_retention
        )

        self._log_retention = settings.log_retention
        store = data.image_store
        api_environment = {
            "GROUPS_TABLE": data.groups.table_name,
            "IMAGES_TABLE": data.images.table_name,
            "IMAGES_ID_INDEX": IMAGES_ID_INDEX,
            **self.api.cors_environment,
        }
        images_environment = {**api_environment, **store.runtime_environment}

        self._rest_routes(settings, data, search, api_environment, images_environment)

        connections = self.websocket.connections_table
        connect = self._function(
            "WebSocketConnect",
            "websocket/ws_connect",
            "Stores a WebSocket connection",
            self.websocket.handler_environment,
        )
        disconnect = self._function(
            "WebSocketDisconnect",
            "websocket/ws_disconnect",
            "Forgets a WebSocket connection",
            self.websocket.handler_environment,
        )
        connections.grant(connect.function, "dynamodb:PutItem")
        connections.grant(disconnect.function, "dynamodb:DeleteItem")
        self.websocket.add_route(
            "$connect",
            connect.function,
            public_reason="Notifications carry only ids of images anyone may browse; no account is needed.",
        )
        self.websocket.add_route("$disconnect", disconnect.function)
        default = self._function(
            "WebSocketDefault", "websocket/ws_default", "Answers messages no route takes", {}
        )
        self.websocket.add_route("$default", default.function, return_response=True)

        thumbnail = self._function(
            "Thumbnail",
            "thumbnail/thumbnail",
            "Writes a 150 px wide JPEG thumbnail of each upload",
            store.runtime_environment,
            memory_size=1024,  # decoding a 20 MB upload needs the memory, and gets the CPU with it
            timeout=Duration.seconds(30),
            invoked_asynchronously=True,
        )
        store.grant_read_uploads(thumbnail.function)
        store.grant_write_thumbnails(thumbnail.function)
        store.add_upload_subscriber(thumbnail.function)

        notifier = self._function(
            "Notifier",
            "notifier/notifier",
            "Tells open WebSocket connections about each upload",
            {**store.runtime_environment, **self.websocket.handler_environment},
            # One full vCPU: each post costs about 1 ms of CPU (signing, parsing), and 16 in flight
            # at 20 ms each keep most of one busy (see lambda/notifier and docs/performance.md).
            memory_size=1769,
            timeout=Duration.seconds(30),
            invoked_asynchronously=True,
        )
        # It scans for open connections and deletes the ones API Gateway says are gone.
        connections.grant(notifier.function, "dynamodb:Scan", "dynamodb:DeleteItem")
        self.websocket.grant_manage_connections(notifier.function)
        store.add_upload_subscriber(notifier.function)

        # Image items whose upload never arrived stay forever otherwise: sweep them once the URL expired.
        sweeper = self._function(
            "UploadSweeper",
            "api/sweep_uploads",
            "Deletes image items whose upload never arrived",
            {
                "IMAGES_TABLE": data.images.table_name,
                **{name: store.runtime_environment[name] for name in _UPLOAD_SWEEP_ENVIRONMENT},
            },
            timeout=Duration.minutes(5),  # a page of the table and its uploads' listings fits many times
            invoked_asynchronously=True,  # Scheduler invokes it asynchronously
        )
        data.images.grant(sweeper.function, "dynamodb:Scan", "dynamodb:DeleteItem")
        store.grant_list_uploads(sweeper.function)
        self.upload_sweep = ScheduledJob(
            self,
            "UploadSweep",
            function=sweeper,
            schedule=UPLOAD_SWEEP_SCHEDULE,
            description="Deletes image items whose upload never arrived",
            alarm_topic=data.alarms.topic,
        )
        self.group_deletion, self.group_deletion_request = self._group_deletion(data, images_environment)

    def _group_deletion(self, data: DataStack, environment: dict[str, str]) -> tuple[Workflow, Workflow]:
        """The deletion workflow (Standard) and the workflow the route runs to authorize and start it
        (Express); their tasks are in lambda/api/group_deletion.py."""
        store = data.image_store
        module = "api/group_deletion"
        authorize = self._function(
            "GroupDeletionAuthorize",
            module,
            "Checks the caller owns the group",
            environment,
            entry_point="authorize_handler",
        )
        data.groups.grant(authorize.function, "dynamodb:GetItem")
        lister = self._function(
            "GroupImagesList",
            module,
            "Lists a page of a group's images",
            environment,
            entry_point="list_images_handler",
        )
        data.images.grant(lister.function, "dynamodb:Query")
        deleter = self._function(
            "GroupImagesDelete",
            module,
            "Deletes images: uploads, thumbnails, items",
            environment,
            entry_point="delete_images_handler",
        )
        data.images.grant(deleter.function, "dynamodb:DeleteItem")
        store.grant_delete_images(deleter.function)
        remover = self._function(
            "GroupDelete", module, "Deletes a group's item", environment, entry_point="delete_group_handler"
        )
        data.groups.grant(remover.function, "dynamodb:DeleteItem")

        page = lambda_task(self, "ListGroupImages", lister)
        batches = sfn.Map(
            self,
            "DeleteImageBatches",
            items_path="$.batches",
            item_selector={"images.$": "$$.Map.Item.Value"},
            max_concurrency=GROUP_DELETION_CONCURRENCY,
            result_path=sfn.JsonPath.DISCARD,
        )
        batches.item_processor(lambda_task(self, "DeleteImageBatch", deleter))
        remove_group = lambda_task(
            self, "DeleteGroupItem", remover, payload=sfn.TaskInput.from_object({"groupId.$": "$.groupId"})
        )
        deletion = Workflow(
            self,
            "GroupDeletion",
            comment="Deletes every image of a group in batches, then the group",
            definition=page.next(batches).next(
                sfn.Choice(self, "MoreImages?")
                .when(sfn.Condition.is_not_null("$.nextKey"), page)
                .otherwise(remove_group)
            ),
            log_retention=self._log_retention,
            alarm_topic=data.alarms.topic,
        )
        start = tasks.StepFunctionsStartExecution(
            self,
            "StartGroupDeletion",
            state_machine=deletion.state_machine,
            input=sfn.TaskInput.from_object({"groupId.$": "$.groupId"}),
            result_selector={"executionId.$": "$.ExecutionArn"},
        )
        request = Workflow(
            self,
            "GroupDeletionRequest",
            express=True,
            comment="Authorizes a group's deletion and starts it",
            definition=lambda_task(self, "AuthorizeGroupDeletion", authorize).next(start),
            timeout=GROUP_DELETION_REQUEST_TIMEOUT,
            log_retention=self._log_retention,
            # Its failed executions are the callers' 403 and 404: the API's 5XX alarm covers the rest.
            alarms=False,
        )
        # DELETE /groups/{groupId} is Step Functions itself: the Express workflow answers 404 or 403
        # synchronously, else starts the deletion and answers 202 with its execution id.
        self.api.add_workflow_route(
            "DELETE",
            "/groups/{groupId}",
            request,
            error_statuses={"GroupNotFound": 404, "NotOwner": 403},
            success_status=202,
        )
        return deletion, request

    def _rest_routes(
        self,
        settings: Settings,
        data: DataStack,
        search: SearchStack,
        api_environment: dict[str, str],
        images_environment: dict[str, str],
    ) -> None:
        """The REST API's functions, their grants and routes."""
        store = data.image_store
        # The API's functions deploy as the stage says (a canary in prod); the others all at once.
        deployed: dict[str, Any] = {"deployment": settings.deployment}
        groups_read = self._function(
            "GroupsRead", "api/groups_read", "Lists groups and gets one group", api_environment, **deployed
        )
        # Least privilege from `make local`'s IAM report: each handler gets the calls it makes, no more.
        data.groups.grant(groups_read.function, "dynamodb:Scan", "dynamodb:GetItem")

        idempotent_environment = data.idempotency.runtime_environment
        groups_write = self._function(
            "GroupsWrite",
            "api/groups_write",
            "Creates groups",
            {**api_environment, **idempotent_environment},
            **deployed,
        )
        data.groups.grant(groups_write.function, "dynamodb:PutItem")
        data.idempotency.grant_idempotency(groups_write.function)

        images_read = self._function(
            "ImagesRead",
            "api/images_read",
            "Lists a group's images and gets one image",
            images_environment,
            **deployed,
        )
        data.groups.grant(images_read.function, "dynamodb:GetItem")
        data.images.grant_read_data(images_read.function)  # queries the table and its image-id index
        store.grant_presign(images_read.function)

        images_write = self._function(
            "ImagesWrite",
            "api/images_write",
            "Creates images and their upload URLs",
            {**images_environment, **idempotent_environment},
            **deployed,
        )
        data.groups.grant(images_write.function, "dynamodb:GetItem")
        data.images.grant(images_write.function, "dynamodb:PutItem")
        data.idempotency.grant_idempotency(images_write.function)
        store.grant_presign(images_write.function)

        image_search = self._function(
            "ImageSearch",
            "api/search",
            "Full-text search over images",
            {**images_environment, **search.search.search_environment(SEARCH_INDEX)},
            **deployed,
        )
        search.search.grant_search(image_search.function, SEARCH_INDEX)
        store.grant_presign(image_search.function)

        group_schema = json.loads((SCHEMAS / "create-group-request.json").read_text())
        image_schema = json.loads((SCHEMAS / "create-image-request.json").read_text())
        public = "Anyone may browse groups and images; writes need a signed-in user."
        routes: list[tuple[str, str, ServerlessFunction, dict[str, Any]]] = [
            ("GET", "/groups", groups_read, {}),
            ("POST", "/groups", groups_write, {"request_schema": group_schema}),
            ("GET", "/groups/{groupId}", groups_read, {}),
            ("GET", "/groups/{groupId}/images", images_read, {}),
            ("POST", "/groups/{groupId}/images", images_write, {"request_schema": image_schema}),
            ("GET", "/images", image_search, {"required_query_parameters": ["q"]}),
            ("GET", "/images/{imageId}", images_read, {}),
        ]
        for method, path, function, options in routes:
            # Reads are public; writes use the API's default authorization, Cognito.
            access: dict[str, Any] = (
                {"authorization": AuthorizationMode.NONE, "public_reason": public} if method == "GET" else {}
            )
            self.api.add_route(method, path, function.function, **access, **options)
        if settings.deployment.gradual:
            server_errors = self._deployment_server_errors_alarm()
            # On call learns of a rollback (and of the recovery) as of any other alarm.
            server_errors.add_alarm_action(cloudwatch_actions.SnsAction(data.alarms.topic))
            server_errors.add_ok_action(cloudwatch_actions.SnsAction(data.alarms.topic))
            for function in (groups_read, groups_write, images_read, images_write, image_search):
                function.add_deployment_alarm(server_errors)

    def _deployment_server_errors_alarm(self) -> cloudwatch.Alarm:
        """5XX answers of the REST API: a deployment of any API function rolls back when they appear.

        By the API's and stage's names (`by_name`): the stage's methods reference the functions'
        aliases, whose deployment groups reference this alarm, so a reference to the stage is a cycle.
        """
        return cloudwatch.Alarm(
            self,
            "ApiServerErrorsDuringDeployment",
            alarm_description="5XX answers of the REST API: CodeDeploy rolls a deploying API function back",
            metric=self.api.metric("5XXError", statistic="Sum", period=Duration.minutes(1), by_name=True),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _function(
        self,
        construct_id: str,
        module: str,
        description: str,
        environment: dict[str, str],
        entry_point: str = "handler",
        **options: Any,
    ) -> ServerlessFunction:
        """A function whose handler is `entry_point` in ``lambda/<module>.py``, with the app's settings."""
        folder, _, name = module.partition("/")
        return ServerlessFunction(
            self,
            construct_id,
            entry=LAMBDA / folder,
            handler=f"{name}.{entry_point}",
            description=description,
            service_name=SERVICE,
            include_runtime_helpers=True,
            log_retention=self._log_retention,
            environment={handler_env.POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE, **environment},
            **options,
        )


def _deployment_preference(value: str | dict[str, Any]) -> DeploymentPreference:
    """A stage's ``deployment``: "all_at_once", or {"type": "canary" or "linear", "percent", "minutes"}."""
    if value == "all_at_once":
        return DeploymentPreference.all_at_once()
    if isinstance(value, dict) and value.get("type") == "canary":
        return DeploymentPreference.canary(int(value["percent"]), int(value["minutes"]))
    if isinstance(value, dict) and value.get("type") == "linear":
        return DeploymentPreference.linear(int(value["percent"]), int(value["minutes"]))
    raise ValueError(
        f"deployment {value!r} is not 'all_at_once' or {{'type': 'canary' or 'linear', 'percent', 'minutes'}}"
    )


def _cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def _default_to_cdk_json_context(app: App) -> None:
    """Run as ``python app.py`` (without the CDK CLI), take the context the CLI would pass from cdk.json."""
    if app.node.try_get_context("image-sharing") is not None:
        return
    for key, value in _cdk_json_context().items():
        if app.node.try_get_context(key) is None:
            app.node.set_context(key, value)


def build_app(app: App | None = None) -> App:
    """Build every stack of the reference app into `app` (a new App by default), with cdk-nag."""
    # A new App takes cdk.json's context as its defaults (the CLI's context still wins): one jsii
    # call, where setting ~90 keys one by one took ~370 of the app's synth.
    app = app or App(context=_cdk_json_context())
    _default_to_cdk_json_context(app)
    settings = Settings.from_context(app)
    data = DataStack(app, f"ImageSharingData-{settings.stage}", settings=settings)
    search = SearchStack(app, f"ImageSharingSearch-{settings.stage}", settings=settings, data=data)
    api = ApiStack(app, f"ImageSharingApi-{settings.stage}", settings=settings, data=data, search=search)
    # One dashboard per stage, in the stateless stack: every construct and alarm of the three stacks.
    ServiceDashboard(api, "Dashboard", dashboard_name=f"{SERVICE}-{settings.stage}").add_all(app)
    add_nag_checks(app)
    return app


if __name__ == "__main__":
    build_app().synth()
