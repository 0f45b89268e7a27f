"""``LeafNode``: the bundle a customer runs to connect a leaf-node server to a tenant's account.

The environment file's ``leafnodes`` entry as a typed resource: a directory (and its ``.tar.gz``)
with the leaf server's config, which dials the hub as the tenant's ``leaf`` user (leaf-node
connections only), those creds, producer templates and a README. The files are written on ``up``,
rewritten when an input changes (or when they were removed or edited, noticed by ``pulumi
refresh``) and removed on ``destroy``.
They hold the creds: hand them over out of band, never commit them.

    acme = Tenant(TenantArgs(id="acme", quotas=quotas), server.hub)
    edge = LeafNode("acme-edge", LeafNodeArgs(customer="acme-edge", hub_url="nats://127.0.0.1:7422"), acme)
    pulumi.export("bundle", edge.archive)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import pulumi

from components.model.environment.platform import read_leafnodes
from components.model.environment.schema import Reader
from components.model.errors import Problems
from components.providers.leaf_bundle import LeafBundle
from components.resources import tenant as tenant_component

SOURCE = "leafnode"
"""How a bad ``LeafNodeArgs`` is named in errors."""


@dataclass(frozen=True)
class LeafNodeArgs:
    customer: str
    """The customer's name: the bundle's name and, unless ``directory`` says otherwise, its directory."""
    hub_url: str
    """Leaf-node URL of the hub (``nats://host:7422``, ``tls://…``); several comma-separated for a cluster."""
    listen_port: int = 4222
    """Client port of the customer's leaf server, where its local clients connect."""
    directory: Optional[str] = None
    """Where the bundle is written (relative to the program); ``.state/leafnodes/<customer>`` when unset."""

    def hub_urls(self) -> list[str]:
        """Every hub URL of ``hub_url``."""
        return [u.strip() for u in (self.hub_url or "").split(",") if u.strip()]

    def spec_check(self, tenant_id: str) -> list[str]:
        """The hub URLs, once the fields pass the environment file's checks (a ``SpecError`` naming
        the field otherwise)."""
        problems = Problems(SOURCE)
        urls = self.hub_urls()
        if not urls:
            problems.add(f"{SOURCE}.hub_url", f"{self.hub_url!r} names no URL",
                         "give the hub's leaf-node URL (LocalNatsServer.leafnode_url once leafnode_port is set)")
        for url in urls or [None]:
            entry = {"customer": self.customer, "tenant": tenant_id, "hub_url": url, "listen_port": self.listen_port}
            read_leafnodes(Reader(problems), [entry], SOURCE, {tenant_id})
        problems.raise_if_any()
        return urls


class LeafNode(LeafBundle, module="nats", name="LeafBundle"):
    """Outputs: ``path`` (the bundle's directory) and ``archive`` (its ``.tar.gz``), both absolute.
    ``tenant`` is a ``Tenant`` component: its account and its ``leaf`` user's creds."""

    def __init__(self, resource_name: str, args: LeafNodeArgs, tenant: tenant_component.Tenant,
                 opts: Optional[pulumi.ResourceOptions] = None):
        urls = args.spec_check(tenant.spec.id)
        if "leaf" not in tenant.creds:
            raise ValueError(f"leaf node {args.customer}: tenant {tenant.spec.id} has no leaf user")
        super().__init__(
            resource_name,
            directory=args.directory or os.path.join(".state", "leafnodes", args.customer),
            customer=args.customer, tenant=tenant.spec.id, account_public_key=tenant.account_public_key,
            hub_urls=urls, creds=tenant.creds["leaf"], listen_port=args.listen_port,
            subjects=tenant.spec.subjects.roots, opts=opts)
