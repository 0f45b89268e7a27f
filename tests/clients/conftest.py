"""Client-tier fixtures: one operator-mode server with two tenants and a platform shard for the
whole tier (see ``tests.clients.tenancy``), stopped at the end."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.clients import tenancy


@pytest.fixture(scope="session")
def tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tenancy.Tenancy]:
    t = tenancy.build(str(tmp_path_factory.mktemp("clients")))
    try:
        yield t
    finally:
        t.server.stop()
