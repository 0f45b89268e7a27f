"""Tenant: one customer's NATS account, its users, and its JetStream objects.

The account carries the tenant's quotas (enforced by the server) and exports its three subject
trees to the platform. Users: ``service`` (publish/subscribe in the tenant's tree), ``reader``
(subscribe only), ``leaf`` (leaf-node connections only) and ``provisioning`` (JetStream API only,
used by the JetStream resources so every stream lives in this account). Removing a tenant from the
environment file deletes these in dependency order: consumers, streams and buckets, then users
(revoked on the resolver), then the account (deleted from the resolver).

Users are signed by the account's signing key, not by the account key itself, so that the signing
key can be rotated (``credentials.signing_key`` in the environment file) without changing the
account's identity; ``credentials.users`` rotates single users. See ``identity.rotation`` for the
grace period.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional

import pulumi

from components.model.environment.model import RoleSpec
from components.model.environment.model import Tenant as TenantSpec
from components.model.identity.account import account_claims_template
from components.model.identity.user import user_claims_template
from components.model.tenant_plan import plan_tenant
from components.providers.account_jwt import Account
from components.providers.nkey import Nkey
from components.providers.user_jwt import User
from components.resources.connection import Hub
from components.resources.jetstream_objects import JetStreamObjects


class Tenant(pulumi.ComponentResource):
    account_public_key: pulumi.Output[str]
    creds: dict[str, pulumi.Output[str]]

    def __init__(self, spec: TenantSpec, hub: Hub, prefix: Optional[str],
                 opts: Optional[pulumi.ResourceOptions] = None, roles: Optional[Mapping[str, RoleSpec]] = None,
                 adopt_seed: Optional[str] = None):
        """``prefix`` is unused (the tenant's subjects carry it); ``roles``: the environment's roles
        (built-in and declared) the tenant's users are bound to (``tenant_plan.plan_tenant`` decides
        everything the tenant is made of).
        ``adopt_seed``: the seed of an existing account (made with nsc) that becomes this tenant's
        account: its public key stays, so creds its key issued keep working (see docs/adoption.md)."""
        super().__init__("nats-tenancy:index:Tenant", spec.id, None, opts)
        self.spec = spec
        self.key = Nkey(f"{spec.id}-account-key", role="account", adopt_seed=adopt_seed,
                        opts=pulumi.ResourceOptions(parent=self))
        self.signing_key = Nkey(f"{spec.id}-signing-key", role="account", generation=spec.credentials.signing_key,
                                opts=pulumi.ResourceOptions(parent=self))
        plan = plan_tenant(spec, roles)
        account_spec = plan.account
        assert account_spec is not None
        source = f"tenant {spec.id}"
        account_claims_template(account_spec, source=source)  # bad input fails here, before any key exists
        grace_s = spec.credentials.grace_period_ns / 1e9
        self.account = Account(
            f"{spec.id}-account",
            public_key=self.key.public_key,
            claims=self.signing_key.public_key.apply(lambda sk: account_claims_template(
                dataclasses.replace(account_spec, signing_keys=(sk,)), source=source)),
            operator_seed=hub.operator_seed,
            servers=hub.servers(),
            system_creds=hub.system_creds,
            expect_servers=hub.server_count,
            grace_period_s=grace_s,
            opts=hub.opts(self),
        )
        self.account_public_key = self.key.public_key
        self.users: dict[str, User] = {}
        for role, user_spec in plan.users.items():
            self.users[role] = User(
                f"{spec.id}-{role}",
                claims=self.key.public_key.apply(
                    lambda pub, u=user_spec: user_claims_template(u, pub, issuer_is_signing_key=True,
                                                                  source=f"tenant {spec.id} user {u.name}")),
                account_public_key=self.key.public_key,
                signing_seed=self.signing_key.seed,
                generation=spec.credentials.generation(role),
                grace_period_s=grace_s,
                servers=hub.servers(),
                system_creds=hub.system_creds,
                operator_seed=hub.operator_seed,
                # After the account is in the resolver, so the creds work as soon as they exist.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.account]),
            )
        self.creds = {role: u.creds for role, u in self.users.items()}
        self.jetstream = JetStreamObjects(
            spec.id, plan.jetstream, url=hub.url, creds=self.users["provisioning"].creds, label=spec.id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.account, self.users["provisioning"]]),
        )
        self.register_outputs({"account_public_key": self.account_public_key})

    def output(self, nats_url: pulumi.Input[str]) -> dict[str, Any]:
        """This tenant's entry in the ``tenants`` stack output."""
        s = self.spec
        # Producer templates and natscli contexts are files the stack writes; their paths join this
        # entry in Estate.outputs (LeafNodeBundles.tenant_files).
        return {
            "account_public_key": self.account_public_key,
            "subjects": {"logs": s.subjects.logs, "events": s.subjects.events, "otel": s.subjects.otel},
            "streams": list(s.stream_names),
            "consumers": list(s.consumer_names),
            "kv_buckets": [kv.bucket for kv in s.kv_buckets],
            "object_stores": [o.bucket for o in s.object_stores],
            # Every user's creds but the provisioning user's, which only the stack's own resources use.
            "creds": {name: pulumi.Output.secret(c) for name, c in self.creds.items() if name != "provisioning"},
        }
