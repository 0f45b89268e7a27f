"""Load ``environments/<stack>.yaml`` into a validated ``Environment`` (and read stack settings).

Everything in the file is checked before anything else runs; every problem found is collected and
one ``SpecError`` lists them all, each naming the file, the field path, the bad value and a fix.
The schema is described in ``docs/environments.md``; sections are read by ``servers``,
``tenants`` and ``platform``, cross-section rules live in ``checks``, derived names in
``names``. This package does no network I/O; ``load_environment`` only reads the one file.
"""
from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional
from urllib.parse import urlparse

from components.model.environment import checks
from components.model.environment.accounts import bindable_roles, check_imports, read_accounts, read_roles
from components.model.environment.data_protection import read_data_protection
from components.model.environment.estate_checks import check_estate, platform_account_names
from components.model.environment.layout_section import read_layout
from components.model.environment.model import (  # re-exported: the public model
    ConsumerKind,
    ConsumerSpec,
    DiscardPolicy,
    Domain,
    Environment,
    JetStreamSpec,
    KvSpec,
    LeafNodeSpec,
    MonitoringSpec,
    ObjectStoreSpec,
    Platform,
    PlatformConsumerSpec,
    Quotas,
    ResourcesSpec,
    ServerMode,
    ServersSpec,
    ServiceType,
    StorageType,
    StreamClass,
    StreamClassKind,
    SubjectRoot,
    Tenant,
    TenantSubjects,
    Tier,
    TLSSpec,
    UserRole,
    UserSpec,
)
from components.model.environment.names import ID_PATTERN
from components.model.environment.platform import read_leafnodes, read_platform
from components.model.environment.schema import Reader, parse_yaml
from components.model.environment.servers import read_jetstream, read_monitoring, read_servers, read_tls
from components.model.environment.tenant_memo import TenantMemo
from components.model.environment.tenants import EVERY_TENANT_KEYS, TenantContext, read_tenants, read_tiers
from components.model.errors import Problems, SpecError
from components.model.identity.keys import NkeyError, keypair_from_seed
from components.model.shard_stacks import StackRole

__all__ = [
    "ConsumerKind", "ConsumerSpec", "DiscardPolicy", "Domain", "Environment", "JetStreamSpec", "KvSpec",
    "LeafNodeSpec", "MonitoringSpec", "ObjectStoreSpec", "Platform", "PlatformConsumerSpec", "Quotas",
    "ResourcesSpec", "ServerMode", "ServersSpec", "ServiceType", "StorageType", "StreamClass",
    "StreamClassKind", "SubjectRoot", "Tenant", "TenantSubjects", "Tier", "TLSSpec", "UserRole", "UserSpec",
    "StackSettings", "SUPPORTED_VERSIONS", "load_environment", "load_environment_text", "stack_settings",
]

SUPPORTED_VERSIONS = (1,)
TOP_KEYS = ("version", "servers", "jetstream", "tls", "monitoring", "subject_prefix", "layout", "roles", "tiers",
            "tenants", "accounts", "platform", "leafnodes", "data_protection")


def load_environment(path: str, stack: Optional[str] = None, memo: Optional[TenantMemo] = None) -> Environment:
    """Read and validate the environment file at ``path``.

    ``stack`` defaults to the file name without extension (``environments/prod.yaml`` → ``prod``);
    problems name ``path`` as given, so relative paths give short messages. ``memo``: tenants
    checked by an earlier load (``tenant_memo.py``), saved again after a load without problems.
    """
    if stack is None:
        stack = os.path.splitext(os.path.basename(path))[0]
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise SpecError.single(path, "", f"cannot read the environment file: {exc.strerror}",
                               f"create {path} or point nats-tenancy:environment at an existing file") from exc
    env = load_environment_text(text, path, stack, memo)
    if memo is not None:
        memo.save()
    return env


