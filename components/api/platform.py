"""``Platform``: the ingest accounts (shards) that import every tenant's exported trees.

The environment file's ``platform`` section as a typed component: ``shards`` ingest accounts, each
importing the ``logs``/``events``/``otel`` trees of the tenants a stable hash of the tenant id puts
in it (adding a tenant re-signs only its own shard), one ingest stream per tree a consumer reads
(``PLATFORM_EVENTS``...) and the durable consumers of ``consumers``. Each shard has a consumer user
(reads every tenant's trees, may not publish into them) and a provisioning user for its streams.

    acme = Tenant(TenantArgs(id="acme", quotas=quotas), hub)
    globex = Tenant(TenantArgs(id="globex", quotas=quotas), hub)
    platform = Platform("platform", PlatformArgs(consumers=[PlatformConsumerArgs(name="audit", tree="events")]),
                        hub, [acme, globex])

The resource names inside are fixed (``platform-ingest-<shard>``, ``platform-consumer-<shard>``...),
so a program has one platform. The ingest streams have as many replicas as the hub has servers
(at most 3).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Union

import pulumi

from components.model.environment.layout import Layout
from components.model.environment.model import Environment, JetStreamSpec, MonitoringSpec, ServerMode, ServersSpec
from components.model.environment.model import Platform as PlatformSpec
from components.model.environment.model import Tenant as TenantSpec
from components.model.environment.platform import read_platform
from components.model.environment.schema import Reader
from components.model.errors import Problems
from components.resources import platform as platform_component
from components.resources import tenant as tenant_component
from components.resources.connection import Hub

SOURCE = "platform"
"""How a bad ``PlatformArgs`` is named in errors (``platform.consumers[0].class: ...``)."""


@dataclass(frozen=True)
class PlatformConsumerArgs:
    """A durable consumer of the platform, on the ingest stream of one tree, in every shard."""

    name: str
    """Consumer name (lower-case letters, digits, ``-``); the durable is named by the layout's
    ``platform_consumer`` template, ``{stream}_{CONSUMER}`` by default (``PLATFORM_EVENTS_AUDIT``)."""
    tree: str
    """The tree it reads (``class`` in the environment file): one of the layout's trees (``logs``,
    ``events``, ``otel``), or ``all`` for a layout that exports the whole root."""
    filter: Optional[str] = None
    """Subject filter inside that tree, ``*`` for the tenant token (``*.events.billing.>``), without the
    subject prefix; the whole tree over every tenant when unset."""


@dataclass(frozen=True)
class PlatformArgs:
    shards: int = 1
    """Ingest accounts (0 to 64): every import adds to the importing account's JWT, which the servers
    refuse over 1 MiB, so large estates spread tenants over several; 0 makes no ingest account."""
    consumers: Sequence[PlatformConsumerArgs] = ()
    """Durable consumers; each makes its tree's ingest stream in every shard."""
    layout: Layout = field(default_factory=Layout)
    """Subjects of the tenants and the name templates; the default layout is the one ``TenantArgs`` uses."""

    def spec(self) -> PlatformSpec:
        """The model's platform section, validated as the environment file's would be."""
        problems = Problems(SOURCE)
        document: dict[str, Any] = {"shards": self.shards, "consumers": [
            {"name": c.name, "class": c.tree, **({"filter": c.filter} if c.filter is not None else {})}
            for c in self.consumers]}
        platform = read_platform(Reader(problems), document, SOURCE, self.layout)
        problems.raise_if_any()
        return platform


def platform_environment(args: PlatformArgs, tenants: Sequence[TenantSpec], server_count: int) -> Environment:
    """The environment the platform component reads: its section, the layout, the tenants and the
    number of servers (the ingest streams' replicas). Nothing else of it is read, so the rest is
    left empty."""
    servers = ServersSpec(mode=ServerMode.LOCAL, host="", client_port=0, monitor_port=0, leafnode_port=0,
                          replicas=server_count)
    return Environment(stack=args.layout.stack, file=SOURCE, version=1, servers=servers,
                       jetstream=JetStreamSpec(max_memory=0, max_file=0), monitoring=MonitoringSpec(), tiers=(),
                       tenants=tuple(tenants), platform=args.spec(), layout=args.layout,
                       subject_prefix=args.layout.prefix)


class Platform(platform_component.Platform):
    """Outputs (``output()``): ``accounts`` (the shards' public keys), ``shard_of`` (tenant id ->
    shard) and the consumer users' ``creds`` (secret); ``accounts_output()`` gives each shard's
    account by name. ``tenants`` are ``Tenant`` components (their accounts are pushed first: a server
    that meets an import of an account it does not know goes looking for it)."""

    def __init__(self, resource_name: str, args: Union[PlatformArgs, Environment], hub: Hub,
                 tenants: Sequence[tenant_component.Tenant], opts: Optional[pulumi.ResourceOptions] = None):
        """``args``: ``PlatformArgs``, or a loaded environment file (its ``platform`` section, layout
        and tenants, which ``tenants`` are the components of)."""
        ids = [t.spec.id for t in tenants]
        if len(set(ids)) != len(ids):
            raise ValueError(f"platform {resource_name}: a tenant is given twice: {ids}")
        if isinstance(args, Environment):
            env = args
            declared = [t.id for t in env.tenants]
            if sorted(declared) != sorted(ids):
                raise ValueError(f"platform {resource_name}: the tenants given ({sorted(ids)}) are not the "
                                 f"tenants of {env.file} ({sorted(declared)})")
        else:
            env = platform_environment(args, [t.spec for t in tenants], hub.server_count)
        super().__init__(resource_name, env, hub, {t.spec.id: t.account_public_key for t in tenants},
                         {t.spec.id: t.account for t in tenants}, opts)
