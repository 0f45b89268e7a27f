"""DevServer: the dev stack's own nats-server, a local process with the rendered hub config."""
from __future__ import annotations

import os
from typing import Optional

import pulumi

from components.model.render.hub_conf import hub_server_conf
from components.model.render.server_conf import render_server_conf
from components.model.spec_model import Environment
from components.providers.local_server import LocalServer
from components.providers.operator_identity import Operator


class DevServer(pulumi.ComponentResource):
    url: pulumi.Output[str]
    monitor_url: pulumi.Output[str]
    pid: pulumi.Output[int]
    data_dir: str
    """Absolute directory of the server's config, log, PID file and JetStream store."""

    def __init__(self, name: str, env: Environment, operator: Operator, project_dir: str,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("nats-tenancy:index:DevServer", name, None, opts)
        s = env.servers
        data_dir = os.path.abspath(os.path.join(project_dir, s.data_dir or os.path.join(".state", env.stack, "nats")))
        self.data_dir = data_dir
        server_name = f"{env.stack}-0"

        def render(args: list) -> str:
            op_jwt, sys_pub, sys_jwt = args
            conf = hub_server_conf(env, server_name=server_name, data_dir=data_dir, operator_jwt=op_jwt,
                                   system_account=sys_pub, system_account_jwt=sys_jwt)
            return render_server_conf(conf)

        config_text = pulumi.Output.all(operator.operator_jwt, operator.system_account_public_key,
                                        operator.system_account_jwt).apply(render)
        self.server = LocalServer(
            server_name,
            config_text=config_text,
            data_dir=data_dir,
            host=s.host,
            client_port=s.client_port,
            monitor_port=s.monitor_port,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Known from the environment, not from the process resource: a restart of the server must not
        # make every resource that connects to it look changed in a preview.
        self.url = pulumi.Output.from_input(f"nats://{s.host}:{s.client_port}")
        self.monitor_url = pulumi.Output.from_input(f"http://{s.host}:{s.monitor_port}")
        self.pid = self.server.pid
        # Outputs are registered so the component shows them in the stack's resource tree.
        self.register_outputs({"url": self.url, "monitor_url": self.monitor_url, "pid": self.pid})