def load_environment_text(text: str, file_label: str, stack: Optional[str] = None,
                          memo: Optional[TenantMemo] = None) -> Environment:
    """Validate environment YAML ``text``; ``file_label`` is used in messages (and for the stack name)."""
    if stack is None:
        stack = os.path.splitext(os.path.basename(file_label))[0]
    problems = Problems(file_label)
    r = Reader(problems)
    doc = parse_yaml(text, problems) if memo is None else memo.parse(text, problems)
    problems.raise_if_any()
    if doc is None:
        doc = {}
    if isinstance(doc, dict):
        # "x-" keys hold YAML anchors to reuse below (as in compose files); they are not settings.
        doc = {k: v for k, v in doc.items() if not (isinstance(k, str) and k.startswith("x-"))}
    # Tiers are required only where tenants use them: an estate of declared accounts has none.
    needs_tiers = ("tiers",) if isinstance(doc, dict) and doc.get("tenants") else ()
    top = r.mapping(doc, "", TOP_KEYS, required=("version", "servers", *needs_tiers))
    if top is None:  # not a mapping: nothing else can be read
        raise SpecError(problems.items)

    version = top.get("version")
    if "version" in top and (isinstance(version, bool) or version not in SUPPORTED_VERSIONS):
        r.add("version", f"unsupported version {version!r}",
              f"use version: {SUPPORTED_VERSIONS[-1]} (supported: {', '.join(map(str, SUPPORTED_VERSIONS))})")
    servers = read_servers(r, top.get("servers"), "servers", stack) if "servers" in top else None
    mode = servers.mode if servers else _raw_mode(top.get("servers"))
    jetstream = read_jetstream(r, top.get("jetstream"), "jetstream", stack, mode)
    tls = read_tls(r, top.get("tls"), "tls", mode, stack)
    monitoring = read_monitoring(r, top.get("monitoring"), "monitoring", mode)
    prefix = r.string(top, "subject_prefix", "", pattern=_PREFIX,
                      fix="use one token of lower-case letters, digits or '-', e.g. 'acme-platform'")
    layout = read_layout(r, top.get("layout"), "layout", stack, prefix)
    roles = read_roles(r, top.get("roles"), "roles")
    every = _every_tenant(r, top.get("layout"))
    tiers = read_tiers(r, top.get("tiers"), "tiers") if "tiers" in top else {}
    tenants = read_tenants(r, top.get("tenants"), "tenants",
                           TenantContext(prefix, servers, tiers, layout, every, bindable_roles(roles)), memo)
    server_replicas = servers.replicas if servers else 1
    accounts = read_accounts(r, top.get("accounts"), "accounts", roles, layout, server_replicas)
    check_imports(r, accounts, tenants, layout)
    platform = read_platform(r, top.get("platform"), "platform", layout)
    check_estate(r, tenants, accounts, platform, platform_account_names(platform, layout), jetstream)
    leafnodes = read_leafnodes(r, top.get("leafnodes"), "leafnodes", _declared_tenant_ids(top.get("tenants")))
    data_protection = read_data_protection(r, top.get("data_protection"), "data_protection")

    if servers is not None:
        checks.check_ports(r, servers, monitoring)
        if jetstream is not None:
            checks.check_server_capacity(r, servers, jetstream)
    checks.check_tenants(r, tenants, jetstream)
    problems.raise_if_any()
    assert servers is not None and jetstream is not None and isinstance(version, int)
    return Environment(stack=stack, file=file_label, version=version, servers=servers, jetstream=jetstream,
                       monitoring=monitoring, tiers=tuple(tiers[k] for k in sorted(tiers)), tenants=tenants,
                       platform=platform, leafnodes=leafnodes, tls=tls, subject_prefix=prefix, layout=layout,
                       roles=tuple(roles[k] for k in sorted(roles)), accounts=accounts,
                       data_protection=data_protection)


def _every_tenant(r: Reader, layout: Any) -> Optional[Mapping[str, Any]]:
    """``layout.every_tenant``: streams, buckets and users each tenant gets, as templates."""
    if not isinstance(layout, dict) or layout.get("every_tenant") is None:
        return None
    return r.mapping(layout["every_tenant"], "layout.every_tenant", EVERY_TENANT_KEYS)


_PREFIX = ID_PATTERN


