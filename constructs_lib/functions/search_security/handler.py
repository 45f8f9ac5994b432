"""Deploy-time custom resource: OpenSearch security roles and role mappings for a SearchDomain.

With fine-grained access control on, an IAM policy lets a role reach the domain, but OpenSearch
itself still needs the role mapped to an OpenSearch role before it may read or write. This
function runs as the domain's master user (its role is the domain's ``master_user_arn``) and, on
every deployment, applies the roles and role mappings the SearchDomain declares: the indexers'
write roles, the searchers' read roles and the Dashboards users' roles.

What it owns, and only that, it replaces and deletes:

- A declared role, and its mapping, are written whole (PUT) with an owner marker in their
  ``description``: this resource's stack and logical id. On delete, and when an update drops
  them, they are removed only if they still carry this resource's marker. So when a refactor
  gives the resource a new logical id, and CloudFormation creates the new resource before
  deleting the old one, the old one's delete leaves the roles the new one just wrote.
- A mapping of a role it does not declare (the built-in ``kibana_user``, ``readall``, or a role
  an operator made) is changed additively (PATCH of its ``backend_roles`` only; created with PUT
  only where there is none yet): its backend roles are added to what is there,
  and an update removes only the ones a previous deployment added and this one no longer
  declares. What an operator mapped in Dashboards survives every deployment; a delete leaves these
  mappings alone (another resource may have just added the same backend role).

A failure to remove never blocks the stack's deletion.

ResourceProperties: Endpoint (https://host), Roles ({name: role body}), Mappings ({role name:
[backend role ARN, ...]}).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from constructs_lib.runtime.opensearch import OpenSearchClient, OpenSearchError

logger = Logger()
_SECURITY_API = "/_plugins/_security/api"
# Right after the domain is created, the security plugin may answer 401/403/5xx for a minute or two.
_RETRY_STATUSES = {0, 401, 403, 429, 500, 502, 503, 504}
_ATTEMPTS = 8
_FIRST_DELAY_SECONDS = 2.0
OWNER_MARKER = "Managed by constructs_lib SearchDomain, owner "


def owner_of(event: Mapping[str, Any]) -> str:
    """The marker of what this custom resource owns: its stack and its logical id."""
    return f"{OWNER_MARKER}{event['StackId']}/{event['LogicalResourceId']}"


def _call(client: OpenSearchClient, method: str, path: str, body: Any = None) -> Any:
    delay = _FIRST_DELAY_SECONDS
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return client.request(method, path, body)[1]
        except OpenSearchError as error:
            if error.status not in _RETRY_STATUSES or attempt == _ATTEMPTS:
                raise
            logger.warning("Security API not ready; retrying", path=path, status=error.status)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable: the last attempt returns or raises")


def _path(kind: str, name: str) -> str:
    return f"{_SECURITY_API}/{kind}/{quote(name, safe='')}"


def _get(client: OpenSearchClient, kind: str, name: str) -> dict[str, Any] | None:
    """The role or role mapping `name`, or None if there is none."""
    try:
        reply = _call(client, "GET", _path(kind, name))
    except OpenSearchError as error:
        if error.status == 404:
            return None
        raise
    found = reply.get(name) if isinstance(reply, dict) else None
    return found if isinstance(found, dict) else None


def _delete_own(client: OpenSearchClient, kind: str, name: str, owner: str) -> None:
    current = _get(client, kind, name)
    if current is None:
        return  # already gone is what we wanted
    if current.get("description") != owner:
        logger.info(
            "Left in place: not this resource's", kind=kind, item=name, marked=current.get("description")
        )
        return
    try:
        _call(client, "DELETE", _path(kind, name))
    except OpenSearchError as error:
        if error.status != 404:
            raise


def _add_backend_roles(client: OpenSearchClient, name: str, backend_roles: Sequence[str]) -> None:
    current = _get(client, "rolesmapping", name)
    if current is None:  # nothing there to keep
        _call(client, "PUT", _path("rolesmapping", name), {"backend_roles": list(backend_roles)})
        return
    present = list(current.get("backend_roles", []))
    missing = [role for role in backend_roles if role not in present]
    if missing:
        patch = [{"op": "add", "path": "/backend_roles", "value": present + missing}]
        _call(client, "PATCH", _path("rolesmapping", name), patch)


def _remove_backend_roles(client: OpenSearchClient, name: str, backend_roles: Sequence[str]) -> None:
    current = _get(client, "rolesmapping", name)
    if current is None:
        return
    present = list(current.get("backend_roles", []))
    kept = [role for role in present if role not in backend_roles]
    if kept != present:
        patch = [{"op": "add", "path": "/backend_roles", "value": kept}]
        _call(client, "PATCH", _path("rolesmapping", name), patch)


def apply(
    client: OpenSearchClient, roles: Mapping[str, Any], mappings: Mapping[str, list[str]], owner: str
) -> None:
    """Write every owned role, then every mapping (a mapping may name a role above)."""
    for name, body in roles.items():
        _call(client, "PUT", _path("roles", name), {**body, "description": owner})
    for name, backend_roles in mappings.items():
        if name in roles:
            _call(
                client,
                "PUT",
                _path("rolesmapping", name),
                {"backend_roles": backend_roles, "description": owner},
            )
        else:
            _add_backend_roles(client, name, backend_roles)


def remove(client: OpenSearchClient, roles: Mapping[str, Any], owner: str) -> None:
    """Delete the mappings, then the roles, of `roles` that `owner` still owns."""
    for name in roles:
        _delete_own(client, "rolesmapping", name, owner)
    for name in roles:
        _delete_own(client, "roles", name, owner)


def handle(event: Mapping[str, Any], client: OpenSearchClient | None = None) -> None:
    """Apply a CloudFormation custom resource event to the domain; raises on failure."""
    props = event["ResourceProperties"]
    client = client or OpenSearchClient(props["Endpoint"])
    owner = owner_of(event)
    roles, mappings = props.get("Roles", {}), props.get("Mappings", {})
    if event["RequestType"] == "Delete":
        remove(client, roles, owner)
        return
    apply(client, roles, mappings, owner)
    if event["RequestType"] == "Update":
        old = event.get("OldResourceProperties", {})
        old_roles = old.get("Roles", {})
        remove(client, {name: body for name, body in old_roles.items() if name not in roles}, owner)
        for name, old_backend_roles in old.get("Mappings", {}).items():
            if name in roles or name in old_roles:
                continue
            dropped = [role for role in old_backend_roles if role not in mappings.get(name, [])]
            if dropped:
                _remove_backend_roles(client, name, dropped)


def _respond(event: Mapping[str, Any], status: str, reason: str, context: LambdaContext) -> None:
    url = event["ResponseURL"]
    if urlsplit(url).scheme != "https":
        raise ValueError("ResponseURL must be https")
    body = json.dumps(
        {
            "Status": status,
            "Reason": f"{reason} (log stream {context.log_stream_name})"[:1000],
            "PhysicalResourceId": event.get("PhysicalResourceId") or f"{event['LogicalResourceId']}-security",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
        }
    ).encode()
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310 -- https checked above
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310 -- https checked above
        pass


@logger.inject_lambda_context
def handler(event: Mapping[str, Any], context: LambdaContext) -> None:
    status, reason = "SUCCESS", "security roles and mappings applied"
    try:
        handle(event)
    except Exception as error:
        logger.exception("Applying security roles failed", request_type=event["RequestType"])
        problem = f"{type(error).__name__}: {error}"
        # A domain that is already gone (or unreachable) must not block the stack's deletion.
        if event["RequestType"] == "Delete":
            reason = f"roles left in place: {problem}"
        else:
            status, reason = "FAILED", problem
    _respond(event, status, reason, context)
