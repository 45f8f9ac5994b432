"""SearchDomain's checks of what OpenSearch Service refuses at deployment, or aws-cdk-lib throws through jsii.

The construct always stores data on gp3 EBS volumes, encrypts at rest and turns on fine-grained
access control, so instance types that cannot do those are refused here, with the prop's name.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from aws_cdk import aws_iam as iam
from aws_cdk import aws_opensearchservice as opensearch

from constructs_lib import _resolved
from constructs_lib._validation import PropErrors

if TYPE_CHECKING:
    from constructs_lib.composite_key_table import CompositeKeyTable
    from constructs_lib.search_domain import SearchDomainSize

# OpenSearch names instance types <family>.<size>.search (ClusterConfig InstanceType's valid values,
# https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_ClusterConfig.html);
# aws-cdk-lib throws 'Master, data and UltraWarm node instance types must end with ".search"'.
INSTANCE_TYPE = re.compile(r"([a-z][a-z0-9-]*)\.([a-z0-9]+)\.search")
# Families with instance storage only: aws-cdk-lib's Domain throws "do not support EBS storage
# volumes" for them (its unSupportEbsInstanceType list, aws-cdk-lib 2.275).
NO_EBS_FAMILIES = ("i3", "r6gd", "i4g", "i4i", "i8g", "im4gn", "r7gd", "r8gd", "oi2")
# Families without encryption at rest, which fine-grained access control requires: aws-cdk-lib
# throws "do not support encryption of data at rest" (OpenSearch developer guide, encryption-at-rest).
NO_ENCRYPTION_FAMILIES = ("m3", "r3", "t2")
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,254}$")  # OpenSearch's rule for index names
# "DedicatedMasterCount: ... must be greater than 2 and not 4, otherwise you receive a validation
# exception" (API_ClusterConfig, as above).
REFUSED_MASTER_COUNT = 4
# Largest gp3 volume per node of the burstable types (OpenSearch developer guide, EBS volume size
# quotas, limits.html#ebsresource); other types allow far more, up to the 16384 GiB checked already.
MAX_VOLUME_GIB = {"t3.small.search": 100, "t3.medium.search": 200}


def check_size(errors: PropErrors, size: SearchDomainSize) -> None:
    """Everything wrong with a domain's size: its shape, then what OpenSearch or aws-cdk-lib would refuse.

    data_nodes and volume_size_gib may come from tokens (CfnParameters): they are not judged, they
    resolve at deploy. The zones and the dedicated masters decide the domain's shape at synth.
    """
    shaped = True
    for prop in ("availability_zones", "master_nodes"):
        if _resolved.is_unresolved(getattr(size, prop)):
            shaped = False
            errors.add(
                f"size.{prop}",
                "comes from a token (a CfnParameter), but it decides the domain's zone awareness and "
                "dedicated masters at synth; give a number",
            )
    if not shaped:
        return
    if _resolved.is_unresolved(size.data_nodes) or _resolved.is_unresolved(size.volume_size_gib):
        # Judged as the smallest values the other checks accept, so that only concrete ones can fail.
        size = replace(
            size,
            data_nodes=size.availability_zones
            if _resolved.is_unresolved(size.data_nodes)
            else size.data_nodes,
            volume_size_gib=10 if _resolved.is_unresolved(size.volume_size_gib) else size.volume_size_gib,
        )
    _check_shape(errors, size)
    _check_cluster(errors, size)


def _check_shape(errors: PropErrors, size: SearchDomainSize) -> None:
    errors.check(size.data_nodes >= 1, "size.data_nodes", "must be at least 1")
    errors.check(
        size.availability_zones in (1, 2, 3),
        "size.availability_zones",
        f"{size.availability_zones} is not 1 (no zone awareness), 2 or 3",
    )
    if size.availability_zones in (2, 3):
        errors.check(
            size.data_nodes % size.availability_zones == 0,
            "size.data_nodes",
            f"{size.data_nodes} nodes cannot spread evenly over {size.availability_zones} zones; "
            f"use a multiple of {size.availability_zones}",
        )
    errors.check(
        size.master_nodes == 0 or size.master_nodes >= 3,
        "size.master_nodes",
        f"{size.master_nodes} dedicated masters cannot keep a quorum after losing one; use 0 or at least 3",
    )
    errors.check(
        (size.master_nodes == 0) == (size.master_node_instance_type is None),
        "size.master_node_instance_type",
        "set it exactly when master_nodes is more than 0",
    )
    errors.check(10 <= size.volume_size_gib <= 16384, "size.volume_size_gib", "must be 10-16384 GiB of gp3")
    if size.multi_az_with_standby:
        errors.check(
            size.availability_zones == 3 and size.master_nodes >= 3,
            "size.multi_az_with_standby",
            "needs availability_zones=3 and at least 3 master_nodes; set those or turn standby off",
        )
        errors.check(
            not size.data_node_instance_type.startswith(("t2.", "t3.")),
            "size.multi_az_with_standby",
            f"is not available on burstable {size.data_node_instance_type}; use e.g. r6g.large.search",
        )


def _check_cluster(errors: PropErrors, size: SearchDomainSize) -> None:
    """Instance types OpenSearch and this construct's storage and encryption accept; master count; volume."""
    types = [("size.data_node_instance_type", size.data_node_instance_type)]
    if size.master_node_instance_type is not None:
        types.append(("size.master_node_instance_type", size.master_node_instance_type))
    for prop, instance_type in types:
        match = INSTANCE_TYPE.fullmatch(instance_type)
        if match is None:
            errors.add(
                prop,
                f"'{instance_type}' is not an OpenSearch instance type; they are named "
                f"<family>.<size>.search, e.g. '{_suggest(instance_type)}'",
            )
            continue
        family = match.group(1)
        errors.check(
            family not in NO_EBS_FAMILIES,
            prop,
            f"{instance_type} has instance storage only, and this domain stores data on gp3 EBS volumes; "
            "use an EBS-backed type such as r6g.large.search or m6g.large.search",
        )
        errors.check(
            family not in NO_ENCRYPTION_FAMILIES,
            prop,
            f"{instance_type} cannot encrypt data at rest, which this domain always does (fine-grained "
            "access control needs it); use a current generation type such as t3.small.search or "
            "r6g.large.search",
        )
    errors.check(
        size.master_nodes != REFUSED_MASTER_COUNT,
        "size.master_nodes",
        "OpenSearch refuses 4 dedicated master nodes (a quorum of 3 out of 4 tolerates no more failures "
        "than 3 nodes); use 3 or 5",
    )
    largest = MAX_VOLUME_GIB.get(size.data_node_instance_type)
    errors.check(
        largest is None or size.volume_size_gib <= largest,
        "size.volume_size_gib",
        f"{size.volume_size_gib} GiB is more than {size.data_node_instance_type} takes ({largest} GiB per "
        "node); use a smaller volume or a larger instance type",
    )


