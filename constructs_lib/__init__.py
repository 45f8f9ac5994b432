"""constructs_lib: AWS CDK v2 constructs for secure, operable serverless backends.

The constructs are imported on first use (PEP 562), so ``constructs_lib.local`` and
``constructs_lib.runtime`` load without the CDK and its Node.js process.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from constructs_lib._alarms import AlarmLevel, AlarmSetting, AlarmSettings
    from constructs_lib._api_settings import ApiAlarms, ApiAuthorizers, ApiStage, CustomDomain
    from constructs_lib._deployment import DeploymentPreference
    from constructs_lib._stream_consumers import StreamConsumer
    from constructs_lib.alarm_topic import AlarmTopic
    from constructs_lib.checks import add_nag_checks
    from constructs_lib.compliance import Acknowledged, acknowledge, acknowledge_all
    from constructs_lib.composite_key_table import (
        AutoscaledCapacity,
        CompositeKeyTable,
        GlobalIndex,
        LocalIndex,
    )
    from constructs_lib.cors_policy import CorsPolicy
    from constructs_lib.data_stream import DataStream
    from constructs_lib.event_bus import EventBus, EventRule
    from constructs_lib.idempotency_table import IdempotencyTable
    from constructs_lib.image_store import ImageStore
    from constructs_lib.jwt_authorizer import JwtAuthorizer
    from constructs_lib.queue_worker import QueueWorker
    from constructs_lib.scheduled_job import ScheduledJob
    from constructs_lib.search_domain import SearchDomain, SearchDomainSize
    from constructs_lib.serverless_api import AuthorizationMode, ServerlessApi
    from constructs_lib.serverless_function import ServerlessFunction
    from constructs_lib.service_dashboard import ServiceDashboard
    from constructs_lib.user_directory import UserDirectory
    from constructs_lib.websocket_api import WebSocketApi
    from constructs_lib.workflow import Workflow, lambda_task

# Each public name and the module that defines it.
_MODULES = {
    "AlarmLevel": "_alarms",  # every construct's alarm_settings
    "AlarmSetting": "_alarms",
    "AlarmSettings": "_alarms",
    "AlarmTopic": "alarm_topic",
    "ApiAlarms": "_api_settings",  # ServerlessApi's grouped props
    "ApiAuthorizers": "_api_settings",
    "ApiStage": "_api_settings",
    "CustomDomain": "_api_settings",
    "add_nag_checks": "checks",
    "acknowledge": "compliance",
    "acknowledge_all": "compliance",
    "Acknowledged": "compliance",
    "AutoscaledCapacity": "composite_key_table",
    "CompositeKeyTable": "composite_key_table",
    "GlobalIndex": "composite_key_table",
    "LocalIndex": "composite_key_table",
    "StreamConsumer": "_stream_consumers",  # what CompositeKeyTable and DataStream consumers return
    "DataStream": "data_stream",
    "DeploymentPreference": "_deployment",  # ServerlessFunction's deployment
    "EventBus": "event_bus",
    "EventRule": "event_bus",
    "IdempotencyTable": "idempotency_table",
    "ImageStore": "image_store",
    "JwtAuthorizer": "jwt_authorizer",
    "QueueWorker": "queue_worker",
    "ScheduledJob": "scheduled_job",
    "SearchDomain": "search_domain",
    "SearchDomainSize": "search_domain",
    "AuthorizationMode": "serverless_api",
    "CorsPolicy": "cors_policy",
    "ServerlessApi": "serverless_api",
    "ServerlessFunction": "serverless_function",
    "ServiceDashboard": "service_dashboard",
    "UserDirectory": "user_directory",
    "WebSocketApi": "websocket_api",
    "Workflow": "workflow",
    "lambda_task": "workflow",
}

__all__ = [
    "Acknowledged",
    "AlarmLevel",
    "AlarmSetting",
    "AlarmSettings",
    "AlarmTopic",
    "ApiAlarms",
    "ApiAuthorizers",
    "ApiStage",
    "AuthorizationMode",
    "AutoscaledCapacity",
    "CompositeKeyTable",
    "CorsPolicy",
    "CustomDomain",
    "DataStream",
    "DeploymentPreference",
    "EventBus",
    "EventRule",
    "GlobalIndex",
    "IdempotencyTable",
    "ImageStore",
    "JwtAuthorizer",
    "LocalIndex",
    "QueueWorker",
    "ScheduledJob",
    "SearchDomain",
    "SearchDomainSize",
    "ServerlessApi",
    "ServerlessFunction",
    "ServiceDashboard",
    "StreamConsumer",
    "UserDirectory",
    "WebSocketApi",
    "Workflow",
    "acknowledge",
    "acknowledge_all",
    "add_nag_checks",
    "lambda_task",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module 'constructs_lib' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"constructs_lib.{_MODULES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
