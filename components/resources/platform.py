"""Platform: the ingest accounts (shards) that import every tenant's logs/events/otel trees.

Each import adds bytes to the importing account's JWT and the servers refuse a JWT over 1 MiB, so
tenants are spread over ``platform.shards`` ingest accounts by a stable hash of the tenant id:
adding or removing a tenant re-signs only its own shard. Each shard has a consumer user (reads
``*.logs.>`` etc., denied publishing into the imported trees) and a provisioning user for the
shard's platform streams and consumers.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi

from components.model.environment.model import Environment
from components.model.environment.names import render
from components.model.identity.account import account_claims_template
from components.model.identity.user import user_claims_template
from components.model.tenant_plan import platform_account_spec, platform_user_specs, shard_members
from components.providers.account_jwt import Account
from components.providers.nkey import Nkey
from components.providers.user_jwt import User
from components.resources.connection import Hub
from components.resources.jetstream_objects import PlatformStreams


class Platform(pulumi.ComponentResource):
    def __init__(self, name: str, env: Environment, hub: Hub, tenant_pubs: Mapping[str, pulumi.Output[str]],
                 tenant_accounts: Mapping[str, pulumi.Resource], opts: Optional[pulumi.ResourceOptions] = None):
        """``tenant_accounts``: the tenants' Account resources. A shard's JWT is pushed only after the
        accounts it imports from are in the resolver: a server that meets an import of an account
        it does not know goes looking for it before it answers the push."""
        super().__init__("nats-tenancy:index:Platform", name, None, opts)
        prefix = env.subject_prefix
        tenants = {t.id: t for t in env.tenants}
        self.shard_of = {t.id: env.shard_of(t.id) for t in env.tenants} if env.platform.shards else {}
        self.accounts: list[Account] = []
        self.account_names: list[str] = []
        self.keys: list[Nkey] = []
        self.users: list[dict[str, User]] = []
        self.shard_numbers: list[int] = []   # every shard unless this stack builds only some of them
        for shard, members in sorted(shard_members(env).items()):
            member_pubs = pulumi.Output.all(**{t: tenant_pubs[t] for t in members}) if members \
                else pulumi.Output.from_input({})

            account_name = render(env.layout.names.platform_account, shard=str(shard), stack=env.stack)

            def claims(pubs: dict[str, str], shard: int = shard, account_name: str = account_name) -> dict[str, Any]:
                return account_claims_template(platform_account_spec(shard, pubs, prefix, tenants, account_name),
                                               source=f"platform shard {shard}")

            key = Nkey(f"platform-ingest-{shard}-key", role="account", opts=pulumi.ResourceOptions(parent=self))
            account = Account(
                f"platform-ingest-{shard}",
                public_key=key.public_key,
                claims=member_pubs.apply(claims),
                operator_seed=hub.operator_seed,
                servers=hub.servers(),
                system_creds=hub.system_creds,
                expect_servers=hub.server_count,
                opts=hub.opts(self, depends_on=[tenant_accounts[t] for t in members]),
            )
            users = {}
            for role, user_spec in platform_user_specs(shard, prefix, env).items():
                users[role] = User(
                    f"platform-{role}-{shard}",
                    claims=key.public_key.apply(
                        lambda pub, u=user_spec: user_claims_template(u, pub, source=f"platform user {u.name}")),
                    account_public_key=key.public_key,
                    signing_seed=key.seed,
                    servers=hub.servers(),
                    system_creds=hub.system_creds,
                    operator_seed=hub.operator_seed,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[account]),
                )
            PlatformStreams(f"platform-{shard}", env, url=hub.url, creds=users["provisioning"].creds,
                            opts=pulumi.ResourceOptions(parent=self, depends_on=[account, users["provisioning"]]))
            self.accounts.append(account)
            self.account_names.append(account_name)
            self.keys.append(key)
            self.users.append(users)
            self.shard_numbers.append(shard)
        self.register_outputs({})

    def accounts_output(self) -> dict[str, Any]:
        """The shards' entries of the ``accounts`` output, by account name."""
        return {name: {"public_key": key.public_key,
                       "creds": {f"platform-consumer-{shard}": pulumi.Output.secret(users["consumer"].creds)}}
                for shard, name, key, users in zip(self.shard_numbers, self.account_names, self.keys, self.users)}

    def output(self) -> dict[str, Any]:
        return {
            "accounts": [k.public_key for k in self.keys],
            "shard_of": self.shard_of,
            "creds": {"consumer": [pulumi.Output.secret(u["consumer"].creds) for u in self.users]},
        }