def _suggest(instance_type: str) -> str:
    parts = instance_type.removesuffix(".search").split(".")
    return f"{parts[0]}.{parts[1]}.search" if len(parts) == 2 and all(parts) else "r6g.large.search"


def check_version(errors: PropErrors, version: opensearch.EngineVersion, minimum: tuple[int, ...]) -> None:
    """An OpenSearch engine of at least `minimum` (its name read through jsii once)."""
    name = version.version
    engine, _, number = name.partition("_")
    errors.check(
        engine == "OpenSearch"
        and tuple(int(part) for part in number.split(".") if part.isdigit()) >= minimum,
        "version",
        f"{name} is older than the supported minimum OpenSearch {'.'.join(map(str, minimum))}; use "
        "EngineVersion.OPENSEARCH_2_19",
    )


def check_index_table(
    errors: PropErrors, table: CompositeKeyTable, *, index_name: str, id_attribute: str, indexed: set[str]
) -> None:
    """`SearchDomain.index_table`: one indexer per index (`indexed`: those that have one), a stream
    with new images, and the old image too when `id_attribute` is not a key (deletes need it)."""
    errors.check(
        index_name not in indexed,
        "index_name",
        f"'{index_name}' already has an indexer; one table feeds one index",
    )
    errors.check(bool(id_attribute), "id_attribute", "name the attribute whose value is the document id")
    view = table.stream_view_type.value if table.stream_view_type is not None else None
    keys = {key.name for key in (table.partition_key, table.sort_key) if key is not None}
    if view is None:
        errors.add(
            "table",
            f"{table.node.path} has no stream; create it with stream=StreamViewType.NEW_AND_OLD_IMAGES",
        )
    elif view not in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        errors.add("table", f"its {view} stream has no new images to index; use NEW_AND_OLD_IMAGES")
    elif id_attribute and id_attribute not in keys and view != "NEW_AND_OLD_IMAGES":
        errors.add(
            "id_attribute",
            f"'{id_attribute}' is not a key of {table.node.path}, so deletes need the old image: "
            "use stream=StreamViewType.NEW_AND_OLD_IMAGES",
        )


def check_index_name(errors: PropErrors, prop: str, index_name: str) -> None:
    """Record in `errors` an OpenSearch index name the domain would refuse."""
    errors.check(
        bool(_INDEX_NAME.match(index_name)),
        prop,
        f"'{index_name}' must be lowercase a-z, 0-9, '_', '-', '.', starting with a letter or digit",
    )


def role_arn_of(errors: PropErrors, prop: str, grantee: iam.IGrantable) -> str:
    """The ARN of the IAM role `grantee` acts through, which OpenSearch maps; recorded in `errors` if none."""
    arn = getattr(grantee.grant_principal, "role_arn", None)
    if not isinstance(arn, str):
        errors.add(prop, "must be (or act through) an IAM role, which OpenSearch maps to a security role")
    return str(arn)
