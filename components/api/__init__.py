"""The public API: typed NATS resources and components for any Pulumi Python program.

Install the package (``pip install nats-tenancy``, or ``pip install <checkout>``) into the
program's virtualenv: the dynamic providers run in that interpreter and import their code by
module name, so the package must be importable there, not only in the program's directory.

    from components.api import (Operator, OperatorArgs, LocalNatsServer, LocalNatsServerArgs, Tenant,
                                TenantArgs, Quotas, Stream, StreamArgs)

    operator = Operator("operator", OperatorArgs(name="example"))
    server = LocalNatsServer("nats", LocalNatsServerArgs(".state/nats", 4222, 8222), operator)
    acme = Tenant(TenantArgs(id="acme", quotas=Quotas(5, 20, 1 << 30, 64 << 20, 50, 7, 1000)), server.hub)
    Stream("acme-orders", StreamArgs(name="ACME_ORDERS", subjects=["acme.events.orders.>"]),
           acme.jetstream_connection)

    platform = Platform("platform", PlatformArgs(consumers=[PlatformConsumerArgs("audit", "events")]),
                        server.hub, [acme])
    LeafNode("acme-edge", LeafNodeArgs(customer="acme-edge", hub_url="nats://127.0.0.1:7422"), acme)

Every resource takes ``(resource_name, args, <where it lives>, opts)`` (``Tenant``: ``(args, hub,
opts)``, its name is its id); every Args is a frozen dataclass with a docstring per field. The
JetStream Args are the field catalogues of ``components.model.jetstream`` (the same names, defaults
and update rules as the environment file, documented in docs/environments.md); the identity Args
take the model's typed claims (``AccountLimits``, ``Export``, ``UserPermissions``...);
``PlatformArgs`` and ``LeafNodeArgs`` are the environment file's ``platform`` and ``leafnodes``
entries, checked by the same rules.

A program that reads an environment file builds from it with the same classes (``Tenant`` and
``Platform`` take the loaded entries in place of Args) and the environment's own components in
``components.api.environment`` (servers, exporter, declared accounts, leaf bundles, data guard)
and ``components.api.kubernetes`` (``Cluster``, ``CredsSecrets``). The reference is docs/api.md.
"""
from components.api.bucket_args import KeyValueArgs, ObjectStoreArgs
from components.api.connection import JetStreamConnection
from components.api.consumer_args import ConsumerArgs
from components.api.identity import Account, AccountArgs, AccountImport, Operator, OperatorArgs, User, UserArgs, hub
from components.api.jetstream import Consumer, KeyValue, ObjectStore, Stream
from components.api.leafnode import LeafNode, LeafNodeArgs
from components.api.local_server import LocalNatsServer, LocalNatsServerArgs
from components.api.platform import Platform, PlatformArgs, PlatformConsumerArgs
from components.api.stream_args import (
    ConsumerLimits,
    Duration,
    Republish,
    Size,
    StreamArgs,
    StreamSource,
    SubjectTransform,
)
from components.api.tenant import Tenant, TenantArgs
from components.model.environment.layout import Layout
from components.model.environment.model import Environment, Quotas
from components.model.identity.account import NO_JETSTREAM, AccountLimits, JetStreamLimits
from components.model.identity.exports import Export
from components.model.identity.permissions import Permission, ResponsePermission, UserLimits, UserPermissions
from components.resources.connection import Hub

__all__ = [
    "Account", "AccountArgs", "AccountImport", "AccountLimits", "Consumer", "ConsumerArgs", "ConsumerLimits",
    "Duration", "Environment", "Export", "Hub", "JetStreamConnection", "JetStreamLimits", "KeyValue", "KeyValueArgs",
    "Layout", "LeafNode", "LeafNodeArgs", "LocalNatsServer", "LocalNatsServerArgs", "NO_JETSTREAM", "ObjectStore",
    "ObjectStoreArgs", "Operator", "OperatorArgs", "Permission", "Platform", "PlatformArgs", "PlatformConsumerArgs",
    "Quotas", "Republish", "ResponsePermission", "Size", "Stream", "StreamArgs",
    "StreamSource", "SubjectTransform", "Tenant", "TenantArgs", "User", "UserArgs", "UserLimits",
    "UserPermissions", "hub",
]
