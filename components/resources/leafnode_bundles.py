"""LeafNodeBundles: one bundle per customer leaf node, with the tenant's leaf user's creds.

Bundles are written under ``.state/<stack>/leafnodes/<customer>`` (ignored by git): they hold a
secret (the creds), so they are handed over out of band, never committed.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping, Optional

import pulumi

from components.model.spec_model import Environment
from components.providers.leaf_bundle import LeafBundle

if TYPE_CHECKING:
    from components.resources.tenant import Tenant


class LeafNodeBundles(pulumi.ComponentResource):
    def __init__(self, name: str, env: Environment, tenants: Mapping[str, "Tenant"], project_dir: str,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("nats-tenancy:index:LeafNodeBundles", name, None, opts)
        self.bundles: dict[str, LeafBundle] = {}
        for leaf in env.leafnodes:
            tenant = tenants[leaf.tenant]
            spec = env.tenant(leaf.tenant)
            self.bundles[leaf.customer] = LeafBundle(
                f"leaf-{leaf.customer}",
                directory=os.path.join(project_dir, ".state", env.stack, "leafnodes", leaf.customer),
                customer=leaf.customer,
                tenant=leaf.tenant,
                account_public_key=tenant.account_public_key,
                hub_urls=[leaf.hub_url] if leaf.hub_url else list(env.hub_leaf_urls()),
                creds=tenant.creds["leaf"],
                listen_port=leaf.listen_port,
                subjects=spec.subjects.roots,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})

    def output(self) -> dict[str, Any]:
        return {c: {"directory": b.path, "archive": b.archive} for c, b in self.bundles.items()}
