"""Estate: everything one environment file declares, and the stack outputs other deployments read.

Built through the public API alone (``components.api``). Order of construction follows the
dependencies: the operator (keys, system account), the servers (a local process for dev,
Kubernetes for prod) and, for local servers with ``monitoring.enabled``, the metrics exporter
beside them, tenants (accounts, users, JetStream objects), the declared accounts, the data guard,
the platform shards (which import the tenants' trees), then the customers' leaf-node bundles.

Every resource keeps the name, type and parent it had before the program went through the API, so
a stack made by an earlier version previews no change.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Optional

import pulumi

from components import api
from components.api import environment as env_api
from components.model.environment.load import StackSettings
from components.model.environment.model import Environment, RoleSpec, ServerMode
from components.model.tenant_plan import account_order


def tenant_accounts(tenants: Iterable[api.Tenant]) -> dict[str, Any]:
    """The tenants' entries of the ``accounts`` output: by account name, the public key and, as
    secrets, the creds of every user but the stack's own provisioning user."""
    return {t.spec.account_name or t.spec.id: {
                "public_key": t.account_public_key,
                "creds": {t.spec.user_name(k): pulumi.Output.secret(c)
                          for k, c in t.creds.items() if k != "provisioning"}}
            for t in tenants}


class Estate(pulumi.ComponentResource):
    def __init__(self, name: str, env: Environment, settings: StackSettings, project_dir: Optional[str] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("nats-tenancy:index:Estate", name, None, opts)
        project_dir = project_dir or os.getcwd()
        self.env = env
        child = pulumi.ResourceOptions(parent=self)
        self.operator = api.Operator("operator", api.OperatorArgs(
            name=f"nats-tenancy-{env.stack}",
            operator_seed=pulumi.Output.secret(settings.operator_seed) if settings.operator_seed else None), child)
        self.server: Optional[env_api.DevServer] = None
        self.exporter: Optional[env_api.DevExporter] = None
        depends_on: pulumi.Resource
        if env.servers.mode is ServerMode.LOCAL:
            self.server = env_api.DevServer(f"{env.stack}-server", env, self.operator, project_dir, opts=child,
                                            jetstream_key=pulumi.Output.secret(settings.jetstream_key)
                                            if settings.jetstream_key else None)
            url: pulumi.Input[str] = self.server.url
            depends_on = self.server
        else:
            from components.api.kubernetes import Cluster  # pulumi-kubernetes only where it is used

            self.cluster = Cluster(f"{env.stack}-cluster", env, self.operator, opts=child,
                                   render_yaml_to_directory=settings.render_yaml_to_directory)
            url = settings.nats_url or ""
            depends_on = self.cluster
        server_count = env.servers.replicas
        self.nats_url = pulumi.Output.from_input(url)
        hub = api.hub(self.operator, url, server_count=server_count, depends_on=depends_on)
        roles = {r.name: r for r in env.roles}
        protect = [env_api.protection_transformation(env, project_dir)]   # data_protection inputs (docs/data-loss.md)
        self.tenants = {t.id: api.Tenant(t, hub, opts=pulumi.ResourceOptions(parent=self, transformations=protect),
                                         roles=roles, adopt_seed=settings.account_seed(t.id))
                        for t in env.tenants}
        self.accounts = self._named_accounts(env, hub, roles, protect, settings)
        # Diffs before the engine deletes anything removed from the environment (all deletes wait
        # for the program to finish registering), and refuses an unacknowledged loss of data.
        self.data_guard = env_api.data_guard(
            env, url, self.operator.system_user_creds, server_count,
            {**{tid: t.account_public_key for tid, t in self.tenants.items()},
             **{name: a.public_key for name, a in self.accounts.items()}}, project_dir, opts=child)
        # The platform drops a removed tenant's imports only once the guard has let the removal pass.
        self.platform = api.Platform("platform", env, hub, list(self.tenants.values()),
                                     opts=pulumi.ResourceOptions(
                                         parent=self, transformations=[*protect, env_api.after(self.data_guard)]))
        if self.server is not None and env.monitoring.enabled:
            # After the server and the platform (and stopped before them on destroy); nothing else
            # waits for it. The platform consumers' creds let it report each tenant's lag on them.
            self.exporter = env_api.DevExporter(
                f"{env.stack}-metrics", env, project_dir, self.server, opts=child,
                platform_creds={name: users["consumer"].creds
                                for name, users in zip(self.platform.account_names, self.platform.users)} or None)
        self.leafnodes = env_api.LeafNodeBundles("leafnodes", env, self.tenants, project_dir, opts=child)
        if env.servers.mode is ServerMode.KUBERNETES and env.servers.creds_namespace:
            from components.api.kubernetes import CredsSecrets

            # Tenant users' creds where workloads mount them (not the stack's own provisioning user).
            self.creds_secrets = CredsSecrets(
                "creds", env, {tid: {k: c for k, c in t.creds.items() if k != "provisioning"}
                               for tid, t in self.tenants.items()},
                opts=child, depends_on=[self.cluster.namespace])
        self.register_outputs({"nats_url": self.nats_url})

    def _named_accounts(self, env: Environment, hub: api.Hub, roles: dict[str, RoleSpec],
                        protect: list[Any], settings: StackSettings) -> dict[str, env_api.NamedAccount]:
        """Declared accounts, every exporter before its importers (``tenant_plan.account_order``)."""
        pubs: dict[str, pulumi.Output[str]] = {tid: t.account_public_key for tid, t in self.tenants.items()}
        resources: dict[str, pulumi.Resource] = {tid: t.account for tid, t in self.tenants.items()}
        tenants = {t.id: t for t in env.tenants}
        out: dict[str, env_api.NamedAccount] = {}
        for spec in account_order(env.accounts):
            sources = {i.account for i in spec.imports}
            deps = [resources[n] for n in sorted(sources) if n in resources]
            if "tenants" in sources:
                deps += [t.account for t in self.tenants.values()]
            account = env_api.NamedAccount(spec, hub, roles, pubs, tenants, deps, stack=env.stack,
                                           opts=pulumi.ResourceOptions(parent=self, transformations=protect),
                                           adopt_seed=settings.account_seed(spec.name))
            pubs[spec.name], resources[spec.name] = account.public_key, account.account
            out[spec.name] = account
        return out

    def monitor_url(self) -> pulumi.Input[str]:
        """The servers' HTTP monitoring base URL (``/healthz``, ``/jsz``, ``/accountz``)."""
        if self.server is not None:
            return self.server.monitor_url
        s = self.env.servers
        return f"http://nats.{s.namespace}.svc:{s.monitor_port}"

    def accounts_output(self) -> dict[str, Any]:
        """Every account by its JWT name: public key and, as secrets, the creds of its users."""
        out = tenant_accounts(self.tenants.values())
        for name, a in self.accounts.items():
            out[name] = a.output()
        for name, entry in self.platform.accounts_output().items():
            out[name] = entry
        return out

    def outputs(self) -> dict[str, Any]:
        """The stack-output contract (see README, "Stack outputs"); ``metrics_url`` only when the stack
        runs the exporter itself (local servers with ``monitoring.enabled``)."""
        metrics: dict[str, Any] = {"metrics_url": self.exporter.metrics_url} if self.exporter else {}
        return {
            "nats_url": self.nats_url,
            **metrics,
            "tenants": {tid: {**t.output(self.nats_url), **self.leafnodes.tenant_files(tid, self.nats_url)}
                        for tid, t in self.tenants.items()},
            "platform": self.platform.output(),
            "leafnodes": self.leafnodes.output(),
            "monitor_url": self.monitor_url(),
            "accounts": self.accounts_output(),
            "system": {
                "account_public_key": self.operator.system_account_public_key,
                "operator_public_key": self.operator.operator_public_key,
                "creds": pulumi.Output.secret(self.operator.system_user_creds),
            },
        }
