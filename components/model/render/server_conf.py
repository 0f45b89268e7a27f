"""nats-server configuration text, rendered deterministically from a frozen description.

The output is the server's own config syntax (a superset of JSON): every string is written as a
JSON string, keys in a fixed order, so the same input always yields the same bytes and a diff of two
renderings shows only what changed. ``nats-server -t -c <file>`` accepts it (tested).

Operator mode (decentralized JWT auth) is used whenever ``operator_jwt`` is set: then the server has
no users of its own, ``system_account`` must be the operator's system account, and accounts come from
the ``full`` resolver directory, with the system account preloaded so the resolver can start.

Secrets never appear in the text. The JetStream encryption key is written as a bare variable
reference (``key: $NATS_JS_KEY``): nats-server resolves an unquoted ``$NAME`` from its own process
environment when it loads the file (``nats-server -t`` included) and refuses to start when the
variable is missing, so the key lives only in the environment of the server process (a local
process started with it, or a Kubernetes container with the variable from a Secret).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

#: The environment variable that carries the JetStream encryption key (see ``jetstream_key_env``).
JETSTREAM_KEY_ENV = "NATS_JS_KEY"


@dataclass(frozen=True)
class JetStreamConf:
    """The ``jetstream`` block: where the store lives, its limits, its domain, syncing and encryption.

    ``sync_interval``: ``always`` (fsync before every ack) or a Go duration; None keeps the
    server default (2m). ``cipher`` (``aes`` | ``chachapoly``) turns on store encryption with the
    key taken from the environment variable ``key_env``.
    """

    store_dir: str
    max_memory: str = "256MB"
    max_file: str = "10GB"
    domain: Optional[str] = None
    sync_interval: Optional[str] = None
    cipher: Optional[str] = None
    key_env: str = JETSTREAM_KEY_ENV


@dataclass(frozen=True)
class ResolverConf:
    """The ``full`` account resolver: one JWT file per account under ``dir``, updatable at runtime."""

    dir: str
    allow_delete: bool = True
    interval: str = "2m"
    timeout: str = "5s"
    preload: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TLSConf:
    """A ``tls`` block: certificate, key and CA files, the lowest TLS version, and peer verification.

    ``cipher_suites``: rendered as given; nats-server accepts the TLS 1.3 names, but Go's TLS
    stack always enables all TLS 1.3 suites and applies such a list only to TLS 1.2 and below.
    """

    cert_file: str
    key_file: str
    ca_file: Optional[str] = None
    min_version: str = "1.3"
    verify: bool = False
    cipher_suites: Sequence[str] = ()


@dataclass(frozen=True)
class ClusterConf:
    """The ``cluster`` block: the cluster's name, the route listen address and the routes to the peers.

    ``tls``: TLS on routes; a route is both client and server of its peer, so with ``verify``
    each server checks the peer's certificate (which then needs the clientAuth usage as well).
    """

    name: str
    host: str
    port: int
    routes: Sequence[str] = ()
    tls: Optional[TLSConf] = None


@dataclass(frozen=True)
class LeafRemote:
    """An outgoing leaf-node connection (used by customer leaf bundles)."""

    urls: Sequence[str]
    account: Optional[str] = None
    credentials: Optional[str] = None


@dataclass(frozen=True)
class LeafNodesConf:
    """The ``leafnodes`` block: a listener for incoming leaf nodes, outgoing remotes, or both.

    Without ``port`` there is no listener (a customer's leaf server only connects out); ``host``
    defaults to the server's own.
    """

    host: Optional[str] = None
    port: Optional[int] = None
    remotes: Sequence[LeafRemote] = ()
    tls: Optional[TLSConf] = None


@dataclass(frozen=True)
class ServerConf:
    """One nats-server's whole config, as ``render_server_conf`` writes it.

    Operator mode when ``operator_jwt`` is set: ``system_account`` must then be the operator's
    system account and ``resolver`` holds the accounts; without ``operator_jwt`` neither is written.
    ``monitor_host`` defaults to ``host``.
    """

    server_name: str
    host: str = "127.0.0.1"
    port: int = 4222
    monitor_port: Optional[int] = None
    monitor_host: Optional[str] = None
    jetstream: Optional[JetStreamConf] = None
    operator_jwt: Optional[str] = None
    system_account: Optional[str] = None
    resolver: Optional[ResolverConf] = None
    cluster: Optional[ClusterConf] = None
    leafnodes: Optional[LeafNodesConf] = None
    tls: Optional[TLSConf] = None
    max_payload: Optional[str] = None
    pid_file: Optional[str] = None
    log_file: Optional[str] = None
    #: Go durations; the server's defaults (2m, 10s) apply when None (``server_budget``).
    lame_duck_duration: Optional[str] = None
    lame_duck_grace_period: Optional[str] = None


def _q(value: str) -> str:
    return json.dumps(value)


def _tls_block(tls: TLSConf, indent: str) -> list[str]:
    lines = [f"{indent}tls {{",
             f"{indent}  cert_file: {_q(tls.cert_file)}",
             f"{indent}  key_file: {_q(tls.key_file)}"]
    if tls.ca_file:
        lines.append(f"{indent}  ca_file: {_q(tls.ca_file)}")
    lines.append(f"{indent}  min_version: {_q(tls.min_version)}")
    if tls.cipher_suites:
        lines.append(f"{indent}  cipher_suites: [" + ", ".join(_q(c) for c in tls.cipher_suites) + "]")
    if tls.verify:
        lines.append(f"{indent}  verify: true")
    lines.append(f"{indent}}}")
    return lines


def render_server_conf(conf: ServerConf) -> str:
    """Render ``conf`` as nats-server config text (ends with a newline)."""
    out: list[str] = [
        "# Rendered by nats-tenancy. Do not edit: change the environment file and run pulumi up.",
        f"server_name: {_q(conf.server_name)}",
        f"listen: {_q(f'{conf.host}:{conf.port}')}",
    ]
    if conf.monitor_port is not None:
        mhost = conf.monitor_host or conf.host
        out.append(f"http: {_q(f'{mhost}:{conf.monitor_port}')}")
    if conf.max_payload:
        out.append(f"max_payload: {conf.max_payload}")
    if conf.pid_file:
        out.append(f"pid_file: {_q(conf.pid_file)}")
    if conf.log_file:
        out.append(f"log_file: {_q(conf.log_file)}")
    if conf.lame_duck_duration:
        out.append(f"lame_duck_duration: {_q(conf.lame_duck_duration)}")
    if conf.lame_duck_grace_period:
        out.append(f"lame_duck_grace_period: {_q(conf.lame_duck_grace_period)}")
    if conf.tls:
        out.extend(_tls_block(conf.tls, ""))

    if conf.jetstream:
        js = conf.jetstream
        out.append("jetstream {")
        out.append(f"  store_dir: {_q(js.store_dir)}")
        out.append(f"  max_memory_store: {js.max_memory}")
        out.append(f"  max_file_store: {js.max_file}")
        if js.domain:
            out.append(f"  domain: {_q(js.domain)}")
        if js.sync_interval:
            out.append(f"  sync_interval: {_q(js.sync_interval)}")
        if js.cipher:
            if not js.key_env.isidentifier():
                raise ValueError(f"{js.key_env!r} is not an environment variable name")
            out.append(f"  cipher: {_q(js.cipher)}")
            out.append(f"  key: ${js.key_env}")
        out.append("}")

    if conf.operator_jwt:
        out.append(f"operator: {_q(conf.operator_jwt)}")
        if conf.system_account:
            out.append(f"system_account: {_q(conf.system_account)}")
        if conf.resolver:
            r = conf.resolver
            out.append("resolver {")
            out.append("  type: full")
            out.append(f"  dir: {_q(r.dir)}")
            out.append(f"  allow_delete: {'true' if r.allow_delete else 'false'}")
            out.append(f"  interval: {_q(r.interval)}")
            out.append(f"  timeout: {_q(r.timeout)}")
            out.append("}")
            if r.preload:
                out.append("resolver_preload {")
                for key in sorted(r.preload):
                    out.append(f"  {key}: {_q(r.preload[key])}")
                out.append("}")

    if conf.cluster:
        c = conf.cluster
        out.append("cluster {")
        out.append(f"  name: {_q(c.name)}")
        out.append(f"  listen: {_q(f'{c.host}:{c.port}')}")
        if c.tls:
            out.extend(_tls_block(c.tls, "  "))
        if c.routes:
            out.append("  routes: [")
            for route in sorted(c.routes):
                out.append(f"    {_q(route)}")
            out.append("  ]")
        out.append("}")

    if conf.leafnodes:
        ln = conf.leafnodes
        out.append("leafnodes {")
        if ln.port is not None:
            out.append(f"  listen: {_q(f'{ln.host or conf.host}:{ln.port}')}")
        if ln.tls:
            out.extend(_tls_block(ln.tls, "  "))
        if ln.remotes:
            out.append("  remotes: [")
            for remote in ln.remotes:
                out.append("    {")
                out.append("      urls: [" + ", ".join(_q(u) for u in remote.urls) + "]")
                if remote.account:
                    out.append(f"      account: {_q(remote.account)}")
                if remote.credentials:
                    out.append(f"      credentials: {_q(remote.credentials)}")
                out.append("    }")
            out.append("  ]")
        out.append("}")
    return "\n".join(out) + "\n"


def jetstream_key_env(conf: ServerConf) -> Optional[str]:
    """The environment variable that must give the server process the store key; None when unencrypted.

    Kubernetes: set it on the server container from a Secret (``valueFrom.secretKeyRef``), never as
    a literal value in the pod spec or the ConfigMap.
    """
    if conf.jetstream is None or not conf.jetstream.cipher:
        return None
    return conf.jetstream.key_env


def jetstream_key_container_env(conf: ServerConf, secret_name: str, secret_key: str = "jetstream-key"
                                ) -> list[dict[str, Any]]:
    """The server container's ``env`` entries a Kubernetes pod needs for ``conf``; none when unencrypted.

    The store key comes from the Secret ``secret_name`` (entry ``secret_key``), so the key is in
    neither the pod spec nor the ConfigMap.
    """
    name = jetstream_key_env(conf)
    if name is None:
        return []
    return [{"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": secret_key}}}]
