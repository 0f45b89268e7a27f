"""The ``servers``, ``jetstream``, ``tls`` and ``monitoring`` sections.

``local`` runs nats-server processes on this machine: one for development, or ``replicas: 3`` (or 5)
routed into one cluster. They must listen on loopback only, because their system credentials sit in
local state. Member ``i`` of a local cluster listens on each base port plus ``i`` (see
``member_ports``), so the ports of all members are known, and checked for clashes, before anything
starts. ``kubernetes`` runs a StatefulSet; there TLS, when given, must be 1.3 (the platform's
baseline for anything reachable from other machines).

``jetstream.sync_interval`` is how often the servers fsync the store: ``always`` makes every
acknowledged write durable on disk before the ack (the prod default and the kubernetes default);
otherwise the server's own default of 2 minutes applies, which a coordinated power loss of all
servers can turn into lost acknowledged writes (a process crash cannot: the OS still holds them).
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Mapping, Optional

from components.model.environment.metrics import read_metrics
from components.model.environment.model import (
    JetStreamSpec,
    MonitoringSpec,
    ResourcesSpec,
    ServerMode,
    ServersSpec,
    ServiceType,
    TLSSpec,
)
from components.model.environment.schema import Reader, child
from components.model.environment.units import format_duration, parse_duration, parse_size

COMMON_KEYS = ("mode", "client_port", "monitor_port", "leafnode_port", "cluster_port")
LOCAL_KEYS = COMMON_KEYS + ("host", "data_dir")
KUBERNETES_KEYS = COMMON_KEYS + ("namespace", "replicas", "image", "storage_class", "storage_size",
                                 "resources", "service_type", "creds_namespace", "await_ready")
JETSTREAM_KEYS = ("max_memory", "max_file", "domain", "sync_interval", "cipher")
TLS_KEYS = ("min_version", "secret_name", "cert_file", "key_file", "ca_file", "verify", "cipher_suites")
#: The names nats-server 2.15 accepts in ``cipher_suites`` for TLS 1.3. Go's crypto/tls enables all
#: three whenever TLS 1.3 is negotiated and ignores any list for it, so with ``min_version: "1.3"``
#: the list documents intent and narrows nothing (docs/cluster.md).
TLS13_CIPHER_SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
#: Store ciphers nats-server knows (``jetstream.cipher``).
JETSTREAM_CIPHERS = ("aes", "chachapoly")
DEFAULT_SYNC_INTERVAL = "2m"
DURABLE_SYNC_INTERVAL = "always"
REPLICA_COUNTS = (1, 3, 5)
TLS_VERSIONS = ("1.2", "1.3")
MONITORING_KEYS = ("enabled", "port", "exporter_image", "metrics")
EXPORTER_DOCKERFILE = "deploy/exporter/Dockerfile"

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
OBJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,252}$")
CPU = re.compile(r"^\d+(\.\d+)?m?$")
IMAGE = re.compile(r"^[^\s]+$")
JS_DOMAIN = re.compile(r"^[A-Za-z0-9_-]+$")
DEFAULT_PORTS = {"client_port": 4222, "monitor_port": 8222, "leafnode_port": 7422, "cluster_port": 6222}


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses: where a local dev server may listen."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_servers(r: Reader, value: Any, path: str, stack: str) -> Optional[ServersSpec]:
    """The ``servers`` section, read by its ``mode``: local processes or a kubernetes StatefulSet.

    Keys of the other mode are problems; None when the mode is missing or unknown.
    """
    if not isinstance(value, dict):
        r.mapping(value, path, ("mode",), required=("mode",))
        return None
    mode = r.choice(value, "mode", path, ServerMode)
    if mode is None:
        if "mode" not in value:
            r.add(child(path, "mode"), "missing", "add 'mode: local' or 'mode: kubernetes'")
        return None
    if mode is ServerMode.LOCAL:
        return _read_local(r, value, path, stack)
    return _read_kubernetes(r, value, path)


def _wrong_mode_keys(r: Reader, m: dict[str, Any], path: str, mode: ServerMode,
                     other: tuple[str, ...]) -> dict[str, Any]:
    rest = {}
    for key, val in m.items():
        if isinstance(key, str) and key in other and key not in COMMON_KEYS:
            r.add(child(path, key), f"'{key}' does not apply to mode {mode.value}",
                  "remove it, or use the other mode if you meant it")
        else:
            rest[key] = val
    return rest


def member_ports(servers: ServersSpec, ordinal: int) -> dict[str, int]:
    """The listen ports of local cluster member ``ordinal`` (0-based): each base port plus the ordinal.

    So the layout is a pure function of the environment file: no port is picked at run time, and a
    restarted member comes back on the same ports its peers route to.
    """
    ports = {"client_port": servers.client_port + ordinal, "monitor_port": servers.monitor_port + ordinal,
             "leafnode_port": servers.leafnode_port + ordinal}
    if servers.cluster_port is not None:
        ports["cluster_port"] = servers.cluster_port + ordinal
    return ports


def _read_local(r: Reader, value: dict[str, Any], path: str, stack: str) -> Optional[ServersSpec]:
    # ``replicas`` is a kubernetes key too; for local mode it is read here, not refused.
    value = dict(value)
    raw_replicas = value.pop("replicas", None)
    m = r.mapping(_wrong_mode_keys(r, value, path, ServerMode.LOCAL, KUBERNETES_KEYS), path, LOCAL_KEYS,
                  required=("client_port", "monitor_port", "leafnode_port"))
    replicas = r.integer({"replicas": raw_replicas}, "replicas", path, default=1)
    if replicas is not None and replicas not in REPLICA_COUNTS:
        r.add(child(path, "replicas"), f"{replicas} not in 1|3|5",
              "use 1 server, or 3 or 5 for a cluster (JetStream needs an odd count for its quorum)")
        replicas = None
    if m is None:
        return None
    host = r.string(m, "host", path, default="127.0.0.1")
    if host is not None and not is_loopback(host):
        r.add(child(path, "host"), f"{host!r} is not a loopback address",
              "use 127.0.0.1, ::1 or localhost: a local server must not be reachable from other machines")
    client = r.port(m, "client_port", path)
    monitor = r.port(m, "monitor_port", path)
    leaf = r.port(m, "leafnode_port", path)
    cluster = r.port(m, "cluster_port", path)
    data_dir = r.string(m, "data_dir", path, default=f".state/{stack}/nats")
    if replicas is not None and replicas > 1 and cluster is None and "cluster_port" not in m:
        r.add(child(path, "cluster_port"), f"missing: {replicas} local servers route to each other",
              "add cluster_port: <port> (member i listens on cluster_port + i)")
        replicas = None
    for key, port in (("client_port", client), ("monitor_port", monitor), ("leafnode_port", leaf),
                      ("cluster_port", cluster)):
        if port is not None and replicas is not None and port + replicas - 1 > 65535:
            r.add(child(path, key), f"{port} + {replicas - 1} (the last member's port) is above 65535",
                  f"use a {key} of at most {65536 - replicas}")
            replicas = None
    if None in (host, client, monitor, leaf, data_dir, replicas):
        return None
    return ServersSpec(mode=ServerMode.LOCAL, host=str(host), client_port=int(client or 0),
                       monitor_port=int(monitor or 0), leafnode_port=int(leaf or 0),
                       cluster_port=cluster, data_dir=data_dir, replicas=int(replicas or 1))


def _read_kubernetes(r: Reader, value: dict[str, Any], path: str) -> Optional[ServersSpec]:
    m = r.mapping(_wrong_mode_keys(r, value, path, ServerMode.KUBERNETES, LOCAL_KEYS), path, KUBERNETES_KEYS,
                  required=("namespace", "image"))
    if m is None:
        return None
    namespace = r.string(m, "namespace", path, pattern=DNS_LABEL,
                         fix="use a Kubernetes namespace name: lower-case letters, digits and '-'")
    replicas = r.integer(m, "replicas", path, default=3)
    if replicas is not None and replicas not in (1, 3, 5):
        r.add(child(path, "replicas"), f"{replicas} not in 1|3|5",
              "use 1, 3 or 5 servers (JetStream needs an odd count for its quorum)")
        replicas = None
    image = r.string(m, "image", path, pattern=IMAGE, fix="use an image reference like nats:2.11-alpine")
    storage_class = r.string(m, "storage_class", path, pattern=OBJECT_NAME,
                             fix="use the name of a StorageClass in the cluster")
    storage_size = r.size(m, "storage_size", path, default=parse_size("10GiB"))
    resources = _read_resources(r, m.get("resources"), child(path, "resources"))
    service_type = r.choice(m, "service_type", path, ServiceType, ServiceType.CLUSTER_IP)
    ports = {k: r.port(m, k, path, default=d) for k, d in DEFAULT_PORTS.items()}
    # Tenant users' creds as Kubernetes Secrets in this namespace (none without it).
    creds_namespace = r.string(m, "creds_namespace", path, pattern=DNS_LABEL,
                               fix="use a Kubernetes namespace name: lower-case letters, digits and '-'")
    # false: `up` does not wait for the servers to be Ready (pulumi.com/skipAwait on the StatefulSet).
    await_ready = r.boolean(m, "await_ready", path, default=True)
    if None in (namespace, replicas, image, service_type) or None in ports.values():
        return None
    return ServersSpec(mode=ServerMode.KUBERNETES, host="0.0.0.0", client_port=int(ports["client_port"] or 0),
                       monitor_port=int(ports["monitor_port"] or 0), leafnode_port=int(ports["leafnode_port"] or 0),
                       cluster_port=ports["cluster_port"], namespace=namespace, replicas=int(replicas or 1),
                       image=image, storage_class=storage_class, storage_size=storage_size,
                       resources=resources, service_type=service_type, creds_namespace=creds_namespace,
                       await_ready=await_ready)


def _read_resources(r: Reader, value: Any, path: str) -> Optional[ResourcesSpec]:
    if value is None:
        return None
    m = r.mapping(value, path, ("cpu", "memory"), required=("cpu", "memory"))
    if m is None:
        return None
    raw_cpu = m.get("cpu")
    cpu: Optional[str] = None
    if isinstance(raw_cpu, str):
        cpu = raw_cpu
    elif isinstance(raw_cpu, (int, float)) and not isinstance(raw_cpu, bool):
        cpu = str(raw_cpu)
    if "cpu" in m and (cpu is None or CPU.match(cpu) is None):
        r.add(child(path, "cpu"), f"{raw_cpu!r} is not a CPU quantity",
              "use cores like 2 or 0.5, or millicores like 500m")
        cpu = None
    memory = r.size(m, "memory", path)
    if cpu is None or memory is None:
        return None
    return ResourcesSpec(cpu, memory)


def default_sync_interval(stack: str, mode: Optional[ServerMode]) -> str:
    """``always`` for the prod stack and for kubernetes servers, the server's default elsewhere."""
    return DURABLE_SYNC_INTERVAL if stack == "prod" or mode is ServerMode.KUBERNETES else DEFAULT_SYNC_INTERVAL


