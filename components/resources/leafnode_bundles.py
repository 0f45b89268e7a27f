"""LeafNodeBundles: the files the stack writes for people outside it.

- one bundle per customer leaf node, with the tenant's leaf user's creds, under
  ``.state/<stack>/leafnodes/<customer>``;
- per tenant its client files under ``.state/<stack>/tenants/<tenant>``: each user's creds, a
  natscli context per user and the producer templates (``tenant_files``). The stack outputs name
  their paths rather than carry their text, so ``pulumi up`` ends with a short summary.

Both hold secrets (creds), live in ignored folders, and are handed over out of band, never committed.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping, Optional

import pulumi

from components.model.environment.model import Environment
from components.model.render.producer_templates import CONTEXTS_DIR, PRODUCERS_DIR, TEMPLATE_FILES
from components.providers.leaf_bundle import ClientFiles, LeafBundle

#: Users that get no natscli context: the stack's own, and the leaf user (leaf connections only).
NO_CONTEXT = ("provisioning", "leaf")

if TYPE_CHECKING:
    from components.resources.tenant import Tenant


class LeafNodeBundles(pulumi.ComponentResource):
    def __init__(self, name: str, env: Environment, tenants: Mapping[str, "Tenant"], project_dir: str,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("nats-tenancy:index:LeafNodeBundles", name, None, opts)
        self._env, self._tenants, self._project_dir = env, tenants, project_dir
        self.client_files: dict[str, ClientFiles] = {}
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

    def tenant_files(self, tenant_id: str, nats_url: pulumi.Input[str]) -> dict[str, Any]:
        """The tenant's ``producer_templates`` and ``contexts`` outputs (``{name: path}``), writing
        its client files. Registered on first call, from the stack outputs, because the files need
        the client URL the outputs are built with; each path resolves once the files are written."""
        tenant = self._tenants[tenant_id]
        directory = os.path.join(self._project_dir, ".state", self._env.stack, "tenants", tenant_id)
        if tenant_id not in self.client_files:
            s = tenant.spec.subjects
            users = {name: c for name, c in tenant.creds.items() if name not in NO_CONTEXT}
            self.client_files[tenant_id] = ClientFiles(
                f"client-files-{tenant_id}", directory=directory, tenant=tenant_id, subjects=(s.logs, s.events, s.otel),
                nats_url=nats_url, creds=pulumi.Output.all(**users), opts=pulumi.ResourceOptions(parent=self))
        written = self.client_files[tenant_id].path  # resolves once the files are on disk
        directory = os.path.abspath(directory)

        def at(*parts: str) -> pulumi.Output[str]:
            return written.apply(lambda _: os.path.join(directory, *parts))

        users = sorted(n for n in tenant.creds if n not in NO_CONTEXT)
        return {
            "producer_templates": {f: at(PRODUCERS_DIR, f) for f in TEMPLATE_FILES},
            "contexts": {u: at(CONTEXTS_DIR, f"{u}.json") for u in users},
        }
