"""Identity against a real nats-server 2.15 in operator mode with the full resolver.

One server per module on free loopback ports, started and stopped by PID through tests/support.
Every account change goes through the resolver API while the server keeps running.
"""
from __future__ import annotations

import asyncio
import json
import time

import nats.errors
import nats.js.errors
import pytest

from components.model.identity import roles
from components.model.identity.account import (
    NO_JETSTREAM,
    AccountLimits,
    AccountSpec,
    JetStreamLimits,
    ScopedSigningKey,
    account_claims,
)
from components.model.identity.creds import format_user_creds
from components.model.identity.jwt_codec import decode, issue
from components.model.identity.keys import new_account_key, new_operator_key, new_user_key
from components.model.identity.permissions import Permission, UserPermissions
from components.model.identity.tenancy import platform_imports
from components.model.identity.user import UserSpec, user_claims
from components.nats_io import messaging, resolver
from components.nats_io.errors import ResolverError
from components.providers import nats_process
from tests.support.operator_mode import OperatorSetup, connect, connect_refused
from tests.support.tenant_exports import tenant_exports

QUIET = 0.4  # seconds to wait for a message that must NOT arrive


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    setup, server = OperatorSetup.create(str(tmp_path_factory.mktemp("identity-live")))
    yield setup, server
    server.stop()


def run(coro):
    return asyncio.run(coro)


async def _received(sub, timeout: float = 2.0):
    try:
        return await sub.next_msg(timeout=timeout)
    except nats.errors.TimeoutError:
        return None


def _tenant(setup: OperatorSetup, tenant: str, **limits):
    spec = AccountSpec(name=tenant, limits=AccountLimits(**limits), exports=tuple(tenant_exports(tenant)))
    return setup.add_account(spec)[0]


def test_creds_written_by_the_library_connect(live):
    setup, server = live
    acc = _tenant(setup, "conn-ok")
    creds = setup.user_creds(acc, roles.tenant_service_user("conn-ok"))

    async def scenario():
        c = await connect(server.url, creds)
        sub = await c.nc.subscribe("conn-ok.logs.api.x")
        await c.nc.publish("conn-ok.logs.api.x", b"hi")
        msg = await _received(sub)
        await c.close()
        return msg

    msg = run(scenario())
    assert msg is not None and msg.data == b"hi"


def test_service_user_publishes_and_subscribes_only_its_tree(live):
    setup, server = live
    acc = _tenant(setup, "perm")
    svc = setup.user_creds(acc, roles.tenant_service_user("perm"))
    watcher = setup.user_creds(acc, UserSpec(name="watcher"))  # unrestricted user in the same account

    async def scenario():
        s, w = await connect(server.url, svc), await connect(server.url, watcher)
        everything = await w.nc.subscribe(">")
        await messaging.flush(w.nc)
        await s.nc.publish("elsewhere.logs.a.b", b"leak")
        await messaging.flush(s.nc)
        pub_err = await s.wait_error('Permissions Violation for Publish to "elsewhere.logs.a.b"')
        leaked = await _received(everything, QUIET)
        await s.nc.subscribe("elsewhere.>")
        await messaging.flush(s.nc)
        sub_err = await s.wait_error('Permissions Violation for Subscription to "elsewhere.>"')
        await s.nc.publish("perm.events.billing.paid", b"ok")
        await messaging.flush(s.nc)
        allowed = await _received(everything)
        await s.close(), await w.close()
        return pub_err, leaked, sub_err, allowed

    pub_err, leaked, sub_err, allowed = run(scenario())
    assert leaked is None
    assert pub_err and sub_err
    assert allowed is not None and allowed.subject == "perm.events.billing.paid"


