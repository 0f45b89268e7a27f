"""The data guard: one resource per stack that refuses deleting stored messages by surprise.

Why a resource of its own: when an object leaves the program (a tenant offboarded, a KV bucket
removed) the engine calls no method of its provider during the preview; its delete runs only in
``up``, after every resource of the program has registered. The guard's inputs list every stream,
KV bucket and object store the environment declares, so its ``diff`` (run in the preview, and in
``up`` when the guard registers, which is before any of those deletes) sees old and new lists, reads
what each removed object holds from the server and fails before anything is deleted.

It reads through the system account (``$SYS.REQ.SERVER.PING.JSZ`` with stream details), not the
tenants' own users: a tenant's creds rotate, and the guard's recorded inputs would then change, or
go stale, with every rotation. Every server answers that request for the streams it holds, so the
replies of all servers are gathered and merged. Account keys do not change with signing-key
rotation, so the inputs change only when objects, acknowledgements or the server change.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any, Mapping, Optional

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from components.model import data_loss as dl
from components.nats_io import messaging
from components.nats_io.connect import Client, connect
from components.providers import data_impact
from components.providers.errors import ChangeRefused
from components.providers.stream import contains_unknown

INPUTS = ("server_url", "system_creds", "expect_servers", "objects", "allow_data_loss", "backup_dir", "file")
READ_TIMEOUT = 3.0


def _key(o: Mapping[str, Any]) -> tuple[str, str]:
    return str(o.get("account")), str(o.get("stream"))


def removed_objects(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Objects recorded by the last ``up`` that the program no longer declares."""
    kept = {_key(o) for o in news.get("objects") or ()}
    return [o for o in olds.get("objects") or () if _key(o) not in kept]


async def _gather(nc: Client, subject: str, body: Mapping[str, Any], expect: int) -> list[dict[str, Any]]:
    """Up to ``expect`` replies (one per server) to one request, within ``READ_TIMEOUT``; a status
    message (no responders) reads as an empty reply."""
    replies = await messaging.gather(nc, subject, json.dumps(body).encode(), expect, READ_TIMEOUT)
    return [json.loads(msg.data) if msg.data else {} for msg in replies]


