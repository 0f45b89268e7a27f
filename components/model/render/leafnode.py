"""The bundle a customer gets to run their own leaf server connected to their tenant's account.

The customer's server is a plain nats-server (no operator, no accounts of its own), so its remote
names no ``account``: in a server that is not in operator mode ``account`` would have to be one of
its *local* accounts, and the hub's account key is not one (the server passes ``-t`` but refuses
to start: "cannot find local account … specified in leafnode remote"; tested). Local
clients land in the server's global account, and the link binds them to the tenant account on the
hub side, where the hub identifies the leaf connection by the user in the credentials file. That
user is created for the tenant by the identity layer; its creds text is a secret passed in here.

Everything here is pure: the caller gets ``{relative path: text}`` and hands it to
``bundle_files.write_bundle``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence
from urllib.parse import urlparse

from components.model.errors import Problems
from components.model.render.producer_templates import (
    FLOWGGER_FILE,
    FLUENT_BIT_FILE,
    NATSCLI_FILE,
    OTEL_FILE,
    RSYSLOG_FILE,
    ProducerTarget,
    render_all,
)
from components.model.render.server_conf import LeafNodesConf, LeafRemote, ServerConf, render_server_conf

CUSTOMER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
ACCOUNT_KEY = re.compile(r"^A[A-Z2-7]{55}$")
HUB_SCHEMES = ("nats", "tls", "nats-leaf", "ws", "wss")
CONFIG_FILE = "leafnode.conf"
README_FILE = "README.md"
PRODUCERS_DIR = "producers"


@dataclass(frozen=True)
class LeafBundle:
    """What one customer's leaf bundle is made of: the customer, its tenant's account, the hub, the link's creds.

    ``subjects`` are what the customer may publish on (absolute); when they are the tenant's three
    subject roots (logs, events, otel, in that order) the bundle carries producer templates too.
    """

    customer: str
    tenant: str
    account_public_key: str
    hub_urls: tuple[str, ...]
    creds: str = ""                          # secret: the leaf user's creds file text
    listen_port: int = 4222
    listen_host: str = "127.0.0.1"
    subjects: tuple[str, ...] = ()           # what the customer may publish on (absolute)

    @property
    def creds_file(self) -> str:
        return f"{self.customer}.creds"


def check_bundle(b: LeafBundle) -> None:
    """Raise ``SpecError`` naming the leaf node when an input could not make a working config."""
    p = Problems(f"leafnodes[{b.customer}]")
    if CUSTOMER_ID.match(b.customer) is None:
        p.add("customer", f"{b.customer!r} is not a valid customer id", "use lower-case letters, digits and '-'")
    if ACCOUNT_KEY.match(b.account_public_key) is None:
        p.add("account_public_key", f"{b.account_public_key[:8]!r}… is not an account public key",
              "pass the tenant account's public key (56 characters starting with 'A')")
    if not b.hub_urls:
        p.add("hub_urls", "no hub URL", "pass at least one leaf-node URL of the hub")
    for i, url in enumerate(b.hub_urls):
        parsed = urlparse(url)
        if parsed.scheme not in HUB_SCHEMES or not parsed.hostname:
            p.add(f"hub_urls[{i}]", f"{url!r} is not a leaf-node URL",
                  f"use {'|'.join(HUB_SCHEMES)}://host:port")
    if not 0 < b.listen_port < 65536:
        p.add("listen_port", f"{b.listen_port} is not a port", "use a port from 1 to 65535")
    if "-----BEGIN NATS USER JWT-----" not in b.creds or "-----BEGIN USER NKEY SEED-----" not in b.creds:
        p.add("creds", "not a creds file (JWT and seed sections missing)",
              "pass the leaf user's creds text as produced by the identity layer")
    p.raise_if_any()


def render_leaf_config(b: LeafBundle) -> str:
    """The customer server's ``leafnode.conf``: it listens for local clients and links out to the hub.

    Its remote names no ``account`` (see the module docstring): the hub binds the link to the
    tenant's account by the user of the creds file, which sits next to the config.
    """
    conf = ServerConf(
        server_name=f"leaf-{b.customer}",
        host=b.listen_host,
        port=b.listen_port,
        leafnodes=LeafNodesConf(remotes=(LeafRemote(urls=tuple(b.hub_urls), credentials=f"./{b.creds_file}"),)),
    )
    header = (f"# Leaf server of customer {b.customer}, linked to tenant {b.tenant}.\n"
              f"# Run from this directory: nats-server -c {CONFIG_FILE}\n")
    return header + render_server_conf(conf)


def render_readme(b: LeafBundle) -> str:
    """The bundle's ``README.md``: its files, how to run the server, and which subjects reach the platform."""
    subjects = "\n".join(f"- `{s}`" for s in b.subjects) or "- (as granted to your tenant)"
    hubs = "\n".join(f"- `{u}`" for u in b.hub_urls)
    return f"""# Leaf node for {b.customer}

This bundle runs a NATS server on your side that links to the platform as tenant `{b.tenant}`
(account `{b.account_public_key}`).

## Files

- `{CONFIG_FILE}`: configuration of your leaf server; it listens on `{b.listen_host}:{b.listen_port}`
  for your local clients and connects out to the platform.
- `{b.creds_file}`: the credentials of the link. Keep it secret (mode 0600); anyone holding it can
  publish as your tenant. Ask the platform team for a new one if it leaks.
- `README.md`: this file.
- `{PRODUCERS_DIR}/`: starting configurations for your publishers, aimed at this leaf server:
  `{OTEL_FILE}` (OpenTelemetry Collector), `{FLUENT_BIT_FILE}` (Fluent Bit output section),
  `{NATSCLI_FILE}` (a `nats` CLI context), `{FLOWGGER_FILE}` (flowgger) and `{RSYSLOG_FILE}`
  (rsyslog), the last two publishing through natscli. Each file explains its limits in its header.

## Run

From this directory (the credentials path in the config is relative to it):

```
nats-server -c {CONFIG_FILE}
```

Check the file first with `nats-server -t -c {CONFIG_FILE}`. The server needs outbound access to:

{hubs}

## Subjects

Your local clients connect to `nats://{b.listen_host}:{b.listen_port}` without credentials.
Messages they publish on these subjects reach the platform:

{subjects}

Anything else stays on your leaf server.
"""


