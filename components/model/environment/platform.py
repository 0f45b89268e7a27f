"""The ``platform`` and ``leafnodes`` sections.

The platform runs ``shards`` ingest accounts; every tenant's ``logs``, ``events`` and ``otel`` roots
are exported to the shard ``shard_of(tenant)``, where one stream per root (``PLATFORM_LOGS`` …)
stores them and the platform consumers read them. A platform consumer's filter is written without
the subject prefix, with ``*`` for the tenant token (``*.logs.>``), and must stay inside its root.
"""
from __future__ import annotations

from typing import Any, Collection
from urllib.parse import urlparse

from components.model.environment import names
from components.model.environment.layout import Layout
from components.model.environment.model import LeafNodeSpec, Platform, PlatformConsumerSpec, SubjectRoot
from components.model.environment.names import render
from components.model.environment.schema import Reader, child, did_you_mean, item

WHOLE_ROOT = "all"


def _tree(tree: str) -> SubjectRoot | str:
    """The enum member for the default trees (kept for the metrics labels), else the tree name."""
    try:
        return SubjectRoot(tree)
    except ValueError:
        return tree

PLATFORM_KEYS = ("shards", "consumers", "shard_stacks")
PLATFORM_CONSUMER_KEYS = ("name", "class", "filter")
LEAF_KEYS = ("customer", "tenant", "hub_url", "listen_port")
HUB_SCHEMES = ("nats", "tls", "nats-leaf", "ws", "wss")
#: One stack of ~25-50 tenants keeps onboarding within seconds (docs/scale.md); 1,024 such shards
#: hold tens of thousands of tenants.
MAX_SHARDS = 1024


def read_platform(r: Reader, value: Any, path: str, layout: Layout) -> Platform:
    """The ``platform`` section: the number of ingest shards and the consumers reading them.

    ``shards: 0`` means no platform ingest account (a layout whose platform is a declared account,
    or that has none). A consumer's ``class`` is one of the layout's trees (``all`` for a layout that
    exports the whole root).
    """
    m = r.mapping({} if value is None else value, path, PLATFORM_KEYS)
    if m is None:
        return Platform()
    shards = r.integer(m, "shards", path, default=1, minimum=0, maximum=MAX_SHARDS)
    shards = 1 if shards is None else shards
    trees = layout.subjects.trees or (WHOLE_ROOT,)
    consumers: list[PlatformConsumerSpec] = []
    seen: set[tuple[str, str]] = set()   # (tree, consumer name)
    cpath = child(path, "consumers")
    for i, raw in enumerate(r.sequence(m.get("consumers"), cpath)):
        ipath = item(cpath, i)
        c = r.mapping(raw, ipath, PLATFORM_CONSUMER_KEYS, required=("name", "class"))
        if c is None:
            continue
        name = r.string(c, "name", ipath, pattern=names.ID_PATTERN, fix=names.ID_FIX)
        tree = r.string(c, "class", ipath)
        if tree is not None and tree not in trees:
            r.add(child(ipath, "class"), f"{tree!r} is not a tree of the layout", f"use one of {', '.join(trees)}")
            tree = None
        if name is None or tree is None:
            continue
        root = _tree(tree)
        whole = layout.all_tenants_tree("" if tree == WHOLE_ROOT else tree)
        rel = r.string(c, "filter", ipath, default=whole)
        if rel is None:
            continue
        if layout.prefix and not rel.startswith(f"{layout.prefix}."):
            rel = f"{layout.prefix}.{rel}"   # filters are written without the subject prefix
        if not names.valid_subject(rel) or not names.subject_within(rel, whole):
            r.add(child(ipath, "filter"), f"{rel!r} is not a subject under {whole}",
                  f"use a filter inside the {tree} tree, e.g. {whole}")
            continue
        if (tree, name) in seen:
            r.add(child(ipath, "name"), f"duplicate platform consumer {name!r} for class {tree}",
                  "give every platform consumer of a class its own name")
            continue
        seen.add((tree, name))
        stream = render(layout.names.platform_stream, tree=tree, stack=layout.stack)
        consumers.append(PlatformConsumerSpec(
            name=name, root=root, filter_subject=rel, stream=stream,
            durable=render(layout.names.platform_consumer, stream=stream, consumer=name, tree=tree),
            tree=tree, stream_subject=whole))
    shard_stacks = r.boolean(m, "shard_stacks", path, default=False)
    if shard_stacks and shards < 1:
        r.add(child(path, "shard_stacks"), "needs at least one shard: each shard stack holds one shard's tenants",
              "set platform.shards to 1 or more")
    return Platform(shards=shards, consumers=tuple(consumers), shard_stacks=bool(shard_stacks))


def read_leafnodes(r: Reader, value: Any, path: str, tenant_ids: Collection[str]) -> tuple[LeafNodeSpec, ...]:
    """The ``leafnodes`` section: one leaf node per customer, each bound to a declared tenant.

    An unknown tenant, a second leaf node of one customer or a hub URL that is not a leaf-node URL
    (nats, tls, nats-leaf, ws or wss with a host) is a problem at its path.
    """
    out: list[LeafNodeSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(r.sequence(value, path)):
        lpath = item(path, i)
        m = r.mapping(raw, lpath, LEAF_KEYS, required=("customer", "tenant"))
        if m is None:
            continue
        customer = r.string(m, "customer", lpath, pattern=names.ID_PATTERN, fix=names.ID_FIX)
        tenant = r.string(m, "tenant", lpath)
        if tenant is not None and tenant not in tenant_ids:
            known = ", ".join(sorted(tenant_ids)) or "(none declared)"
            r.add(child(lpath, "tenant"), f"unknown tenant {tenant!r}",
                  f"{did_you_mean(tenant, tenant_ids)}use the id of a declared tenant: {known}")
            tenant = None
        hub = r.string(m, "hub_url", lpath)
        if hub is not None:
            parsed = urlparse(hub)
            if parsed.scheme not in HUB_SCHEMES or not parsed.hostname:
                r.add(child(lpath, "hub_url"), f"{hub!r} is not a leaf-node URL",
                      f"use {'|'.join(HUB_SCHEMES)}://host:port, e.g. tls://nats.example.com:7422")
                hub = None
        port = r.port(m, "listen_port", lpath, default=4222)
        if customer is None or tenant is None or port is None:
            continue
        if customer in seen:
            r.add(child(lpath, "customer"), f"duplicate leaf node for customer {customer!r}",
                  "declare one leaf node per customer")
            continue
        seen.add(customer)
        out.append(LeafNodeSpec(customer=customer, tenant=tenant, hub_url=hub, listen_port=port))
    return tuple(out)