def _read_sync_interval(r: Reader, m: Mapping[str, Any], path: str, default: str) -> Optional[str]:
    raw = m.get("sync_interval", default)
    if raw == DURABLE_SYNC_INTERVAL:
        return DURABLE_SYNC_INTERVAL
    ns = parse_duration(raw) if isinstance(raw, str) else None
    if not ns:
        r.add(child(path, "sync_interval"), f"{raw!r} is neither 'always' nor a positive duration",
              "use always (fsync before every ack) or a duration like 2m, 30s or 500ms")
        return None
    return format_duration(ns)


def read_jetstream(r: Reader, value: Any, path: str, stack: str = "",
                   mode: Optional[ServerMode] = None) -> Optional[JetStreamSpec]:
    """The ``jetstream`` section: storage limits, domain, sync interval and store cipher.

    Storage defaults to 256MiB of memory and 10GiB of file. The sync interval's default depends on
    the stack and mode (``default_sync_interval``); a cipher needs the secret stack setting
    ``jetstreamKey``.
    """
    m = r.mapping({} if value is None else value, path, JETSTREAM_KEYS)
    if m is None:
        return None
    max_memory = r.size(m, "max_memory", path, default=parse_size("256MiB"))
    max_file = r.size(m, "max_file", path, default=parse_size("10GiB"))
    domain = r.string(m, "domain", path, pattern=JS_DOMAIN,
                      fix="use letters, digits, '_' or '-' (no dots or spaces)")
    sync_interval = _read_sync_interval(r, m, path, default_sync_interval(stack, mode))
    cipher = m.get("cipher")
    if cipher is not None and cipher not in JETSTREAM_CIPHERS:
        r.add(child(path, "cipher"), f"{cipher!r} not in {'|'.join(JETSTREAM_CIPHERS)}",
              "use aes or chachapoly; the key is the secret stack setting jetstreamKey")
        cipher = None
    if max_memory is None or max_file is None or sync_interval is None:
        return None
    return JetStreamSpec(max_memory, max_file, domain, sync_interval, cipher)