def _documents(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only replies with a JSZ document count: a status message (no responders, empty body) or an
    error must never read as "nothing on the server"."""
    return [r["data"] for r in replies if isinstance(r.get("data"), dict) and not r.get("error")]


async def _account_details(nc: Client, account_key: str, expect: int) -> Optional[list[dict[str, Any]]]:
    """The account's JetStream detail from every server that holds it; None when no server answered.

    First the servers' ping (``$SYS.REQ.SERVER.PING.JSZ`` filtered on the account), which reads only
    what is loaded: asking for the account by name (``$SYS.REQ.ACCOUNT.<key>.JSZ``) looks it up and
    registers it again, and an account registered again right before the offboarding deletes it
    kept accepting its users afterwards. Accounts with streams are loaded from the store at startup;
    the by-name request is only the fallback for one that no server has loaded."""
    ping = {"account": account_key, "accounts": True, "streams": True, "config": True}
    pinged = _documents(await _gather(nc, "$SYS.REQ.SERVER.PING.JSZ", ping, expect))
    details = [d for doc in pinged for d in doc.get("account_details") or () if d.get("id") == account_key]
    if details:
        return details
    asked = _documents(await _gather(nc, f"$SYS.REQ.ACCOUNT.{account_key}.JSZ", {"streams": True, "config": True},
                                     expect))
    return asked or (None if not pinged else [])


def merge_stream_details(details: list[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Stream name → its detail with the most messages among the servers' account details."""
    out: dict[str, Mapping[str, Any]] = {}
    for account in details:
        for detail in account.get("stream_detail") or ():
            seen = out.get(detail["name"])
            messages = (detail.get("state") or {}).get("messages", 0)
            if seen is None or messages > (seen.get("state") or {}).get("messages", 0):
                out[detail["name"]] = detail
    return out


def read_states(url: str, system_creds: str, expect: int,
                objects: list[Mapping[str, Any]]) -> dict[tuple[str, str], dl.StoredState]:
    """What the servers hold for each object, keyed by (account, stream)."""
    accounts = sorted({str(o["account_key"]) for o in objects})

    async def go() -> dict[str, Optional[list[dict[str, Any]]]]:
        nc = await connect(url, system_creds, name="nats-tenancy-data-guard", timeout=5)
        try:
            return {a: await _account_details(nc, a, expect) for a in accounts}
        finally:
            await nc.close()

    try:
        found = asyncio.run(go())
    except Exception as exc:  # no connection, no answer, or a malformed one: the loss is then unknown
        return {_key(o): dl.StoredState.unknown(f"{type(exc).__name__}: {exc}") for o in objects}
    states: dict[tuple[str, str], dl.StoredState] = {}
    for o in objects:
        details = found.get(str(o["account_key"]))
        if details is None:
            states[_key(o)] = dl.StoredState.unknown(f"no server answered for account {o['account']}")
            continue
        states[_key(o)] = dl.StoredState.from_stream_info(merge_stream_details(details).get(str(o["stream"])))
    return states


def deletion_impacts(olds: Mapping[str, Any], news: Mapping[str, Any]) -> list[dl.Impact]:
    removed = removed_objects(olds, news)
    if not removed:
        return []
    states = read_states(str(olds["server_url"]), str(olds["system_creds"]), int(olds.get("expect_servers") or 1),
                         removed)
    allowed = set(news.get("allow_data_loss") or ())
    return [dl.Impact(data_impact.KINDS[str(o["kind"])], str(o["name"]), str(o["stream"]), str(o["account"]),
                      dl.Loss.DELETE, states[_key(o)],
                      acknowledged=str(o["name"]) in allowed or str(o["stream"]) in allowed,
                      backup_dir=str(olds.get("backup_dir") or "") or None)
            for o in removed]


def _backup_is_new(olds: Mapping[str, Any], news: Mapping[str, Any], impacts: list[dl.Impact]) -> Optional[str]:
    losing = [i.name for i in impacts if i.needs_acknowledgement]
    if not losing or not news.get("backup_dir") or olds.get("backup_dir"):
        return None
    return (f"data_protection.backup_before_loss is new in this change, which also deletes {', '.join(losing)}: "
            f"the snapshot is taken by each object's delete, which sees only what an earlier up recorded. "
            f"Nothing was replaced or deleted. Apply backup_before_loss on its own first (up), then this change.")


class DataGuardProvider(ResourceProvider):
    def diff(self, _id: str, olds: Any, news: Any) -> DiffResult:
        impacts = deletion_impacts(olds, news)
        data_impact.report(impacts, str(news.get("file") or olds.get("file") or "the environment file"))
        new_backup = _backup_is_new(olds, news, impacts)
        if new_backup:
            raise ChangeRefused(new_backup)
        changed = [k for k in INPUTS if contains_unknown(news.get(k)) or olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: Any) -> CreateResult:
        return CreateResult("data-guard", {k: props.get(k) for k in INPUTS})

    def update(self, _id: str, _olds: Any, news: Any) -> UpdateResult:
        return UpdateResult({k: news.get(k) for k in INPUTS})

    def delete(self, _id: str, _props: Any) -> None:
        """Destroying the stack removes only the guard's record; each object's own delete runs as usual."""


class DataGuard(Resource, module="nats", name="DataGuard"):
    """``objects``: ``[{account, account_key, kind, name, stream}]`` for every declared object;
    ``allow_data_loss``: acknowledged names; ``backup_dir``: absolute, or empty; ``file``: the
    environment file, for messages. ``system_creds`` is a secret."""

    def __init__(self, resource_name: str, props: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions] = None):
        secret = pulumi.ResourceOptions(additional_secret_outputs=["system_creds"])
        super().__init__(DataGuardProvider(), resource_name, dict(props), pulumi.ResourceOptions.merge(secret, opts))
