"""NamedAccount: an account the environment declares by name (``accounts:``), not a tenant.

Seed 003's PROD, STAGING and MONITOR, seed 004's PLATFORM, seed 000's ``platform``: each has its own
key, JWT (limits, exports, imports, mappings), users bound to roles, and, when JetStream is on, the
streams and buckets it declares, made with its own provisioning user so they live in it. Users are
signed by the account key itself; their names are the ones the file gives (``prod-node-1``).
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi

from components.model.environment.model import NamedAccount as NamedAccountSpec
from components.model.environment.model import RoleSpec, Tenant
from components.model.identity.account import account_claims_template
from components.model.identity.user import user_claims_template
from components.model.tenant_plan import named_account_spec, plan_named_account
from components.providers.account_jwt import Account
from components.providers.nkey import Nkey
from components.providers.user_jwt import User
from components.resources.connection import Hub
from components.resources.jetstream_objects import JetStreamObjects


class NamedAccount(pulumi.ComponentResource):
    public_key: pulumi.Output[str]
    creds: dict[str, pulumi.Output[str]]

    def __init__(self, spec: NamedAccountSpec, hub: Hub, roles: Mapping[str, RoleSpec],
                 account_pubs: Mapping[str, pulumi.Output[str]], tenants: Mapping[str, Tenant],
                 depends_on: list[pulumi.Resource], opts: Optional[pulumi.ResourceOptions] = None,
                 stack: str = "", adopt_seed: Optional[str] = None):
        """``account_pubs``: the public keys of the accounts it may import from (declared accounts
        built before it, and tenants); ``depends_on``: their Account resources, so its JWT reaches
        the resolver after theirs."""
        super().__init__("nats-tenancy:index:NamedAccount", spec.name, None, opts)
        self.spec = spec
        self.key = Nkey(f"account-{spec.name}-key", role="account", adopt_seed=adopt_seed,
                        opts=pulumi.ResourceOptions(parent=self))
        source = f"account {spec.name}"
        needed = sorted({imp.account for imp in spec.imports if imp.account != "tenants"}
                        | ({t for t in tenants} if any(i.account == "tenants" for i in spec.imports) else set()))
        pubs = pulumi.Output.all(**{n: account_pubs[n] for n in needed}) if needed else pulumi.Output.from_input({})

        def claims(known: dict[str, str]) -> dict[str, Any]:
            return account_claims_template(named_account_spec(spec, known, tenants), source=source)

        self.account = Account(
            f"account-{spec.name}",
            public_key=self.key.public_key,
            claims=pubs.apply(claims),
            operator_seed=hub.operator_seed,
            servers=hub.servers(),
            system_creds=hub.system_creds,
            expect_servers=hub.server_count,
            opts=hub.opts(self, depends_on=depends_on),
        )
        self.public_key = self.key.public_key
        self.users: dict[str, User] = {}
        plan = plan_named_account(spec, roles, stack)
        for key, user_spec in plan.users.items():
            self.users[key] = User(
                f"account-{spec.name}-{key}",
                claims=self.key.public_key.apply(
                    lambda pub, u=user_spec: user_claims_template(u, pub, source=f"{source} user {u.name}")),
                account_public_key=self.key.public_key,
                signing_seed=self.key.seed,
                servers=hub.servers(),
                system_creds=hub.system_creds,
                operator_seed=hub.operator_seed,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.account]),
            )
        self.creds = {k: u.creds for k, u in self.users.items()}
        if spec.jetstream is not None:
            JetStreamObjects(
                f"account-{spec.name}", plan.jetstream, url=hub.url, creds=self.users["provisioning"].creds,
                label=spec.name, type_token="nats-tenancy:index:AccountJetStream",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.account, self.users["provisioning"]]))
        self.register_outputs({"public_key": self.public_key})

    def output(self) -> dict[str, Any]:
        """This account's entry in the ``accounts`` stack output (creds secret, provisioning left out)."""
        return {"public_key": self.public_key,
                "creds": {k: pulumi.Output.secret(c) for k, c in self.creds.items() if k != "provisioning"}}
