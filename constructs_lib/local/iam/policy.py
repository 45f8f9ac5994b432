"""IAM policy documents and their evaluation for one account, with IAM's rules.

A request is denied by an explicit ``Deny`` in any applicable policy; otherwise it is allowed by an
``Allow`` in the principal's identity-based policies or in the resource's resource-based policy (an
allow in either suffices within one account), except where the resource policy must itself allow:
KMS key policies and role trust policies, where a statement naming the account root only delegates
to the identity policies. Everything else is an implicit deny.

Not evaluated: service control and resource control policies, permission boundaries, session
policies and cross-account access (every principal is in the app's one account).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from constructs_lib.local.iam.conditions import (
    Context,
    UnsupportedConditionError,
    arn_matches,
    conditions_hold,
    matches,
)

Effect = Literal["Allow", "Deny"]
PrincipalKind = Literal["role", "service", "anonymous"]
# Resources whose own policy must allow a request, even for a principal of the same account.
POLICY_REQUIRED_PREFIXES = ("arn:aws:kms:", "arn:aws:iam:")


@dataclass(frozen=True)
class Principal:
    """Who makes a request: a role session, an AWS service, or an anonymous caller."""

    kind: PrincipalKind
    arn: str  # the role's ARN, the service principal (``sns.amazonaws.com``), or ``*``
    account: str
    session_arn: str = ""  # arn:aws:sts::<account>:assumed-role/<role>/<session>, for messages
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The caller as AWS's messages name it."""
        return self.session_arn or self.arn

    def context(self) -> dict[str, str]:
        """The global condition keys IAM sets for this principal."""
        if self.kind != "role":
            return {"aws:PrincipalServiceName": self.arn} if self.kind == "service" else {}
        values = {
            "aws:PrincipalArn": self.arn,
            "aws:PrincipalAccount": self.account,
            "aws:PrincipalType": "AssumedRole",
            "aws:userid": self.session_arn.rsplit("/", 1)[-1],
        }
        values.update({f"aws:PrincipalTag/{key}": value for key, value in self.tags.items()})
        return values


@dataclass(frozen=True)
class Statement:
    """One statement of a policy, with where it came from (for log lines and reports)."""

    label: str  # "RoleName/PolicyName statement 2 (Sid)"
    effect: Effect
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    principals: Mapping[str, tuple[str, ...]] | None = None  # None: an identity policy's statement
    not_principal: bool = False
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def matches_action(self, action: str) -> bool:
        hit = any(matches(pattern, action, case_sensitive=False) for pattern in self.actions)
        return hit != self.not_action

    def matches_resource(self, resource: str) -> bool:
        hit = any(resource_matches(pattern, resource) for pattern in self.resources)
        return hit != self.not_resource

    def principal_match(self, principal: Principal) -> Literal["direct", "account", "none"]:
        """How this resource-policy statement names `principal`: directly, via its account root, or not."""
        if self.principals is None:
            return "direct"
        found: Literal["direct", "account", "none"] = "none"
        for kind, values in self.principals.items():
            for value in values:
                if (value == "*" and kind in ("AWS", "*")) or (
                    kind == "Service" and principal.kind == "service" and value == principal.arn
                ):
                    found = "direct"
                elif kind == "AWS" and principal.kind == "role":
                    if value in (principal.arn, principal.session_arn):
                        found = "direct"
                    elif value in (principal.account, f"arn:aws:iam::{principal.account}:root"):
                        found = "account" if found == "none" else found
        if self.not_principal:
            return "none" if found != "none" else "direct"
        return found

    def applies(self, action: str, resource: str, context: Context) -> bool:
        if not (self.matches_action(action) and self.matches_resource(resource)):
            return False
        try:
            return conditions_hold(self.conditions, context)
        except UnsupportedConditionError:
            # Undecidable: a Deny applies (fail closed), an Allow does not.
            return self.effect == "Deny"
        except ValueError:  # a value of the wrong type (a date that is no date): the condition is false
            return False


def resource_matches(pattern: str, resource: str) -> bool:
    if pattern == "*" or resource == "*":
        return pattern == "*"
    if pattern.count(":") >= 5 and resource.count(":") >= 5:
        return arn_matches(pattern, resource)
    return matches(pattern, resource)