def read_tls(r: Reader, value: Any, path: str, mode: Optional[ServerMode], stack: str) -> Optional[TLSSpec]:
    """The ``tls`` section, or None when TLS is off.

    TLS 1.3 is the minimum in kubernetes mode and on the prod stack; kubernetes takes its
    certificates from a Secret, local mode from PEM files, and client verification there needs a CA.
    """
    if value is None:
        return None
    m = r.mapping(value, path, TLS_KEYS)
    if m is None:
        return None
    version = m.get("min_version", "1.3")
    if isinstance(version, float):  # YAML reads an unquoted 1.3 as a number
        version = f"{version:.1f}"
    if version not in TLS_VERSIONS:
        r.add(child(path, "min_version"), f"{version!r} not in {'|'.join(TLS_VERSIONS)}", "use \"1.3\"")
        version = None
    elif version != "1.3" and (mode is ServerMode.KUBERNETES or stack == "prod"):
        r.add(child(path, "min_version"), f"{version!r} is below 1.3, the minimum for "
              f"{'kubernetes mode' if mode is ServerMode.KUBERNETES else 'the prod stack'}",
              "set min_version: \"1.3\"")
    secret = r.string(m, "secret_name", path, pattern=OBJECT_NAME,
                      fix="use the name of a kubernetes.io/tls Secret")
    verify = r.boolean(m, "verify", path, False)
    suites = _read_cipher_suites(r, m.get("cipher_suites"), child(path, "cipher_suites"))
    files = {k: r.string(m, k, path) for k in ("cert_file", "key_file", "ca_file")}
    if mode is ServerMode.KUBERNETES:
        if secret is None and "secret_name" not in m:
            r.add(child(path, "secret_name"), "missing", "name the Secret holding tls.crt and tls.key")
        for k, v in files.items():
            if v is not None:
                r.add(child(path, k), f"'{k}' does not apply to mode kubernetes",
                      "remove it: certificates come from the Secret named by secret_name")
    elif mode is ServerMode.LOCAL:
        if "secret_name" in m:
            r.add(child(path, "secret_name"), "'secret_name' does not apply to mode local",
                  "use cert_file and key_file instead")
        for k in ("cert_file", "key_file"):
            if k not in m:
                r.add(child(path, k), "missing", "give the path of the PEM file")
    if verify and mode is ServerMode.LOCAL and "ca_file" not in m:
        r.add(child(path, "ca_file"), "missing: verify checks client certificates against a CA",
              "give the PEM file of the CA that signs the clients' certificates")
    return TLSSpec(min_version=version or "1.3", secret_name=secret, verify=verify, cipher_suites=suites, **files)


