"""Account JetStream limits (plain config, no operator): errors name the tenant, limit and value."""
from __future__ import annotations

import os
from typing import Iterator

import pytest

from components.nats_io.errors import (
    JetStreamNotEnabledForAccount,
    MaxConsumersReached,
    MaxStreamsReached,
    MemoryExceeded,
    StorageExceeded,
)
from components.providers import nats_process
from components.providers.consumer import ConsumerProvider
from components.providers.stream import StreamProvider

CONF = """
listen: 127.0.0.1:{port}
http: 127.0.0.1:{monitor}
jetstream {{ store_dir: {store!s} }}
accounts {{
  T {{
    jetstream {{ max_streams: 1, max_consumers: 1, max_file: 1MB, max_mem: 0 }}
    users [ {{ user: "t", password: "tpass" }} ]
  }}
  NOJS {{ users [ {{ user: "nojs", password: "nojspass" }} ] }}
}}
"""


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = str(tmp_path_factory.mktemp("limits"))
    port, monitor = nats_process.free_port(), nats_process.free_port()
    path = os.path.join(work, "nats.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(CONF.format(port=port, monitor=monitor, store='"' + os.path.join(work, "js") + '"'))
    log = os.path.join(work, "nats.log")
    pid = nats_process.start_detached(path, log)
    try:
        nats_process.wait_healthy(f"http://127.0.0.1:{monitor}", pid, log)
        yield f"127.0.0.1:{port}"
    finally:
        nats_process.stop(pid)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def props(addr: str, user: str = "t:tpass", **fields):
    return {**fields, "server_url": f"nats://{user}@{addr}", "creds": "", "account_label": "tenant-t",
            "prevent_destroy": False}


def test_max_streams_names_tenant_limit_and_value(limited):
    p = StreamProvider()
    first = p.create(p.check({}, props(limited, name="ONE")).inputs)
    with pytest.raises(MaxStreamsReached) as err:
        p.create(p.check({}, props(limited, name="TWO")).inputs)
    text = str(err.value)
    assert err.value.err_code == 10027
    assert "tenant-t" in text and "maximum number of streams" in text and "max_streams is 1" in text
    p.delete(first.id, first.outs)


def test_storage_and_memory_limits(limited):
    p = StreamProvider()
    with pytest.raises(StorageExceeded) as err:
        p.create(p.check({}, props(limited, name="BIG", max_bytes="10MB")).inputs)
    text = str(err.value)
    assert err.value.err_code == 10047
    assert "tenant-t" in text and "file storage" in text and "max_storage is 1048576" in text
    with pytest.raises(MemoryExceeded) as err:
        p.create(p.check({}, props(limited, name="MEM", storage="memory")).inputs)
    text = str(err.value)
    assert err.value.err_code == 10028
    assert "tenant-t" in text and "memory storage" in text and "max_memory is 0" in text


def test_max_consumers(limited):
    p, c = StreamProvider(), ConsumerProvider()
    s = p.create(p.check({}, props(limited, name="CONS")).inputs)
    a = c.create(c.check({}, props(limited, stream="CONS", name="a")).inputs)
    with pytest.raises(MaxConsumersReached) as err:
        c.create(c.check({}, props(limited, stream="CONS", name="b")).inputs)
    assert err.value.err_code == 10026 and "tenant-t" in str(err.value) and "max_consumers is 1" in str(err.value)
    c.delete(a.id, a.outs)
    p.delete(s.id, s.outs)


def test_jetstream_disabled_for_account(limited):
    p = StreamProvider()
    with pytest.raises(JetStreamNotEnabledForAccount, match="JetStream is not enabled for account 'tenant-t'"):
        p.create(p.check({}, props(limited, user="nojs:nojspass", name="X")).inputs)
