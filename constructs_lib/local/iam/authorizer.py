"""The one place the local runner asks permission questions: `Authorizer.authorize`.

It holds the app's roles (identity policies, tags, trust policies) and resource policies, knows
which credentials belong to which role, decides each request with `policy.evaluate`, logs every
denial once with the statement that would have allowed it, and records what each principal used
for the least-privilege report (`report.py`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from constructs_lib.local.iam.calls import Access
from constructs_lib.local.iam.conditions import Context
from constructs_lib.local.iam.policy import Decision, Principal, Statement, evaluate, granting

log = logging.getLogger("constructs_lib.local.iam")


class Mode(StrEnum):
    """``enforce`` denies what AWS would deny; ``report`` allows it but logs it; ``off`` checks nothing."""

    ENFORCE = "enforce"
    REPORT = "report"
    OFF = "off"


@dataclass
class Role:
    """A role from the templates: its identity policies' statements, tags and trust policy."""

    arn: str
    name: str
    statements: list[Statement] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    trust: list[Statement] = field(default_factory=list)
    unknown_policies: list[str] = field(default_factory=list)  # managed policies not known locally

    def principal(self, account: str, session: str) -> Principal:
        return Principal(
            "role",
            self.arn,
            account,
            session_arn=f"arn:aws:sts::{account}:assumed-role/{self.name}/{session}",
            tags=dict(self.tags),
        )


@dataclass(frozen=True)
class Outcome:
    """The decisions for every access of one request; `allowed` unless one was denied and enforced."""

    decisions: tuple[Decision, ...]
    allowed: bool

    @property
    def denied(self) -> Decision | None:
        return next((decision for decision in self.decisions if not decision.allowed), None)


@dataclass
class Usage:
    """What one principal did during the run (for the report): each distinct access once, so a long
    run's memory grows with the resources it touches, not with its requests."""

    allowed: set[tuple[str, str, str]] = field(default_factory=set)  # action, resource, statement label
    denied: dict[tuple[str, str, str], dict[str, Any]] = field(
        default_factory=dict
    )  # by caller, action, resource


