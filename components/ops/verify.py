"""Prove tenant isolation against a live deployment, from nothing but its stack outputs.

    scripts/pulumi.sh <stack> stack output --json --show-secrets | python -m components.ops.verify --stack <stack>
    make verify STACK=<stack>

For every tenant, with the creds the stack handed out (002 "Tenant Isolation Testing", 001 §5.1.4):

- ``connect``: the service creds connect;
- ``own tree``: a message published in the tenant's tree reaches its own subscriber;
- ``outside tree``: publishing outside the tree and subscribing to ``>`` are refused (permissions);
- ``other tenant``: subscribing to and publishing on the next tenant's tree are refused, and the
  other tenant's subscriber gets its own marker first (nothing forged arrived before it);
- ``other account JS``: the other tenant's stream does not exist in this account's JetStream;
- ``store``: a JetStream publish into the tenant's first stream with subjects is acked by it (the
  message stays there, marked with a ``Nats-Tenancy-Verify`` header);
- ``quota``: connections beyond the account's ``max_connections`` are refused with the server's
  "maximum account active connections exceeded". Bounded: only for limits up to
  ``--max-quota-connections`` (default 64), and it briefly holds every free connection slot of the
  tenant, so a client connecting at that moment is refused too; ``--no-quota`` leaves it out.
- ``leaf creds``: the leaf user's creds are refused for a client connection.

Prints one PASS/FAIL/SKIP row per check and exits 1 when any check failed (2 on unusable input).
Creds are read from the piped outputs and never printed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional

from components.model.identity.jwt_codec import decode
from components.nats_io import messaging
from components.nats_io.connect import Client
from components.nats_io.connect import connect as nats_connect
from components.nats_io.errors import StreamNotFound
from components.nats_io.jetstream import JetStreamApi

PERMISSION = "permissions violation"
CONN_LIMIT = "maximum account active connections exceeded"
WAIT = 5.0


@dataclass
class Row:
    tenant: str
    check: str
    result: str       # PASS | FAIL | SKIP
    detail: str


class Conn:
    """A nats-py connection that keeps async errors (refused publishes and subscriptions arrive there)."""

    def __init__(self, nc: Client, errors: list[str]):
        self.nc, self.errors = nc, errors

    async def refused(self, what: str, subject: str) -> bool:
        needle = f"{what} to \"{subject}\"".lower()
        for _ in range(int(WAIT / 0.05)):
            if any(PERMISSION in e.lower() and needle in e.lower() for e in self.errors):
                return True
            await asyncio.sleep(0.05)
        return False


async def connect(url: str, creds: str) -> Conn:
    """A connection with ``creds``; a refusal raises ``NatsConnectError`` with the server's reason
    ("authorization violation", "maximum account active connections exceeded") in its message."""
    errors: list[str] = []
    nc = await nats_connect(url, creds, name="nats-tenancy-verify", timeout=3, errors=errors)
    return Conn(nc, errors)


def _base(root: str) -> str:
    return root[:-2] if root.endswith(".>") else root


class Verifier:
    def __init__(self, outputs: dict[str, Any], quota: bool, max_quota_connections: int):
        self.url = str(outputs["nats_url"])
        self.tenants: dict[str, Any] = dict(outputs.get("tenants") or {})
        self.system_creds = str((outputs.get("system") or {}).get("creds") or "")
        self.quota, self.max_quota = quota, max_quota_connections
        self.rows: list[Row] = []
        self.token = uuid.uuid4().hex[:8]

    def add(self, tenant: str, check: str, ok: Optional[bool], detail: str) -> None:
        self.rows.append(Row(tenant, check, "SKIP" if ok is None else "PASS" if ok else "FAIL", detail))

    async def run(self) -> list[Row]:
        ids = sorted(self.tenants)
        for i, tid in enumerate(ids):
            other = ids[(i + 1) % len(ids)] if len(ids) > 1 else None
            await self._tenant(tid, other)
        return self.rows

    async def _check(self, tid: str, name: str, fn: Callable[[], Awaitable[tuple[Optional[bool], str]]]) -> None:
        try:
            ok, detail = await asyncio.wait_for(fn(), timeout=30)
        except Exception as e:  # noqa: BLE001 - any failure of a check is that check's FAIL row
            ok, detail = False, f"{type(e).__name__}: {e}"
        self.add(tid, name, ok, detail)

    async def _tenant(self, tid: str, other: Optional[str]) -> None:
        t = self.tenants[tid]
        creds = (t.get("creds") or {}).get("service")
        if not isinstance(creds, str) or "BEGIN NATS USER JWT" not in creds:
            self.add(tid, "connect", False,
                     "no service creds in the outputs (pipe `stack output --json --show-secrets`)")
            return
        try:
            me = await connect(self.url, creds)
        except Exception as e:  # noqa: BLE001
            self.add(tid, "connect", False, f"{type(e).__name__}: {e}")
            return
        self.add(tid, "connect", True, self.url)
        try:
            own = f"{_base(t['subjects']['logs'])}.verify.{self.token}"
            await self._check(tid, "own tree", lambda: self._own_tree(me, own))
            await self._check(tid, "outside tree", lambda: self._outside(me))
            if other:
                await self._check(tid, f"other tenant ({other})", lambda: self._other_tenant(me, other))
                await self._check(tid, f"other account JS ({other})", lambda: self._other_js(me, other))
            else:
                self.add(tid, "other tenant", None, "only one tenant in the outputs")
            await self._check(tid, "store", lambda: self._store(me, t))
        finally:
            await me.nc.close()
        await self._check(tid, "quota", lambda: self._quota(t, creds))
        await self._check(tid, "leaf creds", lambda: self._leaf(t))

    async def _own_tree(self, me: Conn, subject: str) -> tuple[Optional[bool], str]:
        sub = await me.nc.subscribe(subject)
        await messaging.flush(me.nc)
        await me.nc.publish(subject, b"verify")
        msg = await messaging.next_msg(sub, WAIT)
        await sub.unsubscribe()
        if msg is None:
            return False, f"{subject}: nothing arrived within {WAIT:g}s"
        return msg.data == b"verify", subject

    async def _outside(self, me: Conn) -> tuple[Optional[bool], str]:
        subject = f"nats-tenancy-verify.outside.{self.token}"
        await me.nc.publish(subject, b"x")
        await me.nc.subscribe(">")
        await messaging.flush(me.nc)
        pub, sub = await me.refused("publish", subject), await me.refused("subscription", ">")
        return pub and sub, (f"publish {subject}: {'refused' if pub else 'ALLOWED'}; "
                             f"subscribe >: {'refused' if sub else 'ALLOWED'}")

    async def _other_tenant(self, me: Conn, other: str) -> tuple[Optional[bool], str]:
        o = self.tenants[other]
        root = o["subjects"]["logs"]
        subject = f"{_base(root)}.verify.{self.token}"
        them = await connect(self.url, o["creds"]["service"])
        try:
            theirs = await them.nc.subscribe(subject)
            await messaging.flush(them.nc)
            await me.nc.subscribe(root)
            await me.nc.publish(subject, b"forged")
            await messaging.flush(me.nc)
            sub, pub = await me.refused("subscription", root), await me.refused("publish", subject)
            await them.nc.publish(subject, b"marker")
            first = await messaging.next_msg(theirs, WAIT)
        finally:
            await them.nc.close()
        clean = first is not None and first.data == b"marker"
        got = "nothing forged" if clean else "A FORGED MESSAGE" if first is not None else "not even its own marker"
        return sub and pub and clean, (f"subscribe {root}: {'refused' if sub else 'ALLOWED'}; publish {subject}: "
                                       f"{'refused' if pub else 'ALLOWED'}; {other} got {got}")

    async def _other_js(self, me: Conn, other: str) -> tuple[Optional[bool], str]:
        streams = list(self.tenants[other].get("streams") or [])
        if not streams:
            return None, f"{other} has no streams"
        # Each account has a JetStream of its own: a name of the other account is StreamNotFound here.
        try:
            info = await JetStreamApi(me.nc, timeout=WAIT).request(f"STREAM.INFO.{streams[0]}", enrich=False)
        except StreamNotFound:
            return True, f"{streams[0]}: not found in this account"
        return False, f"{streams[0]}: answered {info}"

    async def _store(self, me: Conn, t: dict[str, Any]) -> tuple[Optional[bool], str]:
        own = _base(t["subjects"]["logs"]).rsplit(".", 1)[0]   # the tenant's root, e.g. "acme"
        api = JetStreamApi(me.nc, timeout=WAIT)
        for stream in t.get("streams") or []:
            info = await api.stream_info(stream) or {}
            subjects = [s for s in (info.get("config") or {}).get("subjects") or [] if s.startswith(own + ".")]
            if not subjects:
                continue
            subject = ".".join("verify" if tok in ("*", ">") else tok for tok in subjects[0].split("."))
            ack = await me.nc.jetstream().publish(subject, b"verify", timeout=WAIT,
                                                  headers={"Nats-Tenancy-Verify": self.token,
                                                           "Nats-Msg-Id": f"verify-{self.token}"})
            return ack.stream == stream, f"{subject} -> {ack.stream} seq {ack.seq}"
        return None, "no stream captures the tenant's subjects"

    async def _quota(self, t: dict[str, Any], creds: str) -> tuple[Optional[bool], str]:
        if not self.quota:
            return None, "--no-quota"
        if not self.system_creds:
            return None, "no system creds in the outputs"
        sysc = await connect(self.url, self.system_creds)
        try:
            lookup = f"$SYS.REQ.ACCOUNT.{t['account_public_key']}.CLAIMS.LOOKUP"
            token = (await messaging.request(sysc.nc, lookup, timeout=WAIT)).data.decode()
        finally:
            await sysc.nc.close()
        limit = int(((decode(token).get("nats") or {}).get("limits") or {}).get("conn", -1))
        if limit < 0 or limit > self.max_quota:
            return None, f"max_connections {limit} is above the check's bound {self.max_quota}"
        held: list[Conn] = []
        refused = ""
        try:
            for _ in range(limit + 1):
                try:
                    held.append(await connect(self.url, creds))
                except Exception as e:  # noqa: BLE001 - the refusal is the expected outcome
                    refused = str(e)
                    break
        finally:
            for c in held:
                await c.nc.close()
        ok = CONN_LIMIT in refused.lower()
        return ok, (f"refused after {len(held)} of max_connections {limit}: {refused}" if refused
                    else f"{len(held)} connections accepted, limit {limit} not enforced")

    async def _leaf(self, t: dict[str, Any]) -> tuple[Optional[bool], str]:
        leaf = (t.get("creds") or {}).get("leaf")
        if not isinstance(leaf, str):
            return None, "no leaf creds"
        try:
            c = await connect(self.url, leaf)
        except Exception as e:  # noqa: BLE001
            return "authorization violation" in str(e).lower(), f"refused: {e}"
        await c.nc.close()
        return False, "the leaf creds connected as a client"


def render_table(rows: list[Row]) -> str:
    widths = [max([len(h)] + [len(getattr(r, f)) for r in rows]) for h, f in
              (("TENANT", "tenant"), ("CHECK", "check"), ("RESULT", "result"))]
    head = f"{'TENANT'.ljust(widths[0])}  {'CHECK'.ljust(widths[1])}  {'RESULT'.ljust(widths[2])}  DETAIL"
    lines = [head] + [f"{r.tenant.ljust(widths[0])}  {r.check.ljust(widths[1])}  {r.result.ljust(widths[2])}  "
                      f"{r.detail}" for r in rows]
    failed = sum(r.result == "FAIL" for r in rows)
    passed = sum(r.result == "PASS" for r in rows)
    lines.append(f"{passed} passed, {failed} failed, {len(rows) - passed - failed} skipped")
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.ops.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="", help="the stack's name, for messages")
    parser.add_argument("--outputs", help="a file with `stack output --json --show-secrets` (default: stdin)")
    parser.add_argument("--no-quota", action="store_true", help="leave out the connection-quota check")
    parser.add_argument("--max-quota-connections", type=int, default=64,
                        help="check the connection quota only where max_connections is at most this")
    args = parser.parse_args(argv)
    text = open(args.outputs, encoding="utf-8").read() if args.outputs else sys.stdin.read()
    try:
        outputs = json.loads(text or "{}")
    except json.JSONDecodeError as e:
        print(f"error: the stack outputs are not JSON ({e}): pipe `scripts/pulumi.sh {args.stack or '<stack>'} "
              "stack output --json --show-secrets` into this", file=sys.stderr)
        return 2
    if not outputs.get("nats_url") or not outputs.get("tenants"):
        print(f"error: no nats_url or tenants in the outputs of stack {args.stack or '?'}: run `up` first",
              file=sys.stderr)
        return 2
    rows = asyncio.run(Verifier(outputs, not args.no_quota, args.max_quota_connections).run())
    sys.stdout.write(render_table(rows))
    return 1 if any(r.result == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
