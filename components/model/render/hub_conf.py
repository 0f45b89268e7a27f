"""The hub servers' config, derived from the environment and the operator's public material.

Operator mode with the ``full`` resolver: accounts are pushed at runtime by the system user and
kept in ``<data_dir>/resolver``; only the system account is preloaded (the resolver needs it to
start). Nothing secret goes into this config: the operator and system account JWTs are public,
signed documents, and the JetStream encryption key is only a reference to the server process's
environment (``server_conf.jetstream_key_env``).

The same function renders the Kubernetes ConfigMap (``k8s_manifests.nats_conf``) and every member
of a local cluster (``local_member_conf``), so a local three-server cluster runs the config the
StatefulSet runs, with loopback addresses and per-member ports in place of pod DNS names.

With TLS and more than one server, routes use TLS too, with ``verify``: a route is both client and
server of its peer, so each server proves itself with its certificate (which needs the serverAuth
and clientAuth usages and the route host names among its subject alternative names).
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Mapping, Optional

from components.model.environment.model import Environment
from components.model.environment.servers import member_ports
from components.model.render.server_conf import (
    ClusterConf,
    JetStreamConf,
    LeafNodesConf,
    ResolverConf,
    ServerConf,
    TLSConf,
    render_server_conf,
)


def _size(n: int) -> str:
    return str(int(n))


def hub_server_conf(
    env: Environment,
    *,
    server_name: str,
    data_dir: str,
    operator_jwt: str,
    system_account: str,
    system_account_jwt: str,
    host: Optional[str] = None,
    routes: tuple[str, ...] = (),
    tls_dir: Optional[str] = None,
    ports: Optional[Mapping[str, int]] = None,
) -> ServerConf:
    """One hub server's config, with its JetStream store and resolver directory under ``data_dir``.

    ``tls_dir``: where certificates are mounted (Kubernetes); for local servers the environment's
    own file paths are used. ``ports``: this server's listen ports (``servers.member_ports``)
    when they differ from the environment's base ports.
    """
    s = env.servers
    p: dict[str, Optional[int]] = {"client_port": s.client_port, "monitor_port": s.monitor_port,
                                   "leafnode_port": s.leafnode_port, "cluster_port": s.cluster_port, **(ports or {})}
    tls: Optional[TLSConf] = None
    if env.tls is not None:
        suites = tuple(env.tls.cipher_suites)
        if tls_dir:
            tls = TLSConf(cert_file=os.path.join(tls_dir, "tls.crt"), key_file=os.path.join(tls_dir, "tls.key"),
                          ca_file=os.path.join(tls_dir, "ca.crt"), min_version=env.tls.min_version,
                          verify=env.tls.verify, cipher_suites=suites)
        elif env.tls.cert_file and env.tls.key_file:
            tls = TLSConf(cert_file=env.tls.cert_file, key_file=env.tls.key_file, ca_file=env.tls.ca_file,
                          min_version=env.tls.min_version, verify=env.tls.verify, cipher_suites=suites)
    cluster = None
    if p["cluster_port"]:
        route_tls = dataclasses.replace(tls, verify=True) if tls is not None and routes and tls.ca_file else None
        cluster = ClusterConf(name=f"nats-{env.stack}", host=host or s.host, port=int(p["cluster_port"]),
                              routes=routes, tls=route_tls)
    # Leaf nodes are customers' servers that authenticate with creds, not certificates.
    leaf_tls = dataclasses.replace(tls, verify=False) if tls is not None else None
    js = env.jetstream
    return ServerConf(
        server_name=server_name,
        host=host or s.host,
        port=int(p["client_port"] or 0),
        monitor_port=p["monitor_port"],
        jetstream=JetStreamConf(
            store_dir=os.path.join(data_dir, "jetstream"),
            max_memory=_size(js.max_memory),
            max_file=_size(js.max_file),
            domain=js.domain,
            sync_interval=js.sync_interval,
            cipher=js.cipher,
        ),
        operator_jwt=operator_jwt,
        system_account=system_account,
        resolver=ResolverConf(dir=os.path.join(data_dir, "resolver"), preload={system_account: system_account_jwt}),
        cluster=cluster,
        leafnodes=LeafNodesConf(host=host or s.host, port=p["leafnode_port"], tls=leaf_tls),
        tls=tls,
    )


def local_server_name(env: Environment, ordinal: int) -> str:
    """The server name of local member ``ordinal``, ``<stack>-<ordinal>``.

    Distinct and stable per member, as JetStream clustering needs.
    """
    return f"{env.stack}-{ordinal}"


def local_route_urls(env: Environment) -> tuple[str, ...]:
    """The route URLs of the local cluster, one per member, or none for a single server.

    Every member is listed, itself included (a server ignores a route to itself), as the
    StatefulSet's config lists every pod.
    """
    s = env.servers
    if s.replicas < 2 or s.cluster_port is None:
        return ()
    return tuple(f"nats://{s.host}:{member_ports(s, i)['cluster_port']}" for i in range(s.replicas))


def local_member_conf(env: Environment, ordinal: int, *, data_dir: str, operator_jwt: str,
                      system_account: str, system_account_jwt: str) -> ServerConf:
    """The config of member ``ordinal`` of the local servers (``servers.mode: local``).

    ``data_dir`` is that member's own directory. One server (``replicas: 1``) gets no cluster
    block, as on Kubernetes.
    """
    s = env.servers
    conf = hub_server_conf(env, server_name=local_server_name(env, ordinal), data_dir=data_dir,
                           operator_jwt=operator_jwt, system_account=system_account,
                           system_account_jwt=system_account_jwt, routes=local_route_urls(env),
                           ports=member_ports(s, ordinal))
    if s.replicas < 2:
        conf = dataclasses.replace(conf, cluster=None)
    return conf


def render_with_env_server_name(conf: ServerConf, env_var: str) -> str:
    """Render ``conf`` with ``server_name`` taken from the environment variable ``env_var``.

    Why: in a StatefulSet every pod mounts the same ConfigMap, yet JetStream clustering needs a
    distinct, stable server name per pod. nats-server resolves an unquoted ``$VAR`` value from its
    environment when it loads the file (a quoted ``"$VAR"`` stays literal), so the name line is
    written bare and the pod supplies the variable (its own name, via the downward API).
    """
    if not env_var.isidentifier():
        raise ValueError(f"{env_var!r} is not an environment variable name")
    placeholder = f"__server_name_from_{env_var}__"
    text = render_server_conf(dataclasses.replace(conf, server_name=placeholder))
    quoted = f"server_name: {json.dumps(placeholder)}\n"
    if text.count(quoted) != 1:   # the renderer's layout changed; fail loudly rather than render junk
        raise ValueError("rendered config has no single server_name line to substitute")
    return text.replace(quoted, f"server_name: ${env_var}\n")