def producer_files(b: LeafBundle) -> dict[str, str]:
    """The producer templates (``producer_templates``) aimed at this leaf node; none without three subjects.

    Producers at the customer's site publish to it on loopback without credentials, and it
    forwards to the hub.
    """
    if len(b.subjects) != 3:
        return {}
    logs, events, otel = b.subjects
    local = f"nats://{b.listen_host}:{b.listen_port}"
    target = ProducerTarget(b.tenant, logs, events, otel, nats_url=local, creds_path="", leaf_url=local)
    return {f"{PRODUCERS_DIR}/{name}": text for name, text in render_all(target).items()}


def render_leaf_bundle(b: LeafBundle) -> dict[str, str]:
    """``{relative path: text}`` of the customer's bundle (config, README, creds, producer templates)."""
    check_bundle(b)
    return {
        CONFIG_FILE: render_leaf_config(b),
        README_FILE: render_readme(b),
        b.creds_file: b.creds,
        **producer_files(b),
    }


def bundle_for(customer: str, tenant: str, account_public_key: str, hub_urls: Sequence[str], creds: str,
               listen_port: int = 4222, subjects: Sequence[str] = ()) -> dict[str, str]:
    """The customer's bundle (``render_leaf_bundle``), from plain arguments."""
    return render_leaf_bundle(LeafBundle(customer=customer, tenant=tenant, account_public_key=account_public_key,
                                         hub_urls=tuple(hub_urls), creds=creds, listen_port=listen_port,
                                         subjects=tuple(subjects)))