def _raw_mode(value: Any) -> Optional[ServerMode]:
    if isinstance(value, dict):
        for m in ServerMode:
            if value.get("mode") == m.value:
                return m
    return None


def _declared_tenant_ids(value: Any) -> set[str]:
    """Ids written in the file, valid or not, so one bad tenant does not also fail its leaf nodes."""
    if not isinstance(value, list):
        return set()
    return {t["id"] for t in value if isinstance(t, dict) and isinstance(t.get("id"), str)}


# -- stack settings (Pulumi.<stack>.yaml) ----------------------------------------------------------

CONFIG_NAMESPACE = "nats-tenancy"
SETTING_KEYS = ("environment", "natsUrl", "operatorSeed", "renderYamlToDirectory", "jetstreamKey", "accountSeeds")
#: Shortest accepted JetStream store key: the key is all that protects the store files at rest.
MIN_STORE_KEY_LENGTH = 32
URL_SCHEMES = ("nats", "tls", "ws", "wss")


@dataclass(frozen=True)
class StackSettings:
    """What one stack's Pulumi config says: its environment file, NATS URL and adopted secrets.

    The secret fields are left out of ``repr`` so an error message or log line never shows them.
    """

    stack: str
    environment_path: str
    nats_url: Optional[str] = None
    operator_seed: Optional[str] = field(default=None, repr=False)   # secret: adopt an nsc operator
    jetstream_key: Optional[str] = field(default=None, repr=False)   # secret: JetStream store encryption key
    render_yaml_to_directory: Optional[str] = None   # kubernetes: write manifests instead of applying them
    #: secret: existing accounts to adopt, account (tenant id or declared account name) → its seed
    account_seeds: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    #: estate or shard stack of a sharded environment (set by ``stack_config.load_stack``)
    role: StackRole = StackRole(estate="")

    def account_seed(self, account: str) -> Optional[str]:
        return dict(self.account_seeds).get(account)


def stack_settings(stack: str, values: Mapping[str, Any], mode: Optional[ServerMode] = None,
                   default_environment: Optional[str] = None) -> StackSettings:
    """Settings from the stack's config values (keys like ``nats-tenancy:natsUrl``).

    Keys of other namespaces (``kubernetes:context`` …) are ignored. ``natsUrl`` is required when the
    stack is ``prod`` or ``mode`` is kubernetes, since then no local server tells us where NATS is.
    ``default_environment`` names the file read when ``environment`` is not set (a shard stack
    reads its estate's: ``environments/<estate>.yaml``).
    """
    file_label = f"Pulumi.{stack}.yaml"
    problems = Problems(file_label)
    ours: dict[str, Any] = {}
    for key, value in values.items():
        ns, _, name = key.partition(":")
        if ns != CONFIG_NAMESPACE:
            continue
        if name not in SETTING_KEYS:
            close = difflib.get_close_matches(name, SETTING_KEYS, n=1, cutoff=0.5)
            hint = f"did you mean '{CONFIG_NAMESPACE}:{close[0]}'? " if close else ""
            problems.add(f"config.{key}", f"unknown setting {key!r}",
                         f"{hint}allowed: {', '.join(CONFIG_NAMESPACE + ':' + k for k in SETTING_KEYS)}")
            continue
        if not isinstance(value, str) or not value:
            problems.add(f"config.{key}", f"expected a non-empty string, got {value!r}",
                         f"pulumi config set {key} <value> --stack {stack}")
            continue
        ours[name] = value
    env_path = ours.get("environment", f"environments/{default_environment or stack}.yaml")
    url = ours.get("natsUrl")
    if url is not None:
        # A cluster's servers may be listed comma-separated, as the nats CLI takes them.
        if any(urlparse(u).scheme not in URL_SCHEMES or not urlparse(u).hostname for u in url.split(",")):
            problems.add(f"config.{CONFIG_NAMESPACE}:natsUrl", f"{url!r} is not a NATS URL",
                         f"use {'|'.join(URL_SCHEMES)}://host:port, e.g. tls://nats.example.com:4222")
    elif stack == "prod" or mode is ServerMode.KUBERNETES:
        problems.add(f"config.{CONFIG_NAMESPACE}:natsUrl", "missing (required for kubernetes mode and prod)",
                     f"pulumi config set {CONFIG_NAMESPACE}:natsUrl tls://<host>:4222 --stack {stack}")
    seeds = _account_seeds(ours.get("accountSeeds"), problems, stack)
    problems.raise_if_any()
    return StackSettings(stack=stack, environment_path=env_path, nats_url=url, account_seeds=seeds,
                         operator_seed=ours.get("operatorSeed"),
                         render_yaml_to_directory=ours.get("renderYamlToDirectory"),
                         jetstream_key=ours.get("jetstreamKey"))


