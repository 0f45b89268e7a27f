"""E2E fixtures: a copy of the project driven by the real Pulumi CLI, on free loopback ports."""
from __future__ import annotations

import os
import textwrap
from typing import Iterator

import pytest

from components.providers import local_exporter, nats_process
from tests.support.pulumi_cli import PulumiProject, missing_toolchain


def small_environment(client_port: int, monitor_port: int, leaf_port: int,
                      tenants: tuple[str, ...] = ("acme", "globex"), extra_tenant_yaml: str = "",
                      leaf_listen_port: int = 4222,
                      connections: dict[str, int] | None = None,
                      live_max_age: dict[str, str] | None = None,
                      server_max_memory: str = "64MiB", server_max_file: str = "1GiB",
                      credentials: dict[str, str] | None = None) -> str:
    """``connections``: tenant -> max_connections; ``live_max_age``: tenant -> max_age of its
    ``orders`` live stream (e.g. ``"48h"``; default: the stream class default); ``credentials``:
    tenant -> its ``credentials`` section in flow style (e.g. ``"{grace_period: 5s, users: {service: 2}}"``).

    ``server_max_memory`` / ``server_max_file``: the server's JetStream limits. nats-server reserves
    every account's max_memory (8MiB here) and max_bytes (64MiB) against them when it enables
    JetStream for the account, so they must hold all tenants (the defaults hold 8)."""
    connections = connections or {}
    live_max_age = live_max_age or {}
    credentials = credentials or {}
    tenant_yaml = "".join(textwrap.dedent(f"""
      - id: {t}
        name: {t.title()} Inc
        tier: small
        quotas:
          max_connections: {connections.get(t, 50)}
        domains:
          orders:
            live:
              {"max_age: " + live_max_age[t] if t in live_max_age else ""}
              consumers:
                - name: worker
                  kind: pull
                  max_deliver: 3
                  dead_letter: true
        kv_buckets:
          - name: settings
            history: 3
        {"credentials: " + credentials[t] if t in credentials else ""}
    """) for t in tenants)
    return textwrap.dedent(f"""\
        version: 1
        servers:
          mode: local
          host: 127.0.0.1
          client_port: {client_port}
          monitor_port: {monitor_port}
          leafnode_port: {leaf_port}
          data_dir: .state/test/nats
        jetstream:
          max_memory: {server_max_memory}
          max_file: {server_max_file}
        tiers:
          small:
            max_streams: 10
            max_consumers: 20
            max_bytes: 64MiB
            max_memory: 8MiB
            max_connections: 50
            retention_days: 7
            max_ack_pending: 500
        tenants:
        """) + textwrap.indent(tenant_yaml + extra_tenant_yaml, "") + textwrap.dedent("""
        platform:
          shards: 1
          consumers:
            - name: log-archiver
              class: logs
              filter: "*.logs.>"
        leafnodes:
          - customer: edge-1
            tenant: acme
            listen_port: {leaf_listen_port}
        """).format(leaf_listen_port=leaf_listen_port)


@pytest.fixture
def project(tmp_path) -> Iterator[PulumiProject]:
    reason = missing_toolchain()
    if reason:
        pytest.skip(reason)
    proj = PulumiProject(str(tmp_path), stack="dev")
    proj.ports = (nats_process.free_port(), nats_process.free_port(), nats_process.free_port())  # type: ignore[attr-defined]
    yield proj
    # Whatever a failed test left running, by its recorded PID: the metrics exporter the stack
    # started (only while that PID is still this exporter), then the server.
    state = os.path.join(proj.project_dir, ".state", "test", "nats")
    _stop_exporter(os.path.join(state, local_exporter.PID_FILE))
    pid_file = os.path.join(state, "nats.pid")
    if os.path.exists(pid_file):
        with open(pid_file, encoding="ascii") as f:
            pid = int(f.read().strip() or 0)
        if pid:
            nats_process.stop(pid)


def _stop_exporter(path: str) -> None:
    if not os.path.exists(path):
        return
    with open(path, encoding="ascii") as f:
        pid = int(f.read().strip() or 0)
    argv = nats_process.process_argv(pid) if pid else []
    listen = argv[argv.index("--listen") + 1] if "--listen" in argv else ""
    if listen:
        host, _, port = listen.rpartition(":")
        local_exporter.stop({"pid": pid, "host": host, "port": int(port)})


def server_pid(proj: PulumiProject) -> int:
    """PID of the nats-server this test stack started (0 when none is recorded)."""
    pid_file = os.path.join(proj.project_dir, ".state", "test", "nats", "nats.pid")
    if not os.path.exists(pid_file):
        return 0
    with open(pid_file, encoding="ascii") as f:
        return int(f.read().strip() or 0)
