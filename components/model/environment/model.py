"""The validated environment: frozen dataclasses produced by ``load.load_environment``.

Everything here is already checked and has its defaults applied (tier quotas merged with tenant
overrides, stream class defaults capped by the tenant's retention), so later layers never re-read
the YAML. Durations are integer nanoseconds (``*_ns``), sizes integer bytes; ``None`` means "not
limited" where a field is optional. Subjects are absolute (prefix and tenant included).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping, Optional

from components.model.data_loss import DataProtection
from components.model.environment import names
from components.model.environment.layout import Layout
from components.model.metrics_series import SeriesMapping


class ServerMode(str, Enum):
    """Where the servers run: local processes of the dev machine, or a kubernetes StatefulSet."""

    LOCAL = "local"
    KUBERNETES = "kubernetes"


class ServiceType(str, Enum):
    """The kubernetes Service type that exposes the client port (ClusterIP when unset)."""

    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"


class StorageType(str, Enum):
    """Where a stream keeps its messages: on disk (survives a restart) or in memory."""

    FILE = "file"
    MEMORY = "memory"


class DiscardPolicy(str, Enum):
    """What a full stream does: drop its oldest messages (old) or refuse new ones (new)."""

    OLD = "old"
    NEW = "new"


class StreamClassKind(str, Enum):
    """The two streams of a domain: ``live`` captures the subjects, ``replay`` sources ``live``."""

    LIVE = "live"
    REPLAY = "replay"


class ConsumerKind(str, Enum):
    """How a consumer delivers: clients fetch (pull) or the server sends to a subject (push)."""

    PULL = "pull"
    PUSH = "push"


class SubjectRoot(str, Enum):
    """The three subject trees of the default layout, each tenant's ``<root>.<tree>.>``."""

    LOGS = "logs"
    EVENTS = "events"
    OTEL = "otel"


class UserRole(str, Enum):
    """The built-in roles a tenant's users take (``roles`` may declare more)."""

    SERVICE = "service"   # publish and subscribe in the tenant's tree
    READER = "reader"     # subscribe only
    BACKUP = "backup"     # snapshots and restores of the account's streams (components.ops.backup)


@dataclass(frozen=True)
class ResourcesSpec:
    """CPU (a kubernetes quantity such as ``500m``) and memory (bytes) of one server pod."""

    cpu: str
    memory: int


@dataclass(frozen=True)
class ServersSpec:
    """The ``servers`` section: mode, ports and, per mode, data directory or kubernetes settings.

    Fields marked local or kubernetes only are None in the other mode (the reader refuses them
    there).
    """

    mode: ServerMode
    host: str
    client_port: int
    monitor_port: int
    leafnode_port: int
    cluster_port: Optional[int] = None
    data_dir: Optional[str] = None              # local only
    namespace: Optional[str] = None             # kubernetes only (and below)
    replicas: int = 1
    image: Optional[str] = None
    storage_class: Optional[str] = None
    storage_size: Optional[int] = None
    resources: Optional[ResourcesSpec] = None
    service_type: Optional[ServiceType] = None
    creds_namespace: Optional[str] = None       # kubernetes: tenant users' creds Secrets live here
    await_ready: bool = True                    # kubernetes: up waits for the StatefulSet to be Ready


@dataclass(frozen=True)
class JetStreamSpec:
    """The ``jetstream`` section: the servers' storage limits, domain, sync interval and store cipher.

    ``sync_interval``: how often the servers fsync the store, as the server reads it (``always``
    or a Go duration); ``cipher``: store encryption at rest (``aes`` or ``chachapoly``), with the
    key from the secret stack setting ``jetstreamKey``, never from this file.
    """

    max_memory: int
    max_file: int
    domain: Optional[str] = None
    sync_interval: str = "2m"
    cipher: Optional[str] = None


@dataclass(frozen=True)
class TLSSpec:
    """The ``tls`` section: minimum version, certificates (a Secret or PEM files) and client checks."""

    min_version: str = "1.3"
    secret_name: Optional[str] = None
    cert_file: Optional[str] = None
    key_file: Optional[str] = None
    ca_file: Optional[str] = None
    verify: bool = False                        # clients must present a certificate signed by the CA
    cipher_suites: tuple[str, ...] = ()


@dataclass(frozen=True)
class MonitoringSpec:
    """The ``monitoring`` section: the Prometheus exporter beside the servers and its series.

    The exporter is the project's own (``components.ops.exporter``); the server's HTTP monitoring
    port is ``ServersSpec.monitor_port`` and is always on, since health checks use it.

    ``exporter_image`` is the container image built from ``deploy/exporter/Dockerfile``: required in
    kubernetes mode when enabled, refused in local mode (there the exporter runs from this checkout).
    """

    enabled: bool = False
    port: int = 7777
    exporter_image: Optional[str] = None
    metrics: SeriesMapping = SeriesMapping()   # series names and labels (monitoring.metrics)


