"""A local cluster of real nats-servers, rendered exactly as a ``servers.mode: local`` stack renders
it (``hub_conf.local_member_conf``, the renderer behind the Kubernetes ConfigMap too), trusting one
operator built with the identity library. Processes are started here and stopped by their PID.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import textwrap
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Optional

from components.model.environment.load import load_environment_text
from components.model.environment.model import Environment
from components.model.identity.account import AccountSpec
from components.model.identity.keys import KeyPair
from components.model.identity.user import UserSpec
from components.model.render.hub_conf import local_member_conf
from components.model.render.server_conf import ServerConf, render_server_conf
from components.providers import nats_process
from tests.support.operator_mode import OperatorSetup


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_bases(replicas: int, kinds: int = 4) -> list[int]:
    """``kinds`` base ports such that base..base+replicas-1 are all free, blocks not overlapping."""
    bases: list[int] = []
    taken: set[int] = set()
    while len(bases) < kinds:
        base = nats_process.free_port()
        block = set(range(base, base + replicas))
        if base + replicas < 65535 and not block & taken and all(_free(p) for p in block):
            bases.append(base)
            taken |= block
    return bases


def cluster_environment(replicas: int = 3, extra_yaml: str = "", ports: Optional[list[int]] = None,
                        stack: str = "test") -> Environment:
    """A small environment file in local mode; ``extra_yaml`` adds top-level sections (tls, …)."""
    client, monitor, leaf, cluster = ports or free_port_bases(replicas)
    text = textwrap.dedent(f"""\
        version: 1
        servers:
          mode: local
          host: 127.0.0.1
          replicas: {replicas}
          client_port: {client}
          monitor_port: {monitor}
          leafnode_port: {leaf}
          cluster_port: {cluster}
        tiers:
          small: {{max_streams: 10, max_consumers: 20, max_bytes: 64MiB, max_memory: 8MiB,
                   max_connections: 50, retention_days: 7, max_ack_pending: 500}}
        tenants: []
        """) + textwrap.dedent(extra_yaml)
    return load_environment_text(text, f"environments/{stack}.yaml", stack=stack)


@dataclass
class Member:
    ordinal: int
    workdir: str
    conf: ServerConf
    pid: Optional[int] = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.conf.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.conf.monitor_port}"

    @property
    def config_path(self) -> str:
        return os.path.join(self.workdir, "nats.conf")

    @property
    def log_path(self) -> str:
        return os.path.join(self.workdir, "nats.log")

    @property
    def store_dir(self) -> str:
        assert self.conf.jetstream is not None
        return self.conf.jetstream.store_dir


@dataclass
class LocalCluster:
    env: Environment
    root: str
    setup: OperatorSetup = field(default_factory=OperatorSetup.build)
    process_env: dict[str, str] = field(default_factory=dict)
    members: list[Member] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.members = [Member(i, os.path.join(self.root, f"{self.env.stack}-{i}"), self._conf(i))
                        for i in range(self.env.servers.replicas)]
        self.setup.servers = [m.url for m in self.members]

    def _conf(self, ordinal: int) -> ServerConf:
        return local_member_conf(self.env, ordinal, data_dir=os.path.join(self.root, f"{self.env.stack}-{ordinal}"),
                                 operator_jwt=self.setup.operator_jwt,
                                 system_account=self.setup.system_account.public_key,
                                 system_account_jwt=self.setup.system_account_jwt)

    def reconfigure(self, env: Environment) -> None:
        """New config for every member (written on each member's next start)."""
        self.env = env
        for m in self.members:
            m.conf = self._conf(m.ordinal)

    @property
    def urls(self) -> list[str]:
        return [m.url for m in self.members]

    # --- processes ------------------------------------------------------------------------------
    def launch(self, i: int) -> None:
        m = self.members[i]
        os.makedirs(m.workdir, exist_ok=True)
        with open(m.config_path, "w", encoding="utf-8") as f:
            f.write(render_server_conf(m.conf))
        nats_process.check_config_file(m.config_path, env=self.process_env)
        m.pid = nats_process.start_detached(m.config_path, m.log_path, env=self.process_env)

    def start_all(self, timeout: float = 60.0) -> "LocalCluster":
        for i in range(len(self.members)):
            self.launch(i)
        for i in range(len(self.members)):
            self.wait_healthy(i, timeout)
        return self

    def wait_healthy(self, i: int, timeout: float = 60.0) -> None:
        """Full ``/healthz``: JetStream meta leader known and every asset of the member current."""
        m = self.members[i]
        assert m.pid is not None
        nats_process.wait_healthy(m.monitor_url, m.pid, m.log_path, timeout=timeout)

    def kill(self, i: int) -> None:
        """``kill -9``: no shutdown, no flush; then reap our child."""
        m = self.members[i]
        assert m.pid is not None and nats_process.pid_is_nats_server(m.pid)
        os.kill(m.pid, signal.SIGKILL)
        self._reap(m)

    def stop(self, i: int) -> None:
        m = self.members[i]
        if m.pid is not None:
            nats_process.stop(m.pid)
            self._reap(m)

    @staticmethod
    def _reap(m: Member) -> None:
        assert m.pid is not None
        try:
            os.waitpid(m.pid, 0)
        except ChildProcessError:
            pass
        m.pid = None

    def stop_all(self) -> None:
        for i in range(len(self.members)):
            self.stop(i)

    # --- monitoring -----------------------------------------------------------------------------
    def monitor(self, i: int, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.members[i].monitor_url}{path}", timeout=5) as resp:
            return json.loads(resp.read())

    def wait_routes(self, timeout: float = 20.0) -> None:
        """Every member routed to every other one."""
        want = len(self.members) - 1
        deadline = time.monotonic() + timeout
        while True:
            counts = [len({r.get("remote_name") for r in self.monitor(i, "/routez").get("routes") or []})
                      for i in range(len(self.members))]
            if all(c >= want for c in counts):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"routes per member {counts}, want {want} each")
            time.sleep(0.2)

    # --- identity -------------------------------------------------------------------------------
    def account_with_user(self, name: str = "app") -> tuple[KeyPair, str]:
        """A JetStream-enabled account (unlimited) pushed to every member, and a user's creds."""
        account, _ = self.push_when_routed(AccountSpec(name=name))
        return account, self.setup.user_creds(account, UserSpec(name=f"{name}-user"))

    def push_when_routed(self, spec: AccountSpec, timeout: float = 20.0) -> tuple[KeyPair, str]:
        from components.nats_io.errors import ResolverError

        deadline = time.monotonic() + timeout
        account: Optional[KeyPair] = None
        while True:
            try:
                account, token = self.setup.add_account(spec, account=account)
                return account, token
            except ResolverError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)


def stream_messages_on(cluster: LocalCluster, i: int, account: str, stream: str) -> Optional[int]:
    """Messages member ``i`` itself holds for ``stream`` (its own replica, from its ``/jsz``)."""
    jsz = cluster.monitor(i, f"/jsz?accounts=true&streams=true&acc={account}")
    for acc in jsz.get("account_details") or []:
        for s in acc.get("stream_detail") or []:
            if s.get("name") == stream:
                return int(s["state"]["messages"])
    return None


def replica_messages(cluster: LocalCluster, i: int, account: str, stream: str, want: int,
                     timeout: float = 15.0) -> Optional[int]:
    """``stream_messages_on`` once member ``i`` holds ``want`` messages, or its last count after
    ``timeout``: a publish is acknowledged once a quorum stored it, so the last replica may still be
    catching up when the ack arrives."""
    deadline = time.monotonic() + timeout
    while True:
        held = stream_messages_on(cluster, i, account, stream)
        if held == want or time.monotonic() > deadline:
            return held
        time.sleep(0.2)


def run(coro: Any) -> Any:
    return asyncio.run(coro)
