"""Two tenants and a platform shard on a real operator-mode nats-server, with the users the stack
hands out (built by ``identity.roles``, signed as real JWTs), and each user's creds file and natscli
context file on disk.

The JetStream objects are made the way the stack makes them: by the tenant's provisioning user,
a stream per domain class, a durable pull and a durable push consumer (with a deliver group), KV
buckets and an object store. Nothing here is a fixed secret: keys are generated at run time.
"""
from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from components.model.identity import roles
from components.model.identity.account import AccountLimits, AccountSpec, JetStreamLimits
from components.model.identity.keys import KeyPair
from components.model.identity.tenancy import platform_imports
from components.model.identity.user import UserSpec
from components.model.render.producer_templates import render_user_context
from tests.support.nats_server import RunningServer
from tests.support.operator_mode import OperatorSetup, connect
from tests.support.tenant_exports import tenant_exports

TENANTS = ("acme", "globex")
STREAM = "{T}_ORDERS_LIVE"            # captures <t>.events.orders.>
PULL = "{T}_ORDERS_LIVE_WORKER"
PUSH = "{T}_ORDERS_LIVE_FEED"
PUSH_GROUP = "feeders"
KV = "{t}_settings"                   # allow_direct on (as nats-py and nats.go make buckets)
KV_MSG_GET = "{t}_legacy"             # allow_direct off: gets go through STREAM.MSG.GET
OBJ = "{t}_reports"


def name(template: str, tenant: str) -> str:
    return template.format(t=tenant, T=tenant.upper())


@dataclass
class Tenancy:
    workdir: str
    setup: OperatorSetup
    server: RunningServer
    accounts: dict[str, KeyPair] = field(default_factory=dict)
    #: "<tenant>.<role>" (or "platform.consumer") -> creds text
    creds: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def creds_file(self, who: str) -> str:
        return os.path.join(self.workdir, "creds", f"{who}.creds")

    def context_file(self, who: str) -> str:
        return os.path.join(self.workdir, "contexts", f"{who}.json")

    def run(self, who: str, fn: Callable[[Any], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            c = await connect(self.url, self.creds[who])
            try:
                return await fn(c.nc)
            finally:
                await c.close()

        return asyncio.run(main())


def tenant_users(tenant: str) -> dict[str, UserSpec]:
    """The users of one tenant as the stack makes them, plus an extra service-role user ``ingest``
    and an extra backup-role user ``ops`` (``users: [{name: ingest, role: service}, …]``)."""
    buckets = dict(kv_buckets=[name(KV, tenant), name(KV_MSG_GET, tenant)], object_stores=[name(OBJ, tenant)])
    return {
        "service": roles.tenant_service_user(tenant, **buckets),
        "reader": roles.tenant_reader_user(tenant),
        "leaf": roles.tenant_leaf_user(tenant),
        "provisioning": roles.tenant_provisioning_user(tenant),
        "ingest": roles.tenant_service_user(tenant, name=f"{tenant}-ingest", **buckets),
        "ops": roles.tenant_backup_user(tenant, name=f"{tenant}-ops"),
    }


def _write(path: str, text: str, mode: int) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def build(workdir: str) -> Tenancy:
    """Start the server and make everything; the caller stops ``server``."""
    setup, server = OperatorSetup.create(workdir, name="clients")
    t = Tenancy(workdir, setup, server)
    try:
        limits = AccountLimits(conn=50, jetstream=JetStreamLimits(mem_storage=8 << 20, disk_storage=64 << 20,
                                                                  streams=10, consumer=20))
        for tenant in TENANTS:
            account, _ = setup.add_account(AccountSpec(name=tenant, limits=limits,
                                                       exports=tuple(tenant_exports(tenant))))
            t.accounts[tenant] = account
            for role, spec in tenant_users(tenant).items():
                t.creds[f"{tenant}.{role}"] = setup.user_creds(account, spec)
        imports = [i for tenant in TENANTS for i in platform_imports(tenant, t.accounts[tenant].public_key)]
        platform, _ = setup.add_account(AccountSpec(name="platform-ingest-0", imports=tuple(imports)))
        t.accounts["platform"] = platform
        t.creds["platform.consumer"] = setup.user_creds(
            platform, roles.platform_consumer_user(name="platform-consumer-0"))
        for who, text in t.creds.items():
            _write(t.creds_file(who), text, 0o600)
            _write(t.context_file(who), render_user_context(f"{who} (tests)", t.url, t.creds_file(who)), 0o644)
        for tenant in TENANTS:
            t.run(f"{tenant}.provisioning", lambda nc, tenant=tenant: _provision(nc, tenant))
    except BaseException:
        server.stop()
        raise
    return t


async def _provision(nc: Any, tenant: str) -> None:
    """What the stack's JetStream resources create for the tenant, through the JetStream API."""
    async def api(subject: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = json.loads((await nc.request(f"$JS.API.{subject}", json.dumps(body).encode(), timeout=5)).data)
        assert "error" not in reply, (subject, reply)
        return reply

    stream = name(STREAM, tenant)
    await api(f"STREAM.CREATE.{stream}", {"name": stream, "subjects": [f"{tenant}.events.orders.>"],
                                          "storage": "file", "max_bytes": 8 << 20, "duplicate_window": 120_000_000_000})
    pull = name(PULL, tenant)
    await api(f"CONSUMER.CREATE.{stream}.{pull}", {"stream_name": stream, "config": {
        "durable_name": pull, "ack_policy": "explicit", "max_deliver": 3}})
    push = name(PUSH, tenant)
    await api(f"CONSUMER.CREATE.{stream}.{push}", {"stream_name": stream, "config": {
        "durable_name": push, "ack_policy": "explicit", "deliver_subject": f"{tenant}.deliver.orders.feed",
        "deliver_group": PUSH_GROUP}})
    js = nc.jetstream()
    from nats.js.api import KeyValueConfig, ObjectStoreConfig, StorageType

    await js.create_key_value(KeyValueConfig(bucket=name(KV, tenant), history=5, storage=StorageType.FILE,
                                             max_bytes=1 << 20))
    await js.create_key_value(KeyValueConfig(bucket=name(KV_MSG_GET, tenant), history=5,
                                                      storage=StorageType.FILE, max_bytes=1 << 20))
    info = await js.stream_info(f"KV_{name(KV_MSG_GET, tenant)}")
    if info.config.allow_direct:
        cfg = info.config.as_dict()
        cfg["allow_direct"] = False
        await api(f"STREAM.UPDATE.KV_{name(KV_MSG_GET, tenant)}", cfg)
    # nats-py 2.16 overwrites config.bucket with its ``bucket`` argument: pass both.
    await js.create_object_store(name(OBJ, tenant), config=ObjectStoreConfig(bucket=name(OBJ, tenant),
                                                                             storage=StorageType.FILE,
                                                                             max_bytes=4 << 20))