@dataclass(frozen=True)
class Quotas:
    """A tenant's limits: JetStream objects and storage, connections, message age and pending acks.

    The JetStream and connection limits go into the account JWT, where the server enforces them;
    ``retention_days`` caps every stream's ``max_age``, ``max_ack_pending`` every consumer's.
    """

    max_streams: int
    max_consumers: int
    max_bytes: int
    max_memory: int
    max_connections: int
    retention_days: int
    max_ack_pending: int


QUOTA_FIELDS: tuple[str, ...] = (
    "max_streams", "max_consumers", "max_bytes", "max_memory",
    "max_connections", "retention_days", "max_ack_pending",
)


@dataclass(frozen=True)
class Tier:
    """A named set of quotas tenants refer to (``tiers``); a tenant's own ``quotas`` override it."""

    name: str
    quotas: Quotas


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable consumer of a domain's stream class, with its name rendered by the layout."""

    name: str
    durable: str                      # derived: <STREAM>_<CONSUMER>
    stream: str
    kind: ConsumerKind
    filter_subject: Optional[str]     # absolute; None = the whole stream
    ack_wait_ns: int
    max_deliver: int                  # -1 = unlimited
    max_ack_pending: int
    rate_limit_bps: Optional[int] = None
    dead_letter: bool = False
    deliver_subject: Optional[str] = None   # push only
    extra: tuple[tuple[str, Any], ...] = ()   # other consumer catalogue fields, as written (deliver_policy, …)

    @property
    def dead_letter_subjects(self) -> tuple[str, ...]:
        """Advisories the tenant's dead-letter stream captures for this consumer."""
        return dead_letter_subjects(self.stream, self.durable) if self.dead_letter else ()


