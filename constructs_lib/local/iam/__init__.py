"""IAM for the local runner: the app's policies evaluated on every request, as AWS evaluates them.

No CDK import: this package reads synthesized templates and HTTP requests only.
"""

from constructs_lib.local.iam.actions import accesses
from constructs_lib.local.iam.authorizer import Authorizer, Mode, Outcome, Role
from constructs_lib.local.iam.calls import Access, ApiCall
from constructs_lib.local.iam.policy import Decision, Principal, Statement, evaluate, parse_policy

__all__ = [
    "Access",
    "ApiCall",
    "Authorizer",
    "Decision",
    "Mode",
    "Outcome",
    "Principal",
    "Role",
    "Statement",
    "accesses",
    "evaluate",
    "parse_policy",
]
