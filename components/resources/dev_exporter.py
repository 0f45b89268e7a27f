"""DevExporter: the dev stack's tenant metrics exporter, a local process reading the dev server.

Only built when ``monitoring.enabled`` is set and the servers run locally; in kubernetes mode the
exporter is a container beside each server (``components.model.render.k8s_manifests``).

It gets the environment's series document (``components.model.exporter_config.series_document``):
series names and labels of ``monitoring.metrics``, the tenant id of every account name and the
shared platform consumers. Per-tenant platform lag needs ``platform_creds`` too (platform account
name -> creds of a user with its JetStream API, e.g. the ``platform-consumer-<shard>`` creds of the
``accounts`` output), which only exist once the platform accounts are built.
"""
from __future__ import annotations

from typing import Mapping, Optional

import pulumi

from components.model.environment.model import Environment
from components.model.exporter_config import series_document
from components.providers.local_exporter import LocalExporter
from components.resources.dev_server import DevServer


class DevExporter(pulumi.ComponentResource):
    metrics_url: pulumi.Output[str]
    pid: pulumi.Output[int]

    def __init__(self, name: str, env: Environment, project_dir: str, server: DevServer,
                 opts: Optional[pulumi.ResourceOptions] = None,
                 platform_creds: Optional[Mapping[str, pulumi.Input[str]]] = None):
        """The exporter keeps its log and PID file in ``server``'s data directory. It depends on the
        server itself (a component's ``depends_on`` does not reach its children): started after it,
        stopped before it."""
        super().__init__("nats-tenancy:index:DevExporter", name, None, opts)
        s, port = env.servers, env.monitoring.port
        self.exporter = LocalExporter(
            f"{env.stack}-exporter",
            project_dir=project_dir,
            data_dir=server.data_dir,
            host=s.host,
            monitor_port=s.monitor_port,
            port=port,
            series=series_document(env),
            nats_url=server.url if platform_creds else None,
            platform_creds=dict(platform_creds) if platform_creds else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[server]),
        )
        # From the environment, like DevServer.url: known at preview time and unchanged by a restart.
        self.metrics_url = pulumi.Output.from_input(f"http://{s.host}:{port}/metrics")
        self.pid = self.exporter.pid
        self.register_outputs({"metrics_url": self.metrics_url, "pid": self.pid})