@dataclass(frozen=True)
class StreamClass:
    """One stream of a domain, with the settings the tenant's quotas allowed.

    ``live`` captures the domain's event subjects; ``replay`` has no subjects and sources the live
    stream (see ``tenants`` for why).
    """

    kind: StreamClassKind
    name: str
    subjects: tuple[str, ...]
    sources: tuple[str, ...]
    max_age_ns: int
    duplicate_window_ns: int
    storage: StorageType
    replicas: int
    discard: DiscardPolicy
    deny_delete: bool
    deny_purge: bool
    max_bytes: Optional[int] = None
    max_msgs: Optional[int] = None
    max_msg_size: Optional[int] = None
    consumers: tuple[ConsumerSpec, ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()   # other stream catalogue fields, as written (compression, …)


@dataclass(frozen=True)
class Domain:
    """A tenant's domain: its ``live`` stream and, optionally, a ``replay`` stream sourcing it."""

    name: str
    live: StreamClass
    replay: Optional[StreamClass] = None

    @property
    def streams(self) -> tuple[StreamClass, ...]:
        return (self.live,) if self.replay is None else (self.live, self.replay)


@dataclass(frozen=True)
class KvSpec:
    """A KV bucket of an account: the name in the file and the bucket (``<tenant>_<name>``) it makes."""

    name: str
    bucket: str                       # derived: <tenant>_<name>
    history: int
    ttl_ns: Optional[int] = None
    max_bytes: Optional[int] = None
    replicas: int = 1
    direct: bool = True       # reads as direct gets (as nats.go makes buckets); false turns it off


@dataclass(frozen=True)
class ObjectStoreSpec:
    """An object store of an account: the name in the file and the bucket it makes."""

    name: str
    bucket: str
    max_bytes: Optional[int] = None
    ttl_ns: Optional[int] = None
    replicas: int = 1


@dataclass(frozen=True)
class UserSpec:
    """A user of a tenant's account: its name and the role its permissions come from."""

    name: str
    role: str     # a built-in role (UserRole values) or one declared under ``roles``


#: How long replaced creds and signing keys keep working unless the environment file says otherwise.
DEFAULT_GRACE_PERIOD_NS = 24 * 3600 * 10**9


@dataclass(frozen=True)
class CredentialsSpec:
    """The rotation counters of a tenant's credentials: raising a number rotates.

    ``signing_key`` gives the account a new signing key (every user is re-issued with it), an entry
    of ``users`` gives that user a new key and creds. What was replaced keeps working for
    ``grace_period_ns``, then the first ``pulumi up`` withdraws it (see ``identity.rotation``).
    """

    grace_period_ns: int = DEFAULT_GRACE_PERIOD_NS
    signing_key: int = 1
    users: tuple[tuple[str, int], ...] = ()

    def generation(self, user: str) -> int:
        return dict(self.users).get(user, 1)


@dataclass(frozen=True)
class TenantSubjects:
    """The tenant's subjects under its layout: its root, each tree and what the account exports.

    ``logs``/``events``/``otel`` are the three trees of the default layout; a layout without such a
    tree gives the whole root there (``VENTURE.x.>``), so producer templates still point somewhere
    the tenant may publish. ``trees`` is what the account exports, by tree name (``""`` for the
    whole root).
    """

    logs: str
    events: str
    otel: str
    deliver: str
    root: str = ""
    trees: tuple[tuple[str, str], ...] = ()
    publish: tuple[str, ...] = ()          # what the tenant's applications may publish (schema applied)
    mappings: tuple[tuple[str, str], ...] = ()   # account subject mappings (legacy spelling → prefixed)

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(t for _, t in self.trees) if self.trees else (self.logs, self.events, self.otel)


@dataclass(frozen=True)
class JsConsumer:
    """A consumer declared with JetStream fields of its own (``streams[].consumers[]``).

    ``inputs`` are the Consumer resource's inputs, checked against the consumer field catalogue.
    """

    name: str
    stream: str
    inputs: Mapping[str, Any]
    dead_letter: bool = False


@dataclass(frozen=True)
class JsStream:
    """A stream declared with JetStream fields of its own (a tenant's or an account's ``streams``)."""

    name: str
    inputs: Mapping[str, Any]
    consumers: tuple[JsConsumer, ...] = ()

    @property
    def subjects(self) -> tuple[str, ...]:
        return tuple(self.inputs.get("subjects") or ())


@dataclass(frozen=True)
class Tenant:
    """One tenant: its account, subjects, JetStream objects, users and the quotas they live within."""

    id: str
    name: str
    tier: str
    quotas: Quotas
    subjects: TenantSubjects
    domains: tuple[Domain, ...] = ()
    kv_buckets: tuple[KvSpec, ...] = ()
    object_stores: tuple[ObjectStoreSpec, ...] = ()
    users: tuple[UserSpec, ...] = ()
    dead_letter_stream: Optional[str] = None
    credentials: CredentialsSpec = CredentialsSpec()
    account_name: str = ""                 # the account JWT's name (layout.names.account)
    js_streams: tuple[JsStream, ...] = ()  # streams declared with their own fields (tenant + every_tenant)
    user_names: tuple[tuple[str, str], ...] = ()   # user key → name in the JWT (layout.names.user)

    @property
    def streams(self) -> tuple[StreamClass, ...]:
        return tuple(s for d in self.domains for s in d.streams)

    @property
    def stream_names(self) -> tuple[str, ...]:
        """Every stream the tenant's account holds (domain classes, declared streams, dead letters)."""
        dl = (self.dead_letter_stream,) if self.dead_letter_stream else ()
        return tuple(s.name for s in self.streams) + tuple(s.name for s in self.js_streams) + dl

    @property
    def consumer_names(self) -> tuple[str, ...]:
        return tuple(c.durable for c in self.consumers) + tuple(c.name for s in self.js_streams for c in s.consumers)

    def user_name(self, key: str) -> str:
        return dict(self.user_names).get(key, f"{self.id}-{key}")

    @property
    def consumers(self) -> tuple[ConsumerSpec, ...]:
        return tuple(c for s in self.streams for c in s.consumers)

    @property
    def dead_letter_subjects(self) -> tuple[str, ...]:
        declared = tuple(subj for s in self.js_streams for c in s.consumers if c.dead_letter
                         for subj in dead_letter_subjects(s.name, c.name))
        return tuple(subj for c in self.consumers for subj in c.dead_letter_subjects) + declared


def dead_letter_subjects(stream: str, consumer: str) -> tuple[str, str]:
    """The advisories a dead-letter stream captures for one consumer (max deliveries, terminated)."""
    tail = f"{stream}.{consumer}"
    return (f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{tail}",
            f"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{tail}")


@dataclass(frozen=True)
class PlatformConsumerSpec:
    """A platform consumer: one durable on a platform ingest stream, filtered over every tenant."""

    name: str
    root: Any                         # SubjectRoot for the default trees, else the tree name
    filter_subject: str               # absolute, e.g. "*.logs.>" or "plat.*.logs.>"
    stream: str                       # derived: layout.names.platform_stream (PLATFORM_<TREE>)
    durable: str
    tree: str = ""                    # the layout tree it reads ("all": the whole root)
    stream_subject: str = ""          # what its stream captures: the tree over every tenant


@dataclass(frozen=True)
class Platform:
    """The ``platform`` section: how many ingest shards and which consumers read them."""

    shards: int = 1
    consumers: tuple[PlatformConsumerSpec, ...] = ()
    #: each shard's tenants in a stack of their own (``model/shard_stacks.py``)
    shard_stacks: bool = False
    #: the ingest shards the current stack builds; None: every shard (``shard_stacks.stack_part``)
    stack_shards: Optional[tuple[int, ...]] = None


@dataclass(frozen=True)
class LeafNodeSpec:
    """A customer's leaf node: the tenant it belongs to, the hub URL it dials and its client port."""

    customer: str
    tenant: str
    hub_url: Optional[str] = None
    listen_port: int = 4222


@dataclass(frozen=True)
class RoleSpec:
    """A permission set users are bound to (``roles`` in the environment file, or a built-in role).

    Subjects may use ``{root}``, ``{tenant}``, ``{account}`` and ``{stack}``; an entry that is exactly
    ``{publish}`` stands for the layout's publish subjects of the tenant (the schema spelled out),
    ``{trees}`` for its exported trees. An omitted direction allows nothing (least privilege: in
    NATS an empty allow list would allow everything, so it is written as ``deny: [">"]``)."""

    name: str
    publish: tuple[str, ...] = ()
    publish_deny: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    subscribe_deny: tuple[str, ...] = ()
    responses: Optional[tuple[int, int]] = None   # (max replies, ttl ns)
    connection_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountUser:
    """A user of a declared account and the role its permissions come from."""

    name: str
    role: str


@dataclass(frozen=True)
class AccountExport:
    """A subject a declared account exports (a stream or a service)."""

    subject: str
    type: str = "stream"


@dataclass(frozen=True)
class AccountImport:
    """A subject a declared account imports from another account.

    ``account`` names the exporter: a declared account, or ``tenants`` for every tenant (then
    ``subject`` and ``local_subject`` are templates with ``{root}``/``{tenant}``).
    """

    account: str
    subject: str
    local_subject: Optional[str] = None
    type: str = "stream"


@dataclass(frozen=True)
class AccountJetStream:
    """A declared account's JetStream limits (-1: unlimited); absent, the account has no JetStream."""

    max_bytes: int
    max_memory: int
    max_streams: int = -1
    max_consumers: int = -1
    max_ack_pending: int = -1


@dataclass(frozen=True)
class NamedAccount:
    """An account that is not a tenant (``accounts`` in the environment file).

    A platform, an app, a monitor, an environment such as PROD or STAGING.
    """

    name: str
    description: str = ""
    jetstream: Optional[AccountJetStream] = None
    max_connections: int = -1
    users: tuple[AccountUser, ...] = ()
    exports: tuple[AccountExport, ...] = ()
    imports: tuple[AccountImport, ...] = ()
    mappings: tuple[tuple[str, str], ...] = ()
    streams: tuple[JsStream, ...] = ()
    kv_buckets: tuple["KvSpec", ...] = ()
    object_stores: tuple["ObjectStoreSpec", ...] = ()


@dataclass(frozen=True)
class Environment:
    """One environment file, read and checked: everything a stack builds comes from here."""

    stack: str
    file: str
    version: int
    servers: ServersSpec
    jetstream: JetStreamSpec
    monitoring: MonitoringSpec
    tiers: tuple[Tier, ...]
    tenants: tuple[Tenant, ...]
    platform: Platform
    leafnodes: tuple[LeafNodeSpec, ...] = ()
    tls: Optional[TLSSpec] = None
    subject_prefix: Optional[str] = None
    layout: Layout = Layout()
    roles: tuple[RoleSpec, ...] = ()
    accounts: tuple[NamedAccount, ...] = ()
    data_protection: DataProtection = DataProtection()   # which stored messages may be lost (data_loss)
    #: the size class of the whole estate when this is the estate stack's part of a sharded
    #: environment, whose servers hold every shard's tenants (``shard_stacks.stack_part``)
    servers_size_class: Optional[int] = None

    def role(self, name: str) -> RoleSpec:
        for r in self.roles:
            if r.name == name:
                return r
        raise KeyError(name)

    def tenant(self, tenant_id: str) -> Tenant:
        for t in self.tenants:
            if t.id == tenant_id:
                return t
        raise KeyError(tenant_id)

    def shard_of(self, tenant_id: str) -> int:
        """The platform shard of a tenant: rendezvous hashing, or jump hashing for shard stacks
        (``identity/sharding.py`` says why)."""
        return names.shard_of(tenant_id, self.platform.shards, jump=self.platform.shard_stacks)

    def hub_leaf_urls(self) -> tuple[str, ...]:
        """Default leaf-node URLs of the hub, used when a leaf node gives no ``hub_url``."""
        s = self.servers
        scheme = "tls" if self.tls else "nats"
        if s.mode is ServerMode.LOCAL:
            return (f"{scheme}://{s.host}:{s.leafnode_port}",)
        return (f"{scheme}://nats.{s.namespace}.svc:{s.leafnode_port}",)