def test_reader_cannot_publish(live):
    setup, server = live
    acc = _tenant(setup, "ro")
    reader = setup.user_creds(acc, roles.tenant_reader_user("ro"))
    svc = setup.user_creds(acc, roles.tenant_service_user("ro"))

    async def scenario():
        r, s = await connect(server.url, reader), await connect(server.url, svc)
        sub = await r.nc.subscribe("ro.logs.>")
        await messaging.flush(r.nc)
        await r.nc.publish("ro.logs.api.fake", b"x")
        await messaging.flush(r.nc)
        err = await r.wait_error("Permissions Violation for Publish")
        await s.nc.publish("ro.logs.api.real", b"y")
        await messaging.flush(s.nc)
        first = await _received(sub)
        await r.close(), await s.close()
        return err, first

    err, first = run(scenario())
    assert err and first is not None and first.subject == "ro.logs.api.real"


def test_tenant_a_cannot_read_tenant_b(live):
    setup, server = live
    a, b = _tenant(setup, "iso-a"), _tenant(setup, "iso-b")
    a_any = setup.user_creds(a, UserSpec(name="a-any"))  # no permissions at all: only the account wall
    b_svc = setup.user_creds(b, roles.tenant_service_user("iso-b"))

    async def scenario():
        ca, cb = await connect(server.url, a_any), await connect(server.url, b_svc)
        spy = await ca.nc.subscribe(">")
        await messaging.flush(ca.nc)
        own = await cb.nc.subscribe("iso-b.logs.>")
        await messaging.flush(cb.nc)
        await cb.nc.publish("iso-b.logs.api.secret", b"b-only")
        await messaging.flush(cb.nc)
        got_b = await _received(own)
        got_a = await _received(spy, QUIET)
        await ca.close(), await cb.close()
        return got_a, got_b

    got_a, got_b = run(scenario())
    assert got_b is not None
    assert got_a is None


def _platform(setup: OperatorSetup, tenants: dict[str, str]):
    imports = tuple(i for t, pub in tenants.items() for i in platform_imports(t, pub))
    return setup.add_account(AccountSpec(name="platform-0", imports=imports))[0]


def test_platform_receives_every_tenant_and_cannot_inject(live):
    setup, server = live
    a, b = _tenant(setup, "pa"), _tenant(setup, "pb")
    plat = _platform(setup, {"pa": a.public_key, "pb": b.public_key})
    consumer = setup.user_creds(plat, roles.platform_consumer_user())
    plat_any = setup.user_creds(plat, UserSpec(name="plat-watch"))
    a_svc = setup.user_creds(a, roles.tenant_service_user("pa"))
    b_svc = setup.user_creds(b, roles.tenant_service_user("pb"))
    a_watch = setup.user_creds(a, UserSpec(name="a-watch"))

    async def scenario():
        c = await connect(server.url, consumer)
        pw = await connect(server.url, plat_any)
        ca, cb, aw = (await connect(server.url, a_svc), await connect(server.url, b_svc),
                      await connect(server.url, a_watch))
        logs = await c.nc.subscribe("*.logs.>")
        plat_all = await pw.nc.subscribe("*.logs.>")
        tenant_side = await aw.nc.subscribe("pa.>")
        for x in (c, pw, aw):
            await messaging.flush(x.nc)
        await ca.nc.publish("pa.logs.api.error", b"from-a")
        await cb.nc.publish("pb.logs.worker.crash", b"from-b")
        await messaging.flush(ca.nc), await messaging.flush(cb.nc)
        got = sorted([(await logs.next_msg(timeout=2)).subject for _ in range(2)])
        # drain what the tenant-side and platform watchers saw of the real messages
        seen_tenant = [await _received(tenant_side)]
        seen_plat = [await _received(plat_all), await _received(plat_all)]
        # now the platform consumer tries to forge a tenant message
        await c.nc.publish("pa.logs.api.forged", b"forged")
        await messaging.flush(c.nc)
        err = await c.wait_error('Permissions Violation for Publish to "pa.logs.api.forged"')
        forged_platform = await _received(plat_all, QUIET)
        forged_tenant = await _received(tenant_side, QUIET)
        for x in (c, pw, ca, cb, aw):
            await x.close()
        return got, seen_tenant, seen_plat, err, forged_platform, forged_tenant

    got, seen_tenant, seen_plat, err, forged_platform, forged_tenant = run(scenario())
    assert got == ["pa.logs.api.error", "pb.logs.worker.crash"]
    assert seen_tenant[0] is not None and all(m is not None for m in seen_plat)
    assert err
    assert forged_platform is None and forged_tenant is None


