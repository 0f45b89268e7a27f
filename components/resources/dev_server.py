"""DevServer: the local servers of a ``servers.mode: local`` stack, real nats-server processes with
the rendered hub config.

``replicas: 1`` (the dev stack) is one server with its config, log, PID file and store directly in
``data_dir``. ``replicas: 3`` (or 5) is a routed cluster on loopback: member ``i`` is named
``<stack>-<i>``, keeps its files in ``data_dir/<stack>-<i>`` and listens on each base port plus
``i``; its config comes from the same renderer as the Kubernetes ConfigMap
(``hub_conf.local_member_conf``). Each member depends on the one before, so members are started,
and restarted after a config change, one at a time (see ``providers.local_server``).

With ``jetstream.cipher`` the store key comes from the secret stack setting ``jetstreamKey`` and
reaches each process only through its environment (``server_conf.jetstream_key_env``).
"""
from __future__ import annotations

import os
from typing import Optional

import pulumi

from components.model.environment.model import Environment
from components.model.environment.servers import member_ports
from components.model.render.hub_conf import local_member_conf, local_server_name
from components.model.render.server_budget import server_budget
from components.model.render.server_conf import jetstream_key_env, render_server_conf
from components.providers.local_server import LocalServer
from components.providers.operator_identity import Operator


def client_urls(env: Environment) -> list[str]:
    s = env.servers
    return [f"nats://{s.host}:{member_ports(s, i)['client_port']}" for i in range(s.replicas)]


def monitor_urls(env: Environment) -> list[str]:
    s = env.servers
    return [f"http://{s.host}:{member_ports(s, i)['monitor_port']}" for i in range(s.replicas)]


class DevServer(pulumi.ComponentResource):
    url: pulumi.Output[str]
    """Client URL; for a cluster every member's, comma-separated (as the nats CLI takes them)."""
    monitor_url: pulumi.Output[str]
    """Monitor URL of the first member."""
    pid: pulumi.Output[int]
    data_dir: str
    """Absolute directory of the server's config, log, PID file and JetStream store (the first
    member's for a cluster)."""

    def __init__(self, name: str, env: Environment, operator: Operator, project_dir: str,
                 opts: Optional[pulumi.ResourceOptions] = None, jetstream_key: Optional[pulumi.Input[str]] = None):
        super().__init__("nats-tenancy:index:DevServer", name, None, opts)
        s = env.servers
        base_dir = os.path.abspath(os.path.join(project_dir, s.data_dir or os.path.join(".state", env.stack, "nats")))
        clustered = s.replicas > 1
        monitors = monitor_urls(env)
        budget = server_budget(env)   # the start timeouts grow with the estate
        self.servers: list[LocalServer] = []
        self.member_dirs: list[str] = []
        previous: Optional[LocalServer] = None
        for ordinal in range(s.replicas):
            server_name = local_server_name(env, ordinal)
            data_dir = os.path.join(base_dir, server_name) if clustered else base_dir
            self.member_dirs.append(data_dir)
            ports = member_ports(s, ordinal)

            def render(args: list, ordinal: int = ordinal, data_dir: str = data_dir) -> str:
                op_jwt, sys_pub, sys_jwt = args
                conf = local_member_conf(env, ordinal, data_dir=data_dir, operator_jwt=op_jwt,
                                         system_account=sys_pub, system_account_jwt=sys_jwt)
                return render_server_conf(conf)

            config_text = pulumi.Output.all(operator.operator_jwt, operator.system_account_public_key,
                                            operator.system_account_jwt).apply(render)
            key_env = self._key_env(env)
            process_env = (pulumi.Output.secret(jetstream_key).apply(lambda k, v=key_env: {v: k})
                           if key_env and jetstream_key is not None else None)
            extra = {k: v for k, v in ports.items() if k in ("leafnode_port", "cluster_port")}
            member = LocalServer(
                server_name,
                config_text=config_text,
                data_dir=data_dir,
                host=s.host,
                client_port=ports["client_port"],
                monitor_port=ports["monitor_port"],
                extra_ports=extra if clustered else None,
                peer_monitor_urls=[u for i, u in enumerate(monitors) if i != ordinal] if clustered else None,
                process_env=process_env,
                sync_interval=env.jetstream.sync_interval,
                start_timeout=budget.local_start_timeout_s,
                join_timeout=budget.local_join_timeout_s,
                stop_timeout=budget.local_stop_timeout_s,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous] if previous else None),
            )
            self.servers.append(member)
            previous = member
        self.server = self.servers[0]
        self.data_dir = self.member_dirs[0]
        # Known from the environment, not from the process resource: a restart of the server must not
        # make every resource that connects to it look changed in a preview.
        self.url = pulumi.Output.from_input(",".join(client_urls(env)))
        self.monitor_url = pulumi.Output.from_input(monitors[0])
        self.pid = self.server.pid
        # Outputs are registered so the component shows them in the stack's resource tree.
        self.register_outputs({"url": self.url, "monitor_url": self.monitor_url, "pid": self.pid})

    @staticmethod
    def _key_env(env: Environment) -> Optional[str]:
        conf = local_member_conf(env, 0, data_dir="/", operator_jwt="-", system_account="-", system_account_jwt="-")
        return jetstream_key_env(conf)
