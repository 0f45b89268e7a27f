"""A local three-server cluster per test (fault tests change it), stopped by PID afterwards."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.server.cluster.cluster_support import LocalCluster, cluster_environment


@pytest.fixture
def cluster(tmp_path) -> Iterator[LocalCluster]:
    c = LocalCluster(cluster_environment(3, "jetstream: {sync_interval: always}\n"), str(tmp_path))
    try:
        c.start_all()
        c.wait_routes()
        yield c
    finally:
        c.stop_all()