class Authorizer:
    """Decides requests against the app's policies, in one `Mode`."""

    def __init__(self, *, account: str, region: str, mode: Mode = Mode.ENFORCE) -> None:
        self.account = account
        self.region = region
        self.mode = mode
        self.roles: dict[str, Role] = {}
        self.resource_policies: dict[str, list[Statement]] = {}  # exact ARN -> statements
        self.bucket_policies: dict[str, list[Statement]] = {}  # bucket name -> statements
        self.callers: dict[str, str] = {}  # role ARN -> the functions that run as it (for messages)
        self.usage: dict[str, Usage] = {}
        self._resolvers: list[Callable[[str], Principal | None]] = []
        self._lock = threading.Lock()

    # What the app has ------------------------------------------------------------------------

    def add_role(self, role: Role) -> None:
        self.roles[role.arn] = role
        self.resource_policies[role.arn] = role.trust

    def add_resource_policy(self, arn: str, statements: Iterable[Statement]) -> None:
        """Statements of the policy attached to `arn` (a topic, queue, key, function, domain)."""
        self.resource_policies.setdefault(arn, []).extend(statements)

    def add_bucket_policy(self, bucket: str, statements: Iterable[Statement]) -> None:
        self.bucket_policies.setdefault(bucket, []).extend(statements)

    def add_resolver(self, resolver: Callable[[str], Principal | None]) -> None:
        """A source of credentials (moto's assumed-role sessions): access key -> principal."""
        self._resolvers.append(resolver)

    def principal_for(self, access_key: str | None) -> Principal | None:
        """The principal these credentials belong to; None for credentials the app never handed out."""
        if access_key is None:
            return Principal("anonymous", "*", self.account)
        for resolver in self._resolvers:
            found = resolver(access_key)
            if found is not None:
                return found
        return None

    def role_principal(self, role_arn: str, session: str) -> Principal | None:
        role = self.roles.get(role_arn)
        return role.principal(self.account, session) if role else None

    # Decisions -------------------------------------------------------------------------------

    def resource_policy(self, resource: str) -> list[Statement] | None:
        """The resource-based policy that applies to `resource`, or None if it has none."""
        if resource.startswith("arn:aws:s3:::"):
            bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
            return self.bucket_policies.get(bucket)
        if resource in self.resource_policies:
            return self.resource_policies[resource]
        if resource.startswith("arn:aws:lambda:") and resource.count(":") == 7:  # a qualified function ARN
            return self.resource_policies.get(resource.rsplit(":", 1)[0])
        if resource.startswith("arn:aws:es:") and "/" in resource.split("domain/", 1)[-1]:
            domain = resource.split("domain/", 1)
            return self.resource_policies.get(f"{domain[0]}domain/{domain[1].split('/', 1)[0]}")
        return None

    def authorize(
        self,
        principal: Principal,
        action: str,
        resources: Sequence[str],
        context: Context,
        *,
        caller: str = "",
    ) -> Outcome:
        """IAM's decision for `principal` doing `action` on each of `resources`."""
        return self.check(
            principal,
            [
                Access(action, resource, {k: v for k, v in context.items() if isinstance(v, str)})
                for resource in resources
            ],
            caller=caller,
        )

    def check(self, principal: Principal, accesses: Sequence[Access], *, caller: str = "") -> Outcome:
        """Decide every access a request needs; log and record each denial; allowed unless enforced."""
        if self.mode == Mode.OFF:
            return Outcome((), True)
        decisions = []
        identity = (
            self.roles[principal.arn].statements
            if principal.kind == "role" and principal.arn in self.roles
            else []
        )
        for access in accesses:
            decision = evaluate(
                principal,
                access.action,
                access.resource,
                {"aws:RequestedRegion": self.region, **access.context},
                identity=identity,
                resource_policy=self.resource_policy(access.resource),
            )
            decisions.append(decision)
            self._record(principal, decision, caller)
        denied = any(not decision.allowed for decision in decisions)
        return Outcome(tuple(decisions), not denied or self.mode == Mode.REPORT)

    def _who(self, principal: Principal, caller: str) -> str:
        if caller:
            return caller
        if principal.kind == "role":
            return self.callers.get(principal.arn, principal.arn.rsplit("/", 1)[-1])
        return principal.arn

    def _record(self, principal: Principal, decision: Decision, caller: str) -> None:
        who = self._who(principal, caller)
        with self._lock:
            usage = self.usage.setdefault(principal.arn, Usage())
            if decision.allowed:
                label = decision.statement.label if decision.statement else ""
                usage.allowed.add((decision.action, decision.resource, label))
                return
            key = (who, decision.action, decision.resource)
            if key in usage.denied:
                usage.denied[key]["count"] += 1
                return
            would_allow = self.would_allow(principal, decision)
            usage.denied[key] = {
                "caller": who,
                "action": decision.action,
                "resource": decision.resource,
                "reason": decision.reason,
                "wouldAllow": would_allow,
                "count": 1,
            }
        verb = "denied" if self.mode == Mode.ENFORCE else "would be denied (report mode)"
        log.warning(
            "IAM %s: %s %s on %s %s; %s",
            verb,
            who,
            decision.action,
            decision.resource,
            decision.reason,
            f"allowed by {would_allow}" if would_allow else "no statement in the app allows it",
        )

    def would_allow(self, principal: Principal, decision: Decision) -> str:
        """A statement of the app that grants this action on this resource (to any role), if one exists."""
        if decision.explicit_deny and decision.statement is not None:
            return ""
        own = self.roles.get(principal.arn)
        candidates: list[tuple[str, Sequence[Statement]]] = []
        if own is not None:
            candidates.append((own.name, own.statements))
        candidates.extend((role.name, role.statements) for role in self.roles.values() if role is not own)
        candidates.append(("resource policy", self.resource_policy(decision.resource) or []))
        for _, statements in candidates:
            statement = granting(statements, decision.action, decision.resource)
            if statement is not None:
                return statement.label
        return ""

    def roles_by_caller(self) -> Mapping[str, Role]:
        return {caller: self.roles[arn] for arn, caller in self.callers.items() if arn in self.roles}