def _account_seeds(text: Optional[str], problems: Problems, stack: str) -> tuple[tuple[str, str], ...]:
    """``accountSeeds``: a JSON object of account seeds (``SA…``) to adopt, never echoed in errors."""
    if text is None:
        return ()
    key = f"config.{CONFIG_NAMESPACE}:accountSeeds"
    fix = (f"pulumi config set --secret --path '{CONFIG_NAMESPACE}:accountSeeds.<account>' --stack {stack} "
           "< <file holding the SA… seed>")
    try:
        value = json.loads(text)
    except ValueError:
        problems.add(key, "is not a JSON object of account name to seed", fix)
        return ()
    if not isinstance(value, dict):
        problems.add(key, "is not a JSON object of account name to seed", fix)
        return ()
    out: list[tuple[str, str]] = []
    for name, seed in sorted(value.items()):
        try:
            ok = isinstance(seed, str) and keypair_from_seed(seed).role == "A"
        except NkeyError:
            ok = False
        if not ok:
            problems.add(f"{key}.{name}", "is not an account seed (SA…)", fix)   # the value stays unshown
        else:
            out.append((str(name), seed))
    return tuple(out)


def check_adopted_accounts(settings: StackSettings, env: Environment) -> None:
    """Every adopted account names a tenant or a declared account of the environment."""
    known = {t.id for t in env.tenants} | {a.name for a in env.accounts}
    problems = Problems(f"Pulumi.{settings.stack}.yaml")
    for name, _ in settings.account_seeds:
        if name not in known:
            problems.add(f"config.{CONFIG_NAMESPACE}:accountSeeds.{name}",
                         f"no tenant or account {name!r} in {env.file}",
                         f"use a tenant id or declared account name: {', '.join(sorted(known))}")
    problems.raise_if_any()


def check_store_key(settings: StackSettings, env: Environment) -> None:
    """``jetstream.cipher`` needs the secret setting ``jetstreamKey`` (and nothing else uses it).

    The key stays out of the environment file on purpose: that file is committed, the stack's
    config secret is encrypted with the stack's passphrase and reaches the servers only through
    their process environment (``server_conf.jetstream_key_env``). The servers cannot read a store
    whose key changed, so the key is set once and kept."""
    problems = Problems(f"Pulumi.{settings.stack}.yaml")
    field_path = f"config.{CONFIG_NAMESPACE}:jetstreamKey"
    key = settings.jetstream_key
    # The value on stdin: a command-line argument is readable by any user while the command runs.
    set_it = (f"openssl rand -hex 32 | pulumi config set --secret {CONFIG_NAMESPACE}:jetstreamKey "
              f"--stack {settings.stack}")
    if env.jetstream.cipher and not key:
        problems.add(field_path, f"missing: {env.file} sets jetstream.cipher: {env.jetstream.cipher}",
                     f"{set_it}, and keep it: the store cannot be read with another key")
    elif key and not env.jetstream.cipher:
        problems.add(field_path, "set, but the environment file does not encrypt the store",
                     f"add jetstream.cipher: aes (or chachapoly) to {env.file}, or remove the setting")
    elif key and len(key) < MIN_STORE_KEY_LENGTH:
        problems.add(field_path, f"{len(key)} characters is too short for a store key",
                     f"use at least {MIN_STORE_KEY_LENGTH}: {set_it}")
    problems.raise_if_any()
