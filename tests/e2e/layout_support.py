"""Bringing up a layout example (``environments/examples/<name>.yaml``) as a test stack, and reading
back from the running server what it made: JetStream objects per account (``/jsz``), account
details (``/accountz``), user permissions (from the creds' JWTs), publishes as a client sees them."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import urllib.request
from typing import Any, Optional

import yaml
from nats.aio.client import RawCredentials

from components.providers import nats_process
from tests.support.pulumi_cli import ROOT, PulumiProject

EXAMPLES = os.path.join(ROOT, "environments", "examples")


def example_text(name: str, project: PulumiProject) -> str:
    """The example file as shipped, with free loopback ports and the test stack's data directory
    (everything the layout says stays as written)."""
    with open(os.path.join(EXAMPLES, f"{name}.yaml"), encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    doc = {k: v for k, v in doc.items() if not k.startswith("x-")}   # anchors already resolved
    servers = doc["servers"]
    for key in ("client_port", "monitor_port", "leafnode_port"):
        servers[key] = nats_process.free_port()
    servers["data_dir"] = ".state/test/nats"
    if doc.get("monitoring", {}).get("enabled"):
        doc["monitoring"]["port"] = nats_process.free_port()
    return yaml.safe_dump(doc, sort_keys=False)


def bring_up(project: PulumiProject, name: str, extra: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """``up`` of the example on a stack of its own; returns the outputs (secrets shown)."""
    doc = yaml.safe_load(example_text(name, project))
    doc.update(extra or {})
    project.write_environment(yaml.safe_dump(doc, sort_keys=False))
    project.init()
    project.up()
    return project.outputs(show_secrets=True)


def monitor(outputs: dict[str, Any], path: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{outputs['monitor_url']}{path}", timeout=5) as resp:
        return json.loads(resp.read())


def jetstream_by_account(outputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{account JWT name: {"streams": {name: config}, "consumers": {name: config}}}`` from /jsz."""
    jsz = monitor(outputs, "/jsz?accounts=true&streams=true&consumers=true&config=true")
    names = {entry["public_key"]: name for name, entry in outputs["accounts"].items()}
    out: dict[str, dict[str, Any]] = {}
    for acc in jsz.get("account_details") or []:
        streams = {s["name"]: s for s in acc.get("stream_detail") or []}
        consumers = {c["name"]: c for s in streams.values() for c in s.get("consumer_detail") or []}
        out[names.get(acc["id"], acc["id"])] = {"streams": streams, "consumers": consumers}
    return out


def account_detail(outputs: dict[str, Any], account: str) -> dict[str, Any]:
    pub = outputs["accounts"][account]["public_key"]
    return monitor(outputs, f"/accountz?acc={pub}")["account_detail"]


def user_claims(creds: str) -> dict[str, Any]:
    """The claims of the user JWT inside a creds file."""
    token = creds.split("-----BEGIN NATS USER JWT-----")[1].split("------END")[0].strip()
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def publish_outcome(url: str, creds: str, subject: str) -> str:
    """``"stored in <stream>"``, ``"no stream"`` (published, no stream captured it) or
    ``"permission denied"`` (the server refused the publish)."""
    return asyncio.run(_publish_outcome(url, creds, subject))


class _Client:
    """A connection that records the errors the server sends (a refused publish or subscribe does
    not raise in nats-py: the server answers ``-ERR 'Permissions Violation …'`` and only the error
    callback sees it)."""

    def __init__(self, url: str, creds: str):
        self.url, self.creds, self.errors = url, creds, []  # type: ignore[var-annotated]

    async def __aenter__(self) -> Any:
        import nats

        async def on_error(e: Exception) -> None:
            self.errors.append(str(e))

        self.nc = await nats.connect(self.url, user_credentials=RawCredentials(self.creds), allow_reconnect=False,
                                     max_reconnect_attempts=0, connect_timeout=3, error_cb=on_error)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.nc.close()

    async def refused(self) -> bool:
        await self.nc.flush(timeout=2)
        await asyncio.sleep(0.3)
        return any("permissions violation" in e.lower() for e in self.errors)


async def _publish_outcome(url: str, creds: str, subject: str) -> str:
    from nats.errors import NoRespondersError
    from nats.errors import TimeoutError as NatsTimeout

    async with _Client(url, creds) as c:
        try:
            msg = await c.nc.request(subject, b"layout-check", timeout=2)
        except NoRespondersError:
            return "no stream"
        except NatsTimeout:
            return "permission denied" if await c.refused() else "timeout"
        reply = json.loads(msg.data)
        return f"stored in {reply['stream']}" if "stream" in reply else f"reply {reply}"


def subscribe_allowed(url: str, creds: str, subject: str) -> bool:
    """Whether the server lets this user subscribe to ``subject`` (a refusal arrives as an error)."""
    return asyncio.run(_subscribe_allowed(url, creds, subject))


async def _subscribe_allowed(url: str, creds: str, subject: str) -> bool:
    async with _Client(url, creds) as c:
        await c.nc.subscribe(subject)
        return not await c.refused()


def received_via_import(url: str, sub_creds: str, sub_subject: str, pub_creds: str, pub_subject: str) -> str:
    """Subscribe with one account's creds, publish with another's; the subject the subscriber got
    (``""`` when nothing arrived within 3 s)."""
    return asyncio.run(_received_via_import(url, sub_creds, sub_subject, pub_creds, pub_subject))


async def _received_via_import(url: str, sub_creds: str, sub_subject: str, pub_creds: str, pub_subject: str) -> str:
    import nats

    opts = dict(allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3)
    sub_nc = await nats.connect(url, user_credentials=RawCredentials(sub_creds), **opts)
    pub_nc = await nats.connect(url, user_credentials=RawCredentials(pub_creds), **opts)
    try:
        sub = await sub_nc.subscribe(sub_subject)
        await sub_nc.flush(timeout=2)
        await pub_nc.publish(pub_subject, b"via-import")
        await pub_nc.flush(timeout=2)
        try:
            msg = await sub.next_msg(timeout=3)
        except Exception:
            return ""
        return msg.subject
    finally:
        await pub_nc.close()
        await sub_nc.close()