def test_add_update_limits_and_delete_live_without_restart(live):
    setup, server = live
    pid = server.pid
    spec = AccountSpec(name="live", limits=AccountLimits(conn=2))
    acc, first_jwt = setup.add_account(spec)
    creds = setup.user_creds(acc, UserSpec(name="u"))
    assert acc.public_key in resolver.list_accounts(setup.servers, setup.system_creds)
    assert resolver.lookup_account_jwt(setup.servers, setup.system_creds, acc.public_key) == first_jwt

    async def two_connections():
        c1, c2 = await connect(server.url, creds), await connect(server.url, creds)
        return c1, c2

    async def scenario():
        c1, c2 = await two_connections()
        # lower the limit to 1: the server applies it live (and drops the newest connection)
        # (sync API from a worker thread, as the Pulumi dynamic providers call it)
        _, second_jwt = await asyncio.to_thread(
            setup.update_account, AccountSpec(name="live", limits=AccountLimits(conn=1)), acc)
        await asyncio.sleep(0.3)
        refused = await connect_refused(server.url, creds)
        stored = await asyncio.to_thread(
            resolver.lookup_account_jwt, setup.servers, setup.system_creds, acc.public_key)
        still_open = [c.nc.is_connected for c in (c1, c2)]
        for c in (c1, c2):
            await c.close()
        return refused, stored, second_jwt, still_open

    refused, stored, second_jwt, still_open = run(scenario())
    assert still_open.count(True) == 1, still_open  # the server trimmed the account to its new limit
    assert "maximum account active connections exceeded" in refused
    assert stored == second_jwt and decode(stored)["nats"]["limits"]["conn"] == 1

    async def deleted():
        c = await connect(server.url, creds)
        replies = await asyncio.to_thread(setup.delete_accounts, acc)
        for _ in range(50):
            if c.nc.is_closed:
                break
            await asyncio.sleep(0.05)
        dropped = c.nc.is_closed
        refused_after = await connect_refused(server.url, creds)
        await c.close()
        return replies, dropped, refused_after

    replies, dropped, refused_after = run(deleted())
    assert replies[0]["data"]["message"] == "deleted 1 accounts"
    assert dropped, "the deleted account's connection should be closed by the server"
    assert "authorization violation" in refused_after.lower()
    assert acc.public_key not in resolver.list_accounts(setup.servers, setup.system_creds)
    assert resolver.lookup_account_jwt(setup.servers, setup.system_creds, acc.public_key) is None
    assert server.pid == pid and nats_process.pid_alive(pid)


def test_revoked_user_new_connection_is_refused(live):
    setup, server = live
    now = int(time.time())
    acc = _tenant(setup, "rev")
    old_key, new_key = new_user_key(), new_user_key()
    old = setup.user_creds(acc, UserSpec(name="old"), user_key=old_key, iat=now - 100)
    fresh = setup.user_creds(acc, UserSpec(name="fresh"), iat=now)
    other_old = setup.user_creds(acc, UserSpec(name="other"), user_key=new_key, iat=now - 100)

    async def scenario():
        c = await connect(server.url, old)  # works before the revocation
        await c.close()
        spec = AccountSpec(name="rev", exports=tuple(tenant_exports("rev")), revocations={old_key.public_key: now - 50})
        await asyncio.to_thread(setup.update_account, spec, acc)
        refused = await connect_refused(server.url, old)
        ok_other = await connect(server.url, other_old)  # revocation is per user key
        await ok_other.close()
        everyone = AccountSpec(name="rev", exports=tuple(tenant_exports("rev")), revocations={"*": now - 50})
        await asyncio.to_thread(setup.update_account, everyone, acc)
        refused_all = await connect_refused(server.url, other_old)
        ok_fresh = await connect(server.url, fresh)  # issued after the "*" revocation time
        await ok_fresh.close()
        return refused, refused_all

    refused, refused_all = run(scenario())
    assert "authorization violation" in refused.lower()
    assert "authorization violation" in refused_all.lower()


