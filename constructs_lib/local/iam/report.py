"""The least-privilege report of a run: per function, what it was granted and never used, and what was denied.

A grant is one (action pattern, resource pattern) pair of an Allow statement in the function role's
identity policies; it is used when an allowed request during the run matched both. Grants that
only the Lambda service itself exercises locally never (CloudWatch Logs, X-Ray) are listed apart,
so the unused list holds what the handler's code could lose.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from constructs_lib.local.iam.authorizer import Authorizer, Role
from constructs_lib.local.iam.conditions import matches
from constructs_lib.local.iam.policy import Statement, resource_matches

# Used by the Lambda service on the function's behalf (logs) or by tracing, which does not run locally.
SERVICE_USED_PREFIXES = ("logs:", "xray:")


def _grants(role: Role) -> Iterator[tuple[Statement, str, str]]:
    for statement in role.statements:
        if statement.effect != "Allow" or statement.not_action or statement.not_resource:
            continue
        for action in statement.actions:
            for resource in statement.resources:
                yield statement, action, resource


def function_report(authorizer: Authorizer, caller: str, role: Role) -> dict[str, Any]:
    usage = authorizer.usage.get(role.arn)
    used = sorted(usage.allowed) if usage else []
    unused: list[dict[str, str]] = []
    service_only: list[dict[str, str]] = []
    for statement, action, resource in _grants(role):
        hit = any(
            matches(action, used_action, case_sensitive=False) and resource_matches(resource, used_resource)
            for used_action, used_resource, _ in used
        )
        if hit:
            continue
        entry = {"action": action, "resource": resource, "statement": statement.label}
        (service_only if action.lower().startswith(SERVICE_USED_PREFIXES) else unused).append(entry)
    return {
        "role": role.arn,
        "used": sorted({f"{action} {resource}" for action, resource, _ in used}),
        "grantedButUnused": unused,
        "notExercisedLocally": service_only,
        "denied": list(usage.denied.values()) if usage else [],
        "unknownManagedPolicies": list(role.unknown_policies),
    }


def least_privilege_report(authorizer: Authorizer) -> dict[str, Any]:
    """The whole run's report: one entry per function (by its display name), and other principals' denials."""
    functions = {
        caller: function_report(authorizer, caller, role)
        for caller, role in sorted(authorizer.roles_by_caller().items())
    }
    known = {role.arn for role in authorizer.roles_by_caller().values()}
    others = {
        principal: list(usage.denied.values())
        for principal, usage in sorted(authorizer.usage.items())
        if principal not in known and usage.denied
    }
    return {"mode": authorizer.mode.value, "functions": functions, "otherDenials": others}


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The report as the lines the runner prints when it stops."""
    lines = [f"IAM least-privilege report ({report['mode']} mode):"]
    for name, entry in report["functions"].items():
        unused = ", ".join(f"{grant['action']} on {grant['resource']}" for grant in entry["grantedButUnused"])
        lines.append(
            f"  {name}: {len(entry['used'])} used, {len(entry['grantedButUnused'])} granted but unused"
            + (f" ({unused})" if unused else "")
            + f", {len(entry['denied'])} denied"
        )
    for principal, denied in report["otherDenials"].items():
        lines.append(f"  {principal}: {len(denied)} denied")
    return lines