def _strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(str(item) for item in items)


def parse_policy(document: Mapping[str, Any], label: str) -> list[Statement]:
    """The statements of a resolved policy document; `label` names the policy in reports."""
    raw = document.get("Statement", [])
    statements = [raw] if isinstance(raw, Mapping) else list(raw)
    parsed = []
    for index, statement in enumerate(statements):
        sid = statement.get("Sid")
        name = f"{label} statement {index}" + (f" ({sid})" if sid else "")
        principal = statement.get("Principal", statement.get("NotPrincipal"))
        principals: dict[str, tuple[str, ...]] | None = None
        if principal is not None:
            principals = (
                {"*": ("*",)}
                if principal == "*"
                else {kind: _strings(values) for kind, values in principal.items()}
            )
        parsed.append(
            Statement(
                label=name,
                effect="Deny" if statement.get("Effect") == "Deny" else "Allow",
                actions=_strings(statement.get("Action", statement.get("NotAction", []))),
                not_action="NotAction" in statement,
                resources=_strings(statement.get("Resource", statement.get("NotResource", "*"))),
                not_resource="NotResource" in statement,
                principals=principals,
                not_principal="NotPrincipal" in statement,
                conditions=statement.get("Condition", {}),
            )
        )
    return parsed


@dataclass(frozen=True)
class Decision:
    """The outcome for one action on one resource, and the statement that decided it."""

    allowed: bool
    action: str
    resource: str
    statement: Statement | None = None  # the allow or the explicit deny; None for an implicit deny
    reason: str = ""  # for a denial, AWS's "because ..." clause

    @property
    def explicit_deny(self) -> bool:
        return not self.allowed and self.statement is not None


def evaluate(  # noqa: PLR0911 -- one return per outcome of IAM's evaluation logic
    principal: Principal,
    action: str,
    resource: str,
    context: Context,
    *,
    identity: Sequence[Statement] = (),
    resource_policy: Sequence[Statement] | None = None,
) -> Decision:
    """Decide one request as IAM does within one account (see the module docstring)."""
    full_context = {**principal.context(), **context}
    in_identity = (
        [s for s in identity if s.applies(action, resource, full_context)] if principal.kind == "role" else []
    )
    in_resource: list[tuple[Statement, str]] = []
    for statement in resource_policy or ():
        how = statement.principal_match(principal)
        if how != "none" and statement.applies(action, resource, full_context):
            in_resource.append((statement, how))
    for statement in [*in_identity, *(s for s, _ in in_resource)]:
        if statement.effect == "Deny":
            kind = "resource-based" if statement.principals is not None else "identity-based"
            return Decision(False, action, resource, statement, f"with an explicit deny in a {kind} policy")
    identity_allow = next((s for s in in_identity if s.effect == "Allow"), None)
    direct = next((s for s, how in in_resource if how == "direct"), None)
    delegated = next((s for s, how in in_resource if how == "account"), None)
    if direct is not None:
        return Decision(True, action, resource, direct)
    if (
        any(resource.startswith(prefix) for prefix in POLICY_REQUIRED_PREFIXES)
        and resource_policy is not None
    ):
        if delegated is not None and identity_allow is not None:
            return Decision(True, action, resource, identity_allow)
        if delegated is None:
            return Decision(
                False,
                action,
                resource,
                None,
                "because no resource-based policy allows the " + action + " action",
            )
        return Decision(
            False, action, resource, None, f"because no identity-based policy allows the {action} action"
        )
    if identity_allow is not None:
        return Decision(True, action, resource, identity_allow)
    if principal.kind != "role":
        return Decision(
            False, action, resource, None, f"because no resource-based policy allows the {action} action"
        )
    return Decision(
        False, action, resource, None, f"because no identity-based policy allows the {action} action"
    )


def granting(statements: Iterable[Statement], action: str, resource: str) -> Statement | None:
    """The first Allow statement naming this action and resource, conditions aside (for log lines)."""
    for statement in statements:
        if (
            statement.effect == "Allow"
            and statement.matches_action(action)
            and statement.matches_resource(resource)
        ):
            return statement
    return None
