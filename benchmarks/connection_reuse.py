"""Connection reuse in the providers (``components.nats_io.pool``), measured against a real
nats-server on loopback.

    .venv/bin/python benchmarks/connection_reuse.py [--ops 300] [--threads 8] [--rounds 3] [--json FILE]

Starts one operator-mode nats-server (full resolver, JetStream) on free loopback ports, with one
tenant account and a provisioning user, and times the provider-level calls with reuse on and off
(``NATS_TENANCY_CONNECTION_REUSE``), sequentially and from a pool of ``--threads`` threads:

- ``resolver lookup`` / ``resolver push``: ``nats_io.resolver.lookup_account_jwt`` and
  ``push_account_jwt`` of the tenant's account JWT, as the Account and User providers call them;
- ``stream create`` / ``stream read`` / ``stream delete``: ``StreamProvider.create``, ``read``
  (STREAM.INFO) and ``delete`` of ``--ops`` memory streams with the provisioning user's creds.

On and off runs are interleaved and the whole set is repeated ``--rounds`` times (other work on the
machine shifts absolute numbers; the interleaving keeps the comparison fair). Every "on" run starts
with an empty pool, so its first connect is counted. The table gives the median milliseconds per
operation over the rounds and the connections the server accepted per run (``/varz``
``total_connections``). The server is stopped by its PID at the end.

``--cli N`` measures the whole stack instead: the real Pulumi CLI (``make setup``) runs ``up``,
``refresh`` and ``destroy`` of a copy of the project with N tenants (the e2e environment: per tenant
an account, four users, three streams, two consumers, a KV bucket) on its own local server, with
reuse on and off in the provider process, interleaved, ``--rounds`` times; it reports wall times
and the connections the server accepted during ``up`` and ``refresh``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from components.model.identity import roles  # noqa: E402
from components.model.identity.account import AccountLimits, AccountSpec  # noqa: E402
from components.nats_io import pool, resolver  # noqa: E402
from components.providers.stream import StreamProvider  # noqa: E402
from tests.support.operator_mode import OperatorSetup  # noqa: E402

WORKLOADS = ("resolver lookup", "resolver push", "stream create", "stream read", "stream delete")


@dataclass
class Sample:
    workload: str
    reuse: bool
    threads: int
    round: int
    seconds: float
    ops: int
    connections: int

    @property
    def ms_per_op(self) -> float:
        return self.seconds * 1000 / self.ops


class Bench:
    def __init__(self, setup: OperatorSetup, monitor_url: str, account_pub: str, account_jwt: str, creds: str):
        self.setup = setup
        self.monitor_url = monitor_url
        self.account_pub = account_pub
        self.account_jwt = account_jwt
        self.creds = creds
        self.provider = StreamProvider()
        self.created: dict[str, Any] = {}

    def total_connections(self) -> int:
        with urllib.request.urlopen(f"{self.monitor_url}/varz", timeout=5) as resp:
            return int(json.load(resp)["total_connections"])

    def stream_inputs(self, name: str) -> dict[str, Any]:
        props = {"name": name, "subjects": [f"bench.{name}.>"], "storage": "memory", "max_msgs": 100,
                 "server_url": self.setup.servers[0], "creds": self.creds, "account_label": "bench",
                 "prevent_destroy": False}
        checked = self.provider.check({}, props)
        assert not checked.failures, checked.failures
        return dict(checked.inputs)

    def operation(self, workload: str, tag: str) -> Callable[[int], None]:
        servers, sys_creds = self.setup.servers, self.setup.system_creds
        if workload == "resolver lookup":
            return lambda i: self._expect(resolver.lookup_account_jwt(servers, sys_creds, self.account_pub)
                                          == self.account_jwt)
        if workload == "resolver push":
            return lambda i: resolver.push_account_jwt(servers, sys_creds, self.account_jwt)  # type: ignore[return-value]
        if workload == "stream create":
            def create(i: int) -> None:
                name = f"B{tag}_{i}"
                self.created[name] = self.provider.create(self.stream_inputs(name)).outs
            return create
        if workload == "stream read":
            return lambda i: self._expect(self.provider.read(f"B{tag}_{i}", self.created[f"B{tag}_{i}"]).id != "")
        if workload == "stream delete":
            return lambda i: self.provider.delete(f"B{tag}_{i}", self.created.pop(f"B{tag}_{i}"))
        raise ValueError(workload)

    @staticmethod
    def _expect(ok: bool) -> None:
        if not ok:
            raise AssertionError("unexpected answer from the server")

    def measure(self, workload: str, tag: str, ops: int, threads: int) -> tuple[float, int]:
        op = self.operation(workload, tag)
        before = self.total_connections()
        start = time.perf_counter()
        if threads == 1:
            for i in range(ops):
                op(i)
        else:
            with ThreadPoolExecutor(threads) as workers:
                list(workers.map(op, range(ops)))
        seconds = time.perf_counter() - start
        return seconds, self.total_connections() - before


def run_round(bench: Bench, round_no: int, ops: int, thread_counts: list[int]) -> list[Sample]:
    samples = []
    order = (True, False) if round_no % 2 == 0 else (False, True)
    for threads in thread_counts:
        for reuse in order:
            os.environ[pool.REUSE_ENV] = "1" if reuse else "0"
            pool.default_pool().close()  # every run starts without open connections
            tag = f"{round_no}{'R' if reuse else 'N'}{threads}"
            for workload in WORKLOADS:
                seconds, conns = bench.measure(workload, tag, ops, threads)
                sample = Sample(workload, reuse, threads, round_no, seconds, ops, conns)
                samples.append(sample)
                print(f"round {round_no} threads {threads} reuse {'on ' if reuse else 'off'} {workload:16s} "
                      f"{sample.ms_per_op:7.2f} ms/op  {conns:4d} connections", flush=True)
    return samples


def table(samples: list[Sample], thread_counts: list[int]) -> str:
    lines = ["| workload | threads | reuse off ms/op | reuse on ms/op | off / on | connections per run off / on |",
             "|---|---|---|---|---|---|"]
    for workload in WORKLOADS:
        for threads in thread_counts:
            def pick(reuse: bool) -> list[Sample]:
                return [s for s in samples if s.workload == workload and s.threads == threads and s.reuse == reuse]
            off, on = pick(False), pick(True)
            off_ms = statistics.median(s.ms_per_op for s in off)
            on_ms = statistics.median(s.ms_per_op for s in on)
            off_c = statistics.median(s.connections for s in off)
            on_c = statistics.median(s.connections for s in on)
            lines.append(f"| {workload} | {threads} | {off_ms:.2f} | {on_ms:.2f} | {off_ms / on_ms:.1f}x | "
                         f"{off_c:g} / {on_c:g} |")
    return "\n".join(lines)


def cli_round(tenants: int, reuse: bool) -> dict[str, Any]:
    """One ``up`` / ``refresh`` / ``destroy`` of an N-tenant stack; wall seconds and server connects."""
    from components.providers import nats_process
    from tests.e2e.conftest import small_environment
    from tests.support.pulumi_cli import PulumiProject

    workdir = tempfile.mkdtemp(prefix="nt-reuse-cli-")
    project = PulumiProject(workdir, stack="bench")
    project.extra_env = {pool.REUSE_ENV: "1" if reuse else "0", "PULUMI_SKIP_CHECKPOINTS": "true"}
    client, monitor, leaf = (nats_process.free_port() for _ in range(3))
    names = ("acme",) + tuple(f"t{i:03d}" for i in range(1, tenants))  # the leaf node belongs to acme
    # nats-server reserves every account's JetStream quota (8MiB memory, 64MiB file) up front
    project.write_environment(small_environment(client, monitor, leaf, tenants=names,
                                                leaf_listen_port=nats_process.free_port(),
                                                server_max_memory=f"{8 * tenants + 16}MiB",
                                                server_max_file=f"{64 * tenants + 64}MiB"))
    project.init()
    varz = f"http://127.0.0.1:{monitor}/varz"

    def total() -> int:
        with urllib.request.urlopen(varz, timeout=5) as resp:
            return int(json.load(resp)["total_connections"])

    out: dict[str, Any] = {"reuse": reuse, "tenants": tenants}
    try:
        start = time.perf_counter()
        project.up(timeout=3600)
        out["up_s"] = time.perf_counter() - start
        out["up_connections"] = total()
        before, start = total(), time.perf_counter()
        project.refresh(timeout=3600)
        out["refresh_s"] = time.perf_counter() - start
        out["refresh_connections"] = total() - before
        start = time.perf_counter()
        project.destroy(timeout=3600)
        out["destroy_s"] = time.perf_counter() - start
    finally:
        pid_file = os.path.join(project.project_dir, ".state", "test", "nats", "nats.pid")
        if os.path.exists(pid_file):
            with open(pid_file, encoding="ascii") as f:
                pid = int(f.read().strip() or 0)
            if pid and nats_process.pid_alive(pid):
                nats_process.stop(pid)
    return out


def cli_main(tenants: int, rounds: int, json_path: Optional[str]) -> int:
    rows = []
    for round_no in range(rounds):
        for reuse in ((True, False) if round_no % 2 == 0 else (False, True)):
            row = cli_round(tenants, reuse)
            rows.append(row)
            print(f"round {round_no} reuse {'on ' if reuse else 'off'} up {row['up_s']:.1f}s "
                  f"({row['up_connections']} connections) refresh {row['refresh_s']:.1f}s "
                  f"({row['refresh_connections']} connections) destroy {row['destroy_s']:.1f}s", flush=True)
    print()
    print(f"{tenants} tenants, {rounds} rounds, median; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| reuse | up s | up connections | refresh s | refresh connections | destroy s |")
    print("|---|---|---|---|---|---|")
    for reuse in (False, True):
        mine = [r for r in rows if r["reuse"] == reuse]
        med = {k: statistics.median(r[k] for r in mine)
               for k in ("up_s", "up_connections", "refresh_s", "refresh_connections", "destroy_s")}
        print(f"| {'on' if reuse else 'off'} | {med['up_s']:.1f} | {med['up_connections']:g} | "
              f"{med['refresh_s']:.1f} | {med['refresh_connections']:g} | {med['destroy_s']:.1f} |")
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=300, help="operations per workload and run (default 300)")
    parser.add_argument("--threads", type=int, default=8, help="threads of the concurrent runs (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of every on/off pair (default 3)")
    parser.add_argument("--json", help="also write every sample to this file")
    parser.add_argument("--cli", type=int, metavar="N", help="measure up/refresh/destroy of an N-tenant stack instead")
    args = parser.parse_args(argv)
    if args.cli:
        return cli_main(args.cli, args.rounds, args.json)
    thread_counts = [1, args.threads]

    workdir = tempfile.mkdtemp(prefix="nt-reuse-bench-")
    setup, server = OperatorSetup.create(workdir, name="bench")
    try:
        account, account_jwt = setup.add_account(AccountSpec(name="bench", limits=AccountLimits()))
        creds = setup.user_creds(account, roles.tenant_provisioning_user("bench"))
        bench = Bench(setup, server.monitor_url, account.public_key, account_jwt, creds)
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        load = os.getloadavg()
        samples: list[Sample] = []
        for round_no in range(args.rounds):
            samples.extend(run_round(bench, round_no, args.ops, thread_counts))
        result = table(samples, thread_counts)
        print()
        print(f"{args.ops} operations per run, {args.rounds} rounds, median ms per operation; started {started}, "
              f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs")
        print(result)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"ops": args.ops, "rounds": args.rounds, "started": started, "load": load,
                           "samples": [{**s.__dict__, "ms_per_op": s.ms_per_op} for s in samples]}, f, indent=1)
    finally:
        pool.default_pool().close()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
