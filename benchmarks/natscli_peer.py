"""The imperative peer of the benchmark: a plain script that makes, with the real ``nats`` CLI, the
JetStream objects the benchmark environment (``run.environment``) declares for N tenants.

Per tenant, as the stack makes them: the live stream ``<T>_ORDERS_LIVE`` (``<t>.events.orders.>``),
the replay stream ``<T>_ORDERS_REPLAY`` (sourcing the live one), the dead-letter stream
``<T>_DEAD_LETTERS`` (the live worker's max-deliveries advisories), the pull consumers
``<T>_ORDERS_LIVE_WORKER`` (max_deliver 3) and ``<T>_ORDERS_REPLAY_REPLAYER``, and the KV bucket
``<t>_settings`` (history 3): six objects, one ``nats`` command each, run one after the other as a
team without this tool would script it.

The accounts come first, from the identity library on a fresh operator-mode server (natscli cannot
make accounts; that is ``nsc``'s job), and are not timed: the timed part is the JetStream objects.

    .venv/bin/python benchmarks/natscli_peer.py --tenants 10,100
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from components.model.identity import roles  # noqa: E402
from components.model.identity.account import AccountLimits, AccountSpec, JetStreamLimits  # noqa: E402
from tests.clients import natscli  # noqa: E402
from tests.support.operator_mode import OperatorSetup  # noqa: E402

MIB = 1 << 20


def tenant_id(i: int) -> str:
    return f"t{i:05d}"


def commands(t: str) -> list[list[str]]:
    """The natscli commands for one tenant's objects, in dependency order."""
    T = t.upper()
    live, replay, dead = f"{T}_ORDERS_LIVE", f"{T}_ORDERS_REPLAY", f"{T}_DEAD_LETTERS"
    common = ["--storage", "file", "--retention", "limits", "--discard", "old", "--max-age", "7d",
              "--max-bytes", str(4 * MIB), "--replicas", "1", "--defaults"]
    return [
        ["stream", "add", live, "--subjects", f"{t}.events.orders.>", *common],
        ["stream", "add", replay, "--source", live, *common],
        ["stream", "add", dead, "--subjects",
         f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{live}.{live}_WORKER", *common],
        ["consumer", "add", live, f"{live}_WORKER", "--pull", "--deliver", "all", "--ack", "explicit",
         "--max-deliver", "3", "--max-pending", "500", "--defaults"],
        ["consumer", "add", replay, f"{replay}_REPLAYER", "--pull", "--deliver", "all", "--ack", "explicit",
         "--max-pending", "500", "--defaults"],
        ["kv", "add", f"{t}_settings", "--history", "3", "--storage", "file", "--max-bucket-size", str(MIB)],
    ]


def peer_run(n: int, workdir: Optional[str] = None) -> dict[str, Any]:
    """Make N tenants' objects with natscli; returns objects, wall seconds and objects per second."""
    workdir = workdir or tempfile.mkdtemp(prefix=f"nt-bench-peer-{n}-")
    server_mem, server_file = max(256, n + 64), max(10 * 1024, n * 16 + 1024)
    setup, server = _start(workdir, server_mem, server_file)
    try:
        limits = AccountLimits(conn=50, jetstream=JetStreamLimits(mem_storage=MIB, disk_storage=16 * MIB,
                                                                  streams=6, consumer=4, max_ack_pending=500))
        contexts = []
        for i in range(n):
            t = tenant_id(i)
            account, _ = setup.add_account(AccountSpec(name=t, limits=limits))
            creds = os.path.join(workdir, f"{t}.creds")
            with open(creds, "w", encoding="utf-8") as f:
                f.write(setup.user_creds(account, roles.tenant_provisioning_user(t)))
            contexts.append((t, creds))
        exe = natscli.binary()
        assert exe, natscli.missing()
        objects, failures = 0, []
        started = time.monotonic()
        for t, creds in contexts:
            for cmd in commands(t):
                res = subprocess.run([exe, "--server", server.url, "--creds", creds, *cmd],
                                     capture_output=True, text=True, timeout=60)
                objects += 1
                if res.returncode != 0:
                    failures.append(f"{t}: nats {' '.join(cmd[:3])}: {(res.stdout + res.stderr).strip()[-300:]}")
        wall = time.monotonic() - started
    finally:
        server.stop()
    return {"tenants": n, "objects": objects, "wall_s": round(wall, 2),
            "objects_per_s": round(objects / wall, 1) if wall else None,
            "ok": not failures, "failures": failures[:5]}


def _start(workdir: str, mem_mib: int, file_mib: int) -> tuple[OperatorSetup, Any]:
    """An operator-mode server whose JetStream holds every tenant's reservation (as in run.environment)."""
    import dataclasses

    from components.model.render.server_conf import JetStreamConf
    from tests.support.nats_server import make_server

    setup = OperatorSetup.build()
    server = make_server(workdir, name="peer", **setup.conf_overrides(workdir))
    server.conf = dataclasses.replace(server.conf, jetstream=JetStreamConf(
        store_dir=os.path.join(workdir, "js"), max_memory=f"{mem_mib}MB", max_file=f"{file_mib}MB"))
    server.start()
    setup.servers.append(server.url)
    return setup, server


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tenants", default="10,100")
    args = ap.parse_args(argv)
    if natscli.missing():
        print(f"cannot run: {natscli.missing()}", file=sys.stderr)
        return 2
    rows = [peer_run(int(n)) for n in args.tenants.split(",") if n.strip()]
    print(json.dumps(rows, indent=2))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
