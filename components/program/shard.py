"""ShardEstate: one shard stack of a sharded environment (``model/shard_stacks.py``), built through
the public API as the estate is (``program/estate.py``).

It builds what the estate stack leaves to its shards: the tenants of one platform shard (accounts,
users, JetStream objects, leaf bundles, the data guard over them) and that shard's ingest account.
The servers, the operator and the system account belong to the estate stack; a shard reaches
them through the estate's ``shard_contract`` output, read with a StackReference, and signs its
accounts with the estate's operator key.

``shard_contract`` is the estate side: what the estate stack exports for its shards.
"""
from __future__ import annotations

import os
from typing import Any, Optional

import pulumi

from components import api
from components.api import environment as env_api
from components.model.environment.load import StackSettings
from components.model.environment.model import Environment
from components.model.shard_stacks import shard_digest
from components.program.estate import tenant_accounts

#: The estate output a shard stack reads.
CONTRACT_OUTPUT = "shard_contract"


def shard_contract(nats_url: pulumi.Input[str], operator: Any) -> dict[str, Any]:
    """The estate's ``shard_contract`` output: where the servers are and the keys a shard signs
    with (the operator seed and the system user's creds as secrets)."""
    return {
        "nats_url": nats_url,
        "operator_public_key": operator.operator_public_key,
        "operator_seed": pulumi.Output.secret(operator.operator_seed),
        "system_creds": pulumi.Output.secret(operator.system_user_creds),
    }


def estate_reference_name(estate_stack: str) -> str:
    """The StackReference name of the estate stack: ``organization/<project>/<stack>`` on a
    self-managed (file) backend, the only form it resolves."""
    return f"organization/{pulumi.get_project()}/{estate_stack}"


class ShardEstate(pulumi.ComponentResource):
    """The tenants of one shard and their ingest account, on the estate's servers."""

    def __init__(self, name: str, env: Environment, settings: StackSettings, project_dir: Optional[str] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("nats-tenancy:index:ShardEstate", name, None, opts)
        project_dir = project_dir or os.getcwd()
        shard = settings.role.shard
        assert shard is not None, "a ShardEstate is built for a shard stack only"
        self.env, self.shard = env, shard
        self.reference = pulumi.StackReference(estate_reference_name(settings.role.estate),
                                               opts=pulumi.ResourceOptions(parent=self))
        contract = self.reference.require_output(CONTRACT_OUTPUT)
        self.nats_url: pulumi.Output[str] = contract.apply(lambda c: c["nats_url"])
        operator_public_key = contract.apply(lambda c: c["operator_public_key"])
        self.system_creds: pulumi.Output[str] = pulumi.Output.secret(contract.apply(lambda c: c["system_creds"]))
        hub = api.Hub(url=self.nats_url, server_count=env.servers.replicas,
                      operator_seed=pulumi.Output.secret(contract.apply(lambda c: c["operator_seed"])),
                      operator_public_key=operator_public_key, system_creds=self.system_creds)
        roles = {r.name: r for r in env.roles}
        protect = [env_api.protection_transformation(env, project_dir)]
        self.tenants = {t.id: api.Tenant(t, hub, opts=pulumi.ResourceOptions(parent=self, transformations=protect),
                                         roles=roles, adopt_seed=settings.account_seed(t.id))
                        for t in env.tenants}
        child = pulumi.ResourceOptions(parent=self)
        self.data_guard = env_api.data_guard(env, self.nats_url, self.system_creds, env.servers.replicas,
                                             {tid: t.account_public_key for tid, t in self.tenants.items()},
                                             project_dir, opts=child)
        self.platform = api.Platform("platform", env, hub, list(self.tenants.values()),
                                     opts=pulumi.ResourceOptions(
                                         parent=self, transformations=[*protect, env_api.after(self.data_guard)]))
        self.leafnodes = env_api.LeafNodeBundles("leafnodes", env, self.tenants, project_dir, opts=child)
        self.register_outputs({})

    def outputs(self) -> dict[str, Any]:
        """The shard's part of the stack-output contract (``tenants``, ``platform``, ``accounts``,
        ``leafnodes``), its ``shard`` number and the ``shard_digest`` the driver compares."""
        accounts = {**tenant_accounts(self.tenants.values()), **self.platform.accounts_output()}
        return {
            "nats_url": self.nats_url,
            "shard": self.shard,
            "shard_digest": shard_digest(self.env, self.shard),
            "tenants": {tid: {**t.output(self.nats_url), **self.leafnodes.tenant_files(tid, self.nats_url)}
                        for tid, t in self.tenants.items()},
            "platform": self.platform.output(),
            "leafnodes": self.leafnodes.output(),
            "accounts": accounts,
        }
