"""constructs_lib: AWS CDK v2 constructs for secure, operable serverless backends."""

from constructs_lib.checks import add_nag_checks
from constructs_lib.serverless_function import ServerlessFunction

__all__ = [
    "ServerlessFunction",
    "add_nag_checks",
]
