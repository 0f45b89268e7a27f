"""``Tenant``: one customer's account with its quotas, its exported trees and its four users.

The environment-file program's ``Tenant`` component built from ``TenantArgs`` instead of an
environment entry, under the default layout: subjects ``<id>.logs.>``, ``<id>.events.>`` and
``<id>.otel.>`` (exported to whoever imports them), users ``service`` (publish and subscribe in the
tenant's tree), ``reader`` (subscribe only), ``leaf`` (leaf-node connections only) and
``provisioning`` (the JetStream API only: ``jetstream_connection`` connects with it, so every stream made
through it lives in this account and counts against its quotas).

    acme = Tenant(TenantArgs(id="acme", quotas=Quotas(max_streams=5, ...)), hub)
    Stream("acme-orders", StreamArgs(name="ACME_ORDERS", subjects=["acme.events.orders.>"]), acme.jetstream_connection)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Union

import pulumi

from components.api.connection import JetStreamConnection
from components.model.environment.layout import Layout
from components.model.environment.model import Quotas, RoleSpec
from components.model.environment.model import Tenant as TenantSpec
from components.model.environment.tenants import tenant_subjects
from components.resources import tenant as tenant_component
from components.resources.connection import Hub


@dataclass(frozen=True)
class TenantArgs:
    id: str
    """The tenant id: the root token of its subjects and the name of its resources (lowercase, ``-``)."""
    quotas: Quotas
    """Account limits the server enforces: ``max_streams``, ``max_consumers``, ``max_bytes`` (file
    storage), ``max_memory`` (memory storage), ``max_connections``, ``max_ack_pending``, and
    ``retention_days`` (the default ``max_age`` of its streams in the environment file; unused here)."""
    name: Optional[str] = None
    """Display name (the account JWT's description); the id when unset."""
    tier: str = "custom"
    """Tier label, kept as the account's ``tier:<tier>`` tag."""
    adopt_seed: Optional[str] = None
    """Seed (``SA…``) of an existing account that becomes this tenant's: creds its key issued keep working."""

    def spec(self) -> TenantSpec:
        """The model's tenant spec under the default layout, with no JetStream objects of its own."""
        return TenantSpec(id=self.id, name=self.name or self.id, tier=self.tier, quotas=self.quotas,
                          subjects=tenant_subjects(Layout(), self.id))


class Tenant(tenant_component.Tenant):
    """Outputs: ``account_public_key``; ``creds`` maps each user (service, reader, leaf,
    provisioning) to its creds (secret).

    ``args`` may also be a tenant entry of a loaded environment file (``Environment.tenants``): then
    the tenant is that entry in full (its layout's subjects, streams, consumers, buckets, extra
    users and credential generations), its users bound to ``roles`` (the environment's, by name),
    and ``adopt_seed`` is the seed of the account it adopts."""

    def __init__(self, args: Union[TenantArgs, TenantSpec], hub: Hub, opts: Optional[pulumi.ResourceOptions] = None,
                 *, roles: Optional[Mapping[str, RoleSpec]] = None, adopt_seed: Optional[str] = None):
        self.hub = hub
        if isinstance(args, TenantArgs):
            if roles is not None or adopt_seed is not None:
                raise ValueError(f"tenant {args.id}: roles and adopt_seed go with an environment's tenant; "
                                 "TenantArgs has adopt_seed of its own")
            spec, adopt_seed = args.spec(), args.adopt_seed
        else:
            spec = args
        super().__init__(spec, hub, None, opts, roles=roles, adopt_seed=adopt_seed)

    @property
    def jetstream_connection(self) -> JetStreamConnection:
        """The connection JetStream resources of this tenant use (its provisioning user)."""
        return JetStreamConnection(server_url=self.hub.url, creds=self.creds["provisioning"],
                                   account_label=self.spec.id)
