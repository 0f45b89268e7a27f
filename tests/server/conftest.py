"""The server tests' shared fixture: one real nats-server (JetStream on, loopback ports) per test
module, stopped by its PID when the module is done."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.support.nats_server import RunningServer, make_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    srv = make_server(str(tmp_path_factory.mktemp("nats"))).start()
    try:
        yield srv
    finally:
        srv.stop()
