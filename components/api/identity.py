"""Typed identity resources: ``Operator``, ``Account``, ``User``, and the ``Hub`` they push to.

The operator signs accounts; accounts are pushed to the servers' ``full`` resolver with the system
user's creds (no restart); users are signed by their account's key. Seeds, creds and JWTs that carry
them are Pulumi secrets. The claims come from the model's typed specs (``AccountLimits``,
``Export``, ``UserPermissions``...), validated before any key exists, so a bad limit or subject fails
the program with the field named instead of reaching a server.

    operator = Operator("op", OperatorArgs(name="acme-ops"))
    server = LocalNatsServer("nats", LocalNatsServerArgs(data_dir=".state/nats", client_port=4222,
                                                         monitor_port=8222), operator)
    hub = server.hub
    acme = Account("acme", AccountArgs(name="acme", limits=AccountLimits(conn=10)), hub)
    User("acme-app", UserArgs(name="acme-app", permissions=UserPermissions(pub=Permission(allow=("acme.>",)))), acme)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi

from components.api.connection import JetStreamConnection
from components.model.identity.account import AccountLimits, AccountSpec, account_claims_template, validate_account
from components.model.identity.exports import Export, ExportType, Import
from components.model.identity.permissions import UserLimits, UserPermissions
from components.model.identity.roles import provisioning_user
from components.model.identity.user import UserSpec, user_claims_template, validate_user
from components.providers import account_jwt, operator_identity, user_jwt
from components.providers.nkey import Nkey
from components.resources.connection import Hub


@dataclass(frozen=True)
class OperatorArgs:
    name: str
    """The operator's name in its JWT."""
    system_account_name: str = "SYS"
    """Name of the system account the operator creates with itself (the servers' ``system_account``)."""
    operator_seed: Optional[pulumi.Input[str]] = None
    """Seed (``SO…``) of an existing operator to adopt, e.g. one made with ``nsc``; a new key when unset.
    Changing it replaces the operator: a different operator is a different trust root."""


