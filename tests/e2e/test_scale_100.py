"""100 tenants end to end with the real CLI: up, every tenant's streams on the server, a no-op
preview, destroy (nothing left in the store, the server stopped).

With the file backend the CLI rewrites the whole state after every resource step, which makes an
`up` of ~1,500 resources quadratic (over 10 minutes here); this run sets PULUMI_SKIP_CHECKPOINTS, as
the README advises for large stacks, so state is written once per command (see benchmarks/README.md
for the measured times and the trade-off).
"""
from __future__ import annotations

import asyncio
import json
import os
import time

import nats
from nats.aio.client import RawCredentials

from components.providers import nats_process
from tests.e2e.conftest import server_pid, small_environment
from tests.support.pulumi_cli import PulumiProject

TENANTS = ("acme",) + tuple(f"t{i:03d}" for i in range(99))


async def _names_per_tenant(url: str, tenants: dict) -> dict[str, list[str]]:
    out = {}
    for tid, t in tenants.items():
        nc = await nats.connect(url, user_credentials=RawCredentials(t["creds"]["service"]), allow_reconnect=False,
                                max_reconnect_attempts=1, connect_timeout=3)
        try:
            msg = await nc.request("$JS.API.STREAM.NAMES", b"{}", timeout=3)
            out[tid] = sorted(json.loads(msg.data).get("streams") or [])
        finally:
            await nc.close()
    return out


def test_hundred_tenants_up_noop_destroy(project: PulumiProject) -> None:
    project.extra_env["PULUMI_SKIP_CHECKPOINTS"] = "true"
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    # The server must hold every tenant's JetStream reservation (100 x 8MiB memory, 100 x 64MiB file).
    project.write_environment(small_environment(client, monitor, leaf, tenants=TENANTS,
                                                server_max_memory="1GiB", server_max_file="8GiB"))
    project.init()
    t0 = time.monotonic()
    project.up(timeout=5400)
    t_up = time.monotonic() - t0

    outputs = project.outputs(show_secrets=True)
    assert sorted(outputs["tenants"]) == sorted(TENANTS)
    assert len(set(outputs["platform"]["shard_of"].values())) == 1
    names = asyncio.run(_names_per_tenant(outputs["nats_url"], outputs["tenants"]))
    for tid, t in outputs["tenants"].items():
        expected = sorted(list(t["streams"]) + [f"KV_{b}" for b in t["kv_buckets"]])
        assert names[tid] == expected, (tid, names[tid], expected)

    project.preview("--expect-no-changes", timeout=1800)
    pid = server_pid(project)
    store = os.path.join(project.project_dir, ".state", "test", "nats", "jetstream", "jetstream")
    t1 = time.monotonic()
    project.destroy(timeout=5400)
    t_destroy = time.monotonic() - t1
    assert not nats_process.pid_alive(pid), "destroy must stop the server it started"
    leftovers = [a for a in (os.listdir(store) if os.path.isdir(store) else [])
                 if os.path.isdir(os.path.join(store, a, "streams")) and os.listdir(os.path.join(store, a, "streams"))]
    assert not leftovers, f"accounts with streams left in the store: {leftovers}"
    print(f"100 tenants: up {t_up:.0f}s, destroy {t_destroy:.0f}s")
