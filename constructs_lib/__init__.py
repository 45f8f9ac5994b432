"""constructs_lib: AWS CDK v2 constructs for secure, operable serverless backends."""

from constructs_lib.alarm_topic import AlarmTopic
from constructs_lib.checks import add_nag_checks
from constructs_lib.composite_key_table import (
    AutoscaledCapacity,
    CompositeKeyTable,
    GlobalIndex,
    LocalIndex,
    StreamConsumer,
)
from constructs_lib.image_store import ImageStore
from constructs_lib.search_domain import SearchDomain, SearchDomainSize
from constructs_lib.serverless_api import AuthorizationMode, CorsPolicy, ServerlessApi
from constructs_lib.serverless_function import ServerlessFunction
from constructs_lib.user_directory import UserDirectory
from constructs_lib.websocket_api import WebSocketApi

__all__ = [
    "AlarmTopic",
    "AuthorizationMode",
    "AutoscaledCapacity",
    "CompositeKeyTable",
    "CorsPolicy",
    "GlobalIndex",
    "ImageStore",
    "LocalIndex",
    "SearchDomain",
    "SearchDomainSize",
    "ServerlessApi",
    "ServerlessFunction",
    "StreamConsumer",
    "UserDirectory",
    "WebSocketApi",
    "add_nag_checks",
]
