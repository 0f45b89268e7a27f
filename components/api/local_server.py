"""``LocalNatsServer``: a real nats-server on this machine, in operator mode, trusting an ``Operator``.

For development and tests (the dev stack's ``LocalServer``, without an environment file): the
config is rendered from the operator's JWT with the system account preloaded into the ``full``
resolver, so accounts pushed at runtime are live at once. The process is started detached; its
PID is an output, a stopped server is started again by the next ``up``, and ``destroy`` stops it
(keeping the JetStream store unless ``keep_store`` is false). Loopback addresses only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import pulumi

from components.api.identity import Operator, hub
from components.model.render.server_conf import (
    JetStreamConf,
    LeafNodesConf,
    ResolverConf,
    ServerConf,
    render_server_conf,
)
from components.providers.local_server import LocalServer
from components.resources.connection import Hub


@dataclass(frozen=True)
class LocalNatsServerArgs:
    data_dir: str
    """Directory of the config, log, PID file, resolver and JetStream store (relative to the program)."""
    client_port: int
    """Client port."""
    monitor_port: int
    """HTTP monitoring port (``/healthz``, ``/jsz``)."""
    host: str = "127.0.0.1"
    """Listen address; a loopback one."""
    max_memory: str = "256MB"
    """JetStream memory storage of the server (every account's ``mem_storage`` is reserved from it)."""
    max_file: str = "1GB"
    """JetStream file storage of the server (every account's ``disk_storage`` is reserved from it)."""
    keep_store: bool = True
    """Keep the JetStream store when the server is destroyed."""
    leafnode_port: Optional[int] = None
    """Port for leaf-node connections (the hub side of a ``LeafNode`` bundle); none when unset."""


def server_conf(name: str, args: LocalNatsServerArgs, data_dir: str, operator_jwt: str, system_account: str,
                system_account_jwt: str) -> ServerConf:
    """The server's config: operator mode, the ``full`` resolver with the system account preloaded."""
    return ServerConf(
        server_name=name, host=args.host, port=args.client_port, monitor_port=args.monitor_port,
        jetstream=JetStreamConf(store_dir=os.path.join(data_dir, "jetstream"), max_memory=args.max_memory,
                                max_file=args.max_file),
        operator_jwt=operator_jwt, system_account=system_account,
        resolver=ResolverConf(dir=os.path.join(data_dir, "resolver"), preload={system_account: system_account_jwt}),
        leafnodes=LeafNodesConf(host=args.host, port=args.leafnode_port) if args.leafnode_port else None,
    )


class LocalNatsServer(pulumi.ComponentResource):
    url: pulumi.Output[str]
    monitor_url: pulumi.Output[str]
    pid: pulumi.Output[int]

    def __init__(self, resource_name: str, args: LocalNatsServerArgs, operator: Operator,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("nats-tenancy:api:LocalNatsServer", resource_name, None, opts)
        data_dir = os.path.abspath(args.data_dir)
        self.operator = operator

        def render(values: list[str]) -> str:
            return render_server_conf(server_conf(resource_name, args, data_dir, *values))

        config = pulumi.Output.all(operator.operator_jwt, operator.system_account_public_key,
                                   operator.system_account_jwt).apply(render)
        self.server = LocalServer(resource_name, config_text=config, data_dir=data_dir, host=args.host,
                                  client_port=args.client_port, monitor_port=args.monitor_port,
                                  extra_ports={"leafnode_port": args.leafnode_port} if args.leafnode_port else None,
                                  keep_store=args.keep_store, opts=pulumi.ResourceOptions(parent=self))
        # Known from the args, not from the process: a restart must not make every resource that
        # connects to the server look changed in a preview.
        self.url = pulumi.Output.from_input(f"nats://{args.host}:{args.client_port}")
        self.monitor_url = pulumi.Output.from_input(f"http://{args.host}:{args.monitor_port}")
        self.leafnode_url: Optional[str] = (f"nats://{args.host}:{args.leafnode_port}" if args.leafnode_port
                                            else None)
        """Where leaf nodes connect (``LeafNodeArgs.hub_url``), when ``leafnode_port`` is set."""
        self.pid = self.server.pid
        self.register_outputs({"url": self.url, "monitor_url": self.monitor_url, "pid": self.pid})

    @property
    def hub(self) -> Hub:
        """The server as accounts and tenants see it: pushes go to it once it runs."""
        return hub(self.operator, self.url, server_count=1, depends_on=self.server)
