"""``check_account_storage`` against a real server: a set of streams it accepts is created in full
under an account quota, a set it refuses is refused by the server (10047 file, 10028 memory)."""
from __future__ import annotations

import os
from typing import Iterator

import pytest

from components.model.environment.checks import StorageClaim, check_account_storage
from components.model.environment.schema import Reader
from components.model.errors import Problems
from components.nats_io import jetstream as jsc
from components.nats_io.errors import MemoryExceeded, StorageExceeded
from components.providers import nats_process

MAX_FILE, MAX_MEM = 1_000_000, 100_000
CONF = """
listen: 127.0.0.1:{port}
http: 127.0.0.1:{monitor}
jetstream {{ store_dir: {store!s} }}
accounts {{
  A {{
    jetstream {{ max_file: {max_file}, max_mem: {max_mem} }}
    users [ {{ user: "a", password: "apass" }} ]
  }}
}}
"""


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = str(tmp_path_factory.mktemp("quota"))
    port, monitor = nats_process.free_port(), nats_process.free_port()
    path = os.path.join(work, "nats.conf")
    with open(path, "w", encoding="utf-8") as f:
        f.write(CONF.format(port=port, monitor=monitor, store='"' + os.path.join(work, "js") + '"',
                            max_file=MAX_FILE, max_mem=MAX_MEM))
    log = os.path.join(work, "nats.log")
    pid = nats_process.start_detached(path, log)
    try:
        nats_process.wait_healthy(f"http://127.0.0.1:{monitor}", pid, log)
        yield f"nats://a:apass@127.0.0.1:{port}"
    finally:
        nats_process.stop(pid)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _server_accepts(url: str, claims: list[StorageClaim]) -> tuple[bool, list[int]]:
    """Create every stream (unlimited ones last, the order that needs the most room), then delete
    them all; True when the server made every one."""
    ordered = [c for c in claims if c.max_bytes > 0] + [c for c in claims if c.max_bytes <= 0]

    async def go(api: jsc.JetStreamApi) -> tuple[bool, list[int]]:
        made: list[str] = []
        codes: list[int] = []
        try:
            for c in ordered:
                try:
                    await api.stream_create({"name": c.name, "subjects": [c.name.lower()], "storage": c.storage,
                                             "max_bytes": c.max_bytes, "num_replicas": c.replicas})
                    made.append(c.name)
                except (StorageExceeded, MemoryExceeded) as exc:  # anything else fails the test
                    codes.append(exc.err_code)
                    return False, codes
            return True, codes
        finally:
            for name in made:
                await api.stream_delete(name)

    return jsc.run(url, "", go, account_label="A")


def _model_accepts(claims: list[StorageClaim]) -> bool:
    r = Reader(Problems("test"))
    check_account_storage(r, "A", claims, MAX_FILE, MAX_MEM, "accounts.A")
    return not r.problems.items


def _c(name: str, max_bytes: int, storage: str = "file") -> StorageClaim:
    return StorageClaim(name, storage, max_bytes, 1, f"streams.{name}")


@pytest.mark.parametrize("claims", [
    [_c("A", 600_000), _c("B", 400_000)],                      # exactly the quota
    [_c("A", 600_000), _c("B", 400_001)],                      # one byte over
    [_c("A", 999_999), _c("U", -1)],                           # one byte left for the unlimited one
    [_c("A", 1_000_000), _c("U", -1)],                         # none left
    [_c("A", 500_000), _c("B", 500_000), _c("C", 1)],          # each fits alone, not together
    [_c("M", 60_000, "memory"), _c("N", 40_000, "memory"), _c("F", 900_000)],
    [_c("M", 60_000, "memory"), _c("N", 40_001, "memory")],
    [_c("M", 99_999, "memory"), _c("U", -1, "memory"), _c("F", 1_000_000)],
], ids=lambda claims: "+".join(f"{c.name}{c.max_bytes}" for c in claims))
def test_model_and_server_agree(url: str, claims: list[StorageClaim]) -> None:
    accepted, codes = _server_accepts(url, claims)
    assert _model_accepts(claims) is accepted, codes
    if not accepted:
        assert codes[-1] in (10047, 10028)