def test_scoped_signing_key_users(live):
    setup, server = live
    sk = new_account_key()
    scoped = ScopedSigningKey(key=sk.public_key, role="svc", permissions=UserPermissions(
        pub=Permission(allow=("sc.>",)), sub=Permission(allow=("sc.>", "_INBOX.>"))))
    acc, _ = setup.add_account(AccountSpec(name="sc", signing_keys=(scoped,)))
    good = setup.user_creds(acc, UserSpec(name="scoped"), signing_key=sk, scoped=True)
    # the server rule behind scoped=True: even "subs: -1" in the user JWT makes it refuse the user
    user = new_user_key()
    with_limits = issue(user_claims(UserSpec(name="x"), user.public_key, acc.public_key, True), sk.seed)
    bad = format_user_creds(with_limits, user.seed)

    async def scenario():
        c = await connect(server.url, good)
        await c.nc.publish("elsewhere.x", b"no")
        await messaging.flush(c.nc)
        err = await c.wait_error("Permissions Violation for Publish")  # the template applies
        await c.close()
        return err, await connect_refused(server.url, bad)

    err, refused = run(scenario())
    assert err
    assert "authorization violation" in refused.lower()


def test_leaf_user_cannot_connect_as_a_client(live):
    setup, server = live
    acc = _tenant(setup, "leafy")
    creds = setup.user_creds(acc, roles.tenant_leaf_user("leafy"))
    assert "authorization violation" in run(connect_refused(server.url, creds)).lower()


def test_provisioning_user_manages_jetstream_only(live):
    setup, server = live
    acc = setup.add_account(AccountSpec(name="prov", limits=AccountLimits(jetstream=JetStreamLimits(
        mem_storage=10_000_000, disk_storage=10_000_000))))[0]
    creds = setup.user_creds(acc, roles.tenant_provisioning_user("prov"))

    async def scenario():
        c = await connect(server.url, creds)
        js = c.nc.jetstream()
        info = await js.add_stream(name="PROV_LOGS", subjects=["prov.logs.>"])
        await c.nc.publish("prov.logs.api.x", b"x")
        await messaging.flush(c.nc)
        err = await c.wait_error("Permissions Violation for Publish")
        await c.close()
        return info, err

    info, err = run(scenario())
    assert info.config.name == "PROV_LOGS" and err


def test_account_without_jetstream_limits_has_no_jetstream(live):
    setup, server = live
    acc = setup.add_account(AccountSpec(name="nojs", limits=AccountLimits(jetstream=NO_JETSTREAM)))[0]
    creds = setup.user_creds(acc, UserSpec(name="u"))

    async def scenario():
        c = await connect(server.url, creds)
        try:
            msg = await c.nc.request("$JS.API.INFO", b"", timeout=2)
        finally:
            await c.close()
        return json.loads(msg.data)

    reply = run(scenario())
    assert reply["error"]["code"] == 503


def test_invalid_jwt_push_raises_with_the_server_message(live):
    setup, server = live
    acc = new_account_key()
    claims = account_claims(AccountSpec(name="bad"), acc.public_key)
    # bypass the library's validation: overlapping stream exports that the server must refuse
    claims["nats"]["exports"] = [{"name": "w", "subject": "x.>", "type": "stream"},
                                 {"name": "n", "subject": "x.y", "type": "stream"}]
    token = issue(claims, setup.operator.seed)
    with pytest.raises(ResolverError) as e:
        resolver.push_account_jwt(setup.servers, setup.system_creds, token)
    assert "jwt validation failed" in str(e.value) and server.conf.server_name in str(e.value)
    assert e.value.replies and e.value.replies[0]["error"]["code"] == 500

    tampered = token.rsplit(".", 1)[0] + "." + ("A" * 86)
    with pytest.raises(ResolverError, match="bad signature"):
        resolver.push_account_jwt(setup.servers, setup.system_creds, tampered)