def _read_cipher_suites(r: Reader, value: Any, path: str) -> tuple[str, ...]:
    """TLS 1.3 suite names only: with a 1.3 minimum no other suite can ever be negotiated."""
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        r.add(path, f"expected a non-empty list, got {value!r}", f"list some of {', '.join(TLS13_CIPHER_SUITES)}")
        return ()
    out: list[str] = []
    for i, name in enumerate(value):
        if name not in TLS13_CIPHER_SUITES:
            r.add(f"{path}[{i}]", f"{name!r} is not a TLS 1.3 cipher suite",
                  f"use one of {', '.join(TLS13_CIPHER_SUITES)}")
        elif name not in out:
            out.append(name)
    return tuple(out)


def read_monitoring(r: Reader, value: Any, path: str, mode: Optional[ServerMode]) -> MonitoringSpec:
    """The ``monitoring`` section: whether the exporter runs, on which port, and its series mapping.

    Kubernetes runs the exporter from an image that cannot be derived from this program (it has
    to be built and pushed somewhere the cluster can pull from), so the image must be named there;
    local mode runs the exporter from this checkout and refuses an image that would be ignored.
    """
    m = r.mapping({} if value is None else value, path, MONITORING_KEYS)
    if m is None:
        return MonitoringSpec()
    enabled = r.boolean(m, "enabled", path, False)
    port = r.port(m, "port", path, default=7777) or 7777
    image = r.string(m, "exporter_image", path, pattern=IMAGE,
                     fix=f"use an image reference like registry.example.com/nats-tenancy-exporter:1.0.0 "
                         f"(built from {EXPORTER_DOCKERFILE})")
    if mode is ServerMode.KUBERNETES and enabled and m.get("exporter_image") is None:
        r.add(child(path, "exporter_image"),
              "missing: with monitoring enabled, kubernetes mode runs the exporter from a container image",
              f"build {EXPORTER_DOCKERFILE}, push it to a registry the cluster pulls from, and set "
              "exporter_image: <registry>/nats-tenancy-exporter:<tag>; or set enabled: false")
    elif mode is ServerMode.LOCAL and m.get("exporter_image") is not None:
        r.add(child(path, "exporter_image"), "'exporter_image' does not apply to mode local",
              "remove it: in local mode the stack runs the exporter from this checkout")
    metrics = read_metrics(r, m.get("metrics"), child(path, "metrics"))
    return MonitoringSpec(enabled=enabled, port=port, exporter_image=image, metrics=metrics)