class Operator(operator_identity.Operator, module="nats", name="Operator"):
    """The operator key, the system account and a system user, created once and kept. Outputs:
    ``operator_public_key``, ``operator_jwt``, ``system_account_public_key``, ``system_account_jwt``
    (public) and ``operator_seed``, ``system_user_creds`` (secret)."""

    def __init__(self, resource_name: str, args: OperatorArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(resource_name, operator_name=args.name, system_account_name=args.system_account_name,
                         operator_seed=args.operator_seed, opts=opts)


def hub(operator: Operator, url: pulumi.Input[str], server_count: int = 1,
        depends_on: Optional[pulumi.Resource] = None) -> Hub:
    """The servers as identity resources see them: ``url`` (a cluster's URLs comma-separated),
    ``server_count`` servers that must acknowledge every resolver push, and the resource that brings
    them up (``depends_on``), so no account is pushed before a server runs."""
    return Hub(url=url, server_count=server_count, operator_seed=operator.operator_seed,
               operator_public_key=operator.operator_public_key, system_creds=operator.system_user_creds,
               depends_on=depends_on)


@dataclass(frozen=True)
class AccountImport:
    """A stream or service another account exports, imported into this one."""

    subject: str
    """The exported subject (as the exporter wrote it)."""
    account: pulumi.Input[str]
    """The exporting account's public key (e.g. another ``Account``'s ``public_key`` output)."""
    type: ExportType = "stream"
    """``stream`` (messages flow in) or ``service`` (requests flow out)."""
    name: Optional[str] = None
    """Name of the import in the JWT."""
    local_subject: Optional[str] = None
    """Where the import appears in this account; the exported subject when unset."""


@dataclass(frozen=True)
class AccountArgs:
    name: str
    """The account's name in its JWT (and in error messages)."""
    limits: AccountLimits = field(default_factory=AccountLimits)
    """Connection, data and JetStream limits; ``AccountLimits(jetstream=NO_JETSTREAM)`` turns JetStream
    off, which also leaves out the provisioning user."""
    exports: Sequence[Export] = ()
    """Streams and services other accounts may import."""
    imports: Sequence[AccountImport] = ()
    """What this account imports from others."""
    default_permissions: Optional[UserPermissions] = None
    """Permissions of users whose JWT names none."""
    description: Optional[str] = None
    """Free text in the JWT."""
    tags: Sequence[str] = ()
    """Tags in the JWT (``tier:gold``)."""
    mappings: Sequence[tuple[str, str]] = ()
    """Subject mappings ``(from, to)`` applied to what the account's clients publish."""
    adopt_seed: Optional[str] = None
    """Seed (``SA…``) of an existing account that becomes this one: creds its key issued keep working."""
    provisioning_user: bool = True
    """Make a user limited to the account's JetStream API (and inbox), whose creds ``jetstream_connection`` uses."""

    def spec(self, imports: Sequence[Import] = ()) -> AccountSpec:
        """The model's account spec, with the imports resolved to public keys."""
        return AccountSpec(name=self.name, limits=self.limits, exports=tuple(self.exports), imports=tuple(imports),
                           default_permissions=self.default_permissions, description=self.description,
                           tags=tuple(self.tags), mappings=tuple(self.mappings))


def _resolved_imports(args: AccountArgs) -> pulumi.Output[list[Import]]:
    """The imports with their exporters' keys known (those keys are often other resources' outputs)."""
    def build(keys: list[str]) -> list[Import]:
        return [Import(subject=i.subject, account=str(k), type=i.type, name=i.name, local_subject=i.local_subject)
                for i, k in zip(args.imports, keys)]
    return pulumi.Output.all(*[i.account for i in args.imports]).apply(build)


def _jetstream_on(limits: AccountLimits) -> bool:
    """The server enables JetStream for an account whose JWT grants it any storage (flat or tiered)."""
    flat = limits.jetstream.mem_storage != 0 or limits.jetstream.disk_storage != 0
    return flat or any(t.mem_storage != 0 or t.disk_storage != 0 for t in limits.tiered_limits.values())


class Account(pulumi.ComponentResource):
    """An account: its key (``Nkey``), its operator-signed JWT live in the resolver, and a
    provisioning user for its JetStream objects. Users are signed by the account key itself."""

    public_key: pulumi.Output[str]
    seed: pulumi.Output[str]
    jwt: pulumi.Output[str]

    def __init__(self, resource_name: str, args: AccountArgs, hub: Hub,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("nats-tenancy:api:Account", resource_name, None, opts)
        source = f"account {args.name}"
        # Bad input fails here, before any key exists (imports once their exporters' keys are known).
        validate_account(args.spec(), source).raise_if_any()
        self.args = args
        self.hub = hub
        self.key = Nkey(f"{resource_name}-key", role="account", adopt_seed=args.adopt_seed,
                        opts=pulumi.ResourceOptions(parent=self))
        claims = _resolved_imports(args).apply(lambda imports: account_claims_template(args.spec(imports),
                                                                                       source=source))
        self.account = account_jwt.Account(
            f"{resource_name}-jwt", public_key=self.key.public_key, claims=claims,
            operator_seed=hub.operator_seed, servers=hub.servers(), system_creds=hub.system_creds,
            expect_servers=hub.server_count, opts=hub.opts(self))
        self.public_key = self.key.public_key
        self.seed = self.key.seed
        self.jwt = self.account.jwt
        self.provisioning: Optional[User] = None
        if args.provisioning_user and _jetstream_on(args.limits):
            spec = provisioning_user(f"{args.name}-provisioning")
            self.provisioning = User(f"{resource_name}-provisioning",
                                     UserArgs(name=spec.name, permissions=spec.permissions), self,
                                     opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"public_key": self.public_key})

    @property
    def jetstream_connection(self) -> JetStreamConnection:
        """The connection JetStream resources of this account use (its provisioning user)."""
        if self.provisioning is None:
            raise ValueError(f"account {self.args.name} has no provisioning user (JetStream off, or "
                             f"provisioning_user=False): make a User with the JetStream API and connect with it")
        return JetStreamConnection(server_url=self.hub.url, creds=self.provisioning.creds,
                                   account_label=self.args.name)


@dataclass(frozen=True)
class UserArgs:
    name: str
    """The user's name in its JWT."""
    permissions: UserPermissions = field(default_factory=UserPermissions)
    """Publish/subscribe allow and deny lists, and response permissions."""
    limits: UserLimits = field(default_factory=UserLimits)
    """Subscriptions, data and payload limits, source networks, connect times."""
    bearer_token: bool = False
    """Connect with the JWT alone (no nonce signed with the seed)."""
    allowed_connection_types: Sequence[str] = ()
    """Only these connection types (``STANDARD``, ``WEBSOCKET``, ``LEAFNODE``, ``MQTT``…); all when empty."""
    expires: Optional[int] = None
    """Expiry of the JWT, unix seconds; never when unset."""
    tags: Sequence[str] = ()
    """Tags in the JWT."""

    def spec(self) -> UserSpec:
        """The model's user spec."""
        return UserSpec(name=self.name, permissions=self.permissions, limits=self.limits,
                        bearer_token=self.bearer_token, allowed_connection_types=tuple(self.allowed_connection_types),
                        expires=self.expires, tags=tuple(self.tags))


class User(user_jwt.User, module="nats", name="User"):
    """A user of ``account``, signed by the account key. Outputs: ``public_key``, ``jwt`` and the
    secret ``seed`` and ``creds`` (the standard creds file text). Deleting it revokes its key on the
    resolver, so its creds stop working at once."""

    def __init__(self, resource_name: str, args: UserArgs, account: Account,
                 opts: Optional[pulumi.ResourceOptions] = None):
        spec = args.spec()
        source = f"account {account.args.name} user {spec.name}"
        validate_user(spec, source).raise_if_any()  # bad input fails here, before any key exists
        deps: list[Any] = [account.account]
        base = pulumi.ResourceOptions(parent=account, depends_on=deps)
        super().__init__(
            resource_name,
            claims=account.public_key.apply(lambda pub: user_claims_template(spec, pub, source=source)),
            account_public_key=account.public_key, signing_seed=account.seed, servers=account.hub.servers(),
            system_creds=account.hub.system_creds, operator_seed=account.hub.operator_seed,
            opts=pulumi.ResourceOptions.merge(base, opts))