def test_foreign_operator_jwt_is_refused_before_the_push(live):
    """nats-server stores an account JWT of an untrusted operator ("jwt updated") and only refuses
    its users later; with ``trusted_issuers`` the client refuses to push it at all."""
    setup, server = live
    acc = new_account_key()
    foreign = issue(account_claims(AccountSpec(name="foreign"), acc.public_key), new_operator_key().seed)
    with pytest.raises(ResolverError, match="not a trusted operator key"):
        resolver.push_account_jwt(setup.servers, setup.system_creds, foreign,
                                         trusted_issuers=[setup.operator.public_key])
    assert acc.public_key not in resolver.list_accounts(setup.servers, setup.system_creds)
    # the server-side behaviour that makes the check necessary
    replies = resolver.push_account_jwt(setup.servers, setup.system_creds, foreign)
    assert replies[0]["data"]["code"] == 200
    creds = setup.user_creds(acc, UserSpec(name="u"))
    assert "authorization violation" in run(connect_refused(server.url, creds)).lower()


def test_missing_replies_are_an_error(live):
    setup, server = live
    acc = new_account_key()
    token = issue(account_claims(AccountSpec(name="two"), acc.public_key), setup.operator.seed)
    with pytest.raises(ResolverError, match="1 of 2 expected server"):
        resolver.push_account_jwt(setup.servers, setup.system_creds, token, expect_servers=2, timeout=0.5)


def test_no_server_reachable_is_a_clear_error(live):
    setup, _ = live
    url = f"nats://127.0.0.1:{nats_process.free_port()}"
    start = time.monotonic()
    with pytest.raises(ResolverError, match=f"no NATS server reachable at {url}"):
        resolver.push_account_jwt([url], setup.system_creds, setup.system_account_jwt, timeout=1)
    assert time.monotonic() - start < 10


def test_wrong_system_creds_are_a_clear_error(live):
    setup, server = live
    acc = _tenant(setup, "notsys")
    creds = setup.user_creds(acc, UserSpec(name="u"))
    token = issue(account_claims(AccountSpec(name="x"), new_account_key().public_key), setup.operator.seed)
    # a non-system user only gets a "no responders" status: that must fail, not pass silently
    with pytest.raises(ResolverError, match="no responders"):
        resolver.push_account_jwt(setup.servers, creds, token, timeout=0.5)
    with pytest.raises(ResolverError, match="no responders"):
        resolver.list_accounts(setup.servers, creds, timeout=0.5)
    with pytest.raises(ResolverError, match="no responders"):
        resolver.lookup_account_jwt(setup.servers, creds, new_account_key().public_key, timeout=0.5)


def test_user_jwt_over_the_control_line_is_refused(live):
    """Why roles keep permission lists short: the user JWT rides in the 4096-byte CONNECT line."""
    setup, server = live
    acc = _tenant(setup, "big")
    many = tuple(f"big.logs.service-{i:03d}.>" for i in range(150))
    creds = setup.user_creds(acc, UserSpec(name="big", permissions=UserPermissions(pub=Permission(allow=many))))
    assert len(creds) > 4096
    assert "maximum control line exceeded" in run(connect_refused(server.url, creds)).lower()


def test_tiered_jetstream_limits_apply(live):
    setup, server = live
    tiers = {"R1": JetStreamLimits(mem_storage=1_000_000, disk_storage=1_000_000, streams=1)}
    acc = setup.add_account(AccountSpec(name="tiered", limits=AccountLimits(tiered_limits=tiers)))[0]
    creds = setup.user_creds(acc, roles.tenant_provisioning_user("tiered"))

    async def scenario():
        c = await connect(server.url, creds)
        js = c.nc.jetstream()
        try:
            first = await js.add_stream(name="T_ONE", subjects=["tiered.logs.>"], max_bytes=100_000)
            with pytest.raises(nats.js.errors.APIError) as second:
                await js.add_stream(name="T_TWO", subjects=["tiered.events.>"], max_bytes=100_000)
        finally:
            await c.close()
        return first, second.value

    first, err = run(scenario())
    assert first.config.name == "T_ONE"
    assert "maximum number of streams reached" in str(err.description).lower(), err
