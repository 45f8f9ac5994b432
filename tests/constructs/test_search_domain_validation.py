"""SearchDomain: what OpenSearch refuses at deployment, or aws-cdk-lib throws through jsii, fails at synth.

Nothing here synthesizes: each case builds into a fresh stack of one shared App (issue #18).
"""

from __future__ import annotations

import re
from itertools import count

import pytest
from aws_cdk import App, Stack

from constructs_lib import SearchDomain, SearchDomainSize
from tests.cdk import TEST_ENV, new_app

_ids = count()
DEV = SearchDomainSize.dev()
PRODUCTION = SearchDomainSize.production()


@pytest.fixture(scope="module")
def app() -> App:
    return new_app()


CASES = {
    "no-search-suffix": (
        DEV.with_(data_node_instance_type="t3.small"),
        "size.data_node_instance_type: 't3.small' is not an OpenSearch instance type; they are named "
        "<family>.<size>.search, e.g. 't3.small.search'",
    ),
    "elasticsearch-suffix": (
        PRODUCTION.with_(master_node_instance_type="m6g.large.elasticsearch"),
        "size.master_node_instance_type: 'm6g.large.elasticsearch' is not an OpenSearch instance type; they "
        "are named <family>.<size>.search, e.g. 'r6g.large.search'",
    ),
    "instance-storage-only": (
        DEV.with_(data_node_instance_type="i3.large.search"),
        "size.data_node_instance_type: i3.large.search has instance storage only, and this domain stores "
        "data on gp3 EBS volumes; use an EBS-backed type such as r6g.large.search or m6g.large.search",
    ),
    "no-encryption-at-rest": (
        DEV.with_(data_node_instance_type="t2.small.search"),
        "size.data_node_instance_type: t2.small.search cannot encrypt data at rest, which this domain "
        "always does (fine-grained access control needs it); use a current generation type such as "
        "t3.small.search or r6g.large.search",
    ),
    "four-masters": (
        PRODUCTION.with_(master_nodes=4),
        "size.master_nodes: OpenSearch refuses 4 dedicated master nodes (a quorum of 3 out of 4 tolerates no "
        "more failures than 3 nodes); use 3 or 5",
    ),
    "volume-over-the-type-limit": (
        DEV.with_(volume_size_gib=101),
        "size.volume_size_gib: 101 GiB is more than t3.small.search takes (100 GiB per node); use a smaller "
        "volume or a larger instance type",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cluster_opensearch_would_refuse_raises(app: App, case: str) -> None:
    size, message = CASES[case]
    stack = Stack(app, f"Test{next(_ids)}", env=TEST_ENV)
    with pytest.raises(ValueError, match=re.escape(f"{stack.node.path}/Bad: {message}")):
        SearchDomain(stack, "Bad", cognito_domain_prefix="images-search", size=size)


def test_five_masters_and_a_large_volume_on_a_large_type_pass(app: App) -> None:
    stack = Stack(app, f"Test{next(_ids)}", env=TEST_ENV)
    SearchDomain(
        stack,
        "Good",
        cognito_domain_prefix="images-search",
        size=PRODUCTION.with_(master_nodes=5, volume_size_gib=1000),
    )
