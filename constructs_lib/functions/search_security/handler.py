"""Deploy-time custom resource: OpenSearch security roles and role mappings for a SearchDomain.

With fine-grained access control on, an IAM policy lets a role reach the domain, but OpenSearch
itself still needs the role mapped to an OpenSearch role before it may read or write. This
function runs as the domain's master user (its role is the domain's ``master_user_arn``) and, on
every deployment, PUTs the roles and role mappings the SearchDomain declares: the indexers'
write roles, the searchers' read roles and the Dashboards users' roles. On delete it removes
what it created; a failure to remove never blocks the stack's deletion.

ResourceProperties: Endpoint (https://host), Roles ({name: role body}), Mappings ({role name:
[backend role ARN, ...]}).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Mapping
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


def _put(client: OpenSearchClient, path: str, body: Any) -> None:
    delay = _FIRST_DELAY_SECONDS
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            client.request("PUT", path, body)
        except OpenSearchError as error:
            if error.status not in _RETRY_STATUSES or attempt == _ATTEMPTS:
                raise
            logger.warning("Security API not ready; retrying", path=path, status=error.status)
            time.sleep(delay)
            delay *= 2
        else:
            return


def _delete(client: OpenSearchClient, path: str) -> None:
    try:
        client.request("DELETE", path)
    except OpenSearchError as error:
        if error.status != 404:  # already gone is what we wanted
            raise


def apply(client: OpenSearchClient, roles: Mapping[str, Any], mappings: Mapping[str, list[str]]) -> None:
    """Create or replace every role, then every role mapping (a mapping may name a role above)."""
    for name, body in roles.items():
        _put(client, f"{_SECURITY_API}/roles/{quote(name, safe='')}", body)
    for name, backend_roles in mappings.items():
        _put(client, f"{_SECURITY_API}/rolesmapping/{quote(name, safe='')}", {"backend_roles": backend_roles})


def remove(client: OpenSearchClient, roles: Mapping[str, Any], mappings: Mapping[str, Any]) -> None:
    """Delete the given role mappings, then the given roles."""
    for name in mappings:
        _delete(client, f"{_SECURITY_API}/rolesmapping/{quote(name, safe='')}")
    for name in roles:
        _delete(client, f"{_SECURITY_API}/roles/{quote(name, safe='')}")


def _stale(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in old.items() if name not in new}


def handle(event: Mapping[str, Any]) -> None:
    """Apply a CloudFormation custom resource event to the domain; raises on failure."""
    props = event["ResourceProperties"]
    client = OpenSearchClient(props["Endpoint"])
    roles, mappings = props.get("Roles", {}), props.get("Mappings", {})
    if event["RequestType"] == "Delete":
        remove(client, roles, mappings)
        return
    apply(client, roles, mappings)
    if event["RequestType"] == "Update":
        old = event.get("OldResourceProperties", {})
        remove(client, _stale(old.get("Roles", {}), roles), _stale(old.get("Mappings", {}), mappings))


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
