"""The hub servers' config, derived from the environment and the operator's public material.

Operator mode with the ``full`` resolver: accounts are pushed at runtime by the system user and
kept in ``<data_dir>/resolver``; only the system account is preloaded (the resolver needs it to
start). Nothing secret goes into this config: the operator and system account JWTs are public,
signed documents.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Optional

from components.model.render.server_conf import (
    ClusterConf,
    JetStreamConf,
    LeafNodesConf,
    ResolverConf,
    ServerConf,
    TLSConf,
    render_server_conf,
)
from components.model.spec_model import Environment


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
) -> ServerConf:
    """One hub server's config. ``data_dir`` holds the JetStream store and the resolver directory.

    ``tls_dir``: where certificates are mounted (Kubernetes); for local servers the environment's
    own file paths are used.
    """
    s = env.servers
    tls: Optional[TLSConf] = None
    if env.tls is not None:
        if tls_dir:
            tls = TLSConf(cert_file=os.path.join(tls_dir, "tls.crt"), key_file=os.path.join(tls_dir, "tls.key"),
                          ca_file=os.path.join(tls_dir, "ca.crt"), min_version=env.tls.min_version)
        elif env.tls.cert_file and env.tls.key_file:
            tls = TLSConf(cert_file=env.tls.cert_file, key_file=env.tls.key_file, ca_file=env.tls.ca_file,
                          min_version=env.tls.min_version)
    cluster = None
    if s.cluster_port:
        cluster = ClusterConf(name=f"nats-{env.stack}", host=host or s.host, port=s.cluster_port, routes=routes)
    return ServerConf(
        server_name=server_name,
        host=host or s.host,
        port=s.client_port,
        monitor_port=s.monitor_port,
        jetstream=JetStreamConf(
            store_dir=os.path.join(data_dir, "jetstream"),
            max_memory=_size(env.jetstream.max_memory),
            max_file=_size(env.jetstream.max_file),
            domain=env.jetstream.domain,
        ),
        operator_jwt=operator_jwt,
        system_account=system_account,
        resolver=ResolverConf(dir=os.path.join(data_dir, "resolver"), preload={system_account: system_account_jwt}),
        cluster=cluster,
        leafnodes=LeafNodesConf(host=host or s.host, port=s.leafnode_port, tls=tls),
        tls=tls,
    )


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
