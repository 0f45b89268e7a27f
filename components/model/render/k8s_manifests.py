"""Kubernetes objects of the hub cluster (``servers.mode: kubernetes``) as plain, deterministic dicts.

Pure on purpose: no Pulumi import, so the manifests are unit-tested (and the config inside them
checked by the real ``nats-server -t``) without a Kubernetes provider plugin or a cluster. The
``Cluster`` component only turns these dicts into pulumi-kubernetes resources.

No Secret is rendered. The only material the servers need from the operator, the operator JWT and
the system account JWT, are signed public documents (anyone may read them; only the seeds, which
never leave Pulumi state, can sign), so they live in the ConfigMap inside ``nats.conf``. The one real
secret, the TLS key, comes from the user's own ``kubernetes.io/tls`` Secret (``tls.secret_name``),
mounted read-only; it must carry ``ca.crt`` as well (cert-manager writes it), since the rendered
TLS blocks name it.

Layout inside a pod: the ConfigMap at ``/etc/nats`` (``nats.conf``), TLS at ``/etc/nats-tls`` (not
nested under ``/etc/nats``: a mount point inside a read-only ConfigMap volume cannot always be
created), and the per-pod PersistentVolumeClaim ``data`` at ``/data`` with the JetStream store and
the account resolver directory, so both survive restarts and rescheduling. The server writes its
PID to ``/var/run/nats`` (an ``emptyDir``), where the ``preStop`` hook finds it.

Stopping and starting at scale (``server_budget``, which decides every number below from the
estate's size): the ``preStop`` hook runs ``nats-server --signal ldm=<pid file>``, so a pod being
stopped first enters lame duck mode (hands off its Raft leaders, stops JetStream, then closes its
clients spread over ``lame_duck_duration`` so they reconnect to the other servers a few at a time);
the SIGTERM Kubernetes sends after the hook is ignored by a server in lame duck mode.
``terminationGracePeriodSeconds`` covers JetStream's stop plus the lame duck duration, so the
kubelet does not kill a large server mid-flush. The image must have ``nats-server`` on its PATH (the
``-alpine`` images do); without it the hook fails and the SIGTERM stops the server at once, still
gracefully for JetStream. The startup probe's budget and, unless ``servers.resources`` sets it, the
memory request and limit (with ``GOMEMLIMIT``) grow with the estate too.

Metrics (``monitoring.enabled``): the project's own exporter (``components.ops.exporter``, image
``monitoring.exporter_image`` built from ``deploy/exporter/Dockerfile``) runs as a second container
in every server pod, reading that pod's monitor port over ``127.0.0.1`` with ``--leader-only`` when
there is more than one server. Why a sidecar and not one Deployment:
- a server's ``/jsz`` lists only the streams that server holds, so a single exporter behind the
  client Service would see one random server per scrape; covering the cluster takes one exporter
  per server, and with ``--leader-only`` each stream is reported by exactly one of them, so sums
  over the pods count each stream once (connections are per server anyway);
- a sidecar follows the StatefulSet by construction: one per replica, same node, no per-pod DNS
  wiring, no second object to scale when ``replicas`` changes, and the monitor port (plain HTTP,
  no auth) never has to be reachable from another pod.
Prometheus finds the exporters through the headless ``nats-metrics`` Service, which carries the
``prometheus.io/*`` annotations (the usual ``kubernetes-service-endpoints`` discovery scrapes every
endpoint, i.e. every pod). The pods themselves carry none, so a Prometheus that also discovers
annotated pods does not scrape every exporter twice. The sidecar has no readiness probe on purpose:
a failing exporter must never take its server out of the client Service; a liveness probe restarts
just that container.
"""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, Optional

from components.model.environment.model import Environment, ServerMode, ServiceType
from components.model.render.hub_conf import hub_server_conf, render_with_env_server_name
from components.model.render.server_budget import ServerBudget, go_duration, gomemlimit, server_budget

Manifest = dict[str, Any]

APP_NAME = "nats"
STATEFULSET_NAME = "nats"
HEADLESS_SERVICE_NAME = "nats-headless"
CLIENT_SERVICE_NAME = "nats"          # ``nats.<namespace>.svc`` is the default leaf-node hub address
CONFIG_MAP_PREFIX = "nats-config"    # + "-<first 10 hex digits of the config's sha256>"
CONFIG_MAP_HASH_LEN = 10
PDB_NAME = "nats"
CONFIG_KEY = "nats.conf"
CONFIG_DIR = "/etc/nats"
CONFIG_PATH = f"{CONFIG_DIR}/{CONFIG_KEY}"
TLS_DIR = "/etc/nats-tls"
DATA_DIR = "/data"
DATA_VOLUME = "data"
PID_DIR = "/var/run/nats"
PID_VOLUME = "pid"
PID_FILE = f"{PID_DIR}/nats.pid"
POD_NAME_VAR = "POD_NAME"
CLUSTER_DOMAIN = "cluster.local"
CONFIG_HASH_ANNOTATION = "nats-tenancy/config-sha256"
METRICS_SERVICE_NAME = "nats-metrics"
EXPORTER_CONTAINER = "exporter"
EXPORTER_MODULE = "components.ops.exporter"
METRICS_PORT_NAME = "metrics"
METRICS_PATH = "/metrics"
SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait"
PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce"
CREDS_KEY = "user.creds"
TENANT_LABEL = "nats-tenancy/tenant"
USER_LABEL = "nats-tenancy/user"


def labels(env: Environment) -> dict[str, str]:
    """Labels on every object; also the selector, so they must never change for a stack."""
    return {"app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/instance": f"nats-tenancy-{env.stack}"}


def _namespace_of(env: Environment) -> str:
    s = env.servers
    if s.mode is not ServerMode.KUBERNETES or not s.namespace:
        raise ValueError(f"{env.file}: servers.mode must be kubernetes with a namespace to render manifests")
    return s.namespace


def _clustered(env: Environment) -> bool:
    """One server needs no routes: a cluster block naming only itself would just log route errors."""
    return env.servers.replicas > 1


def _quantity(n: int) -> str:
    """Bytes as a Kubernetes quantity, in the largest binary unit that divides them exactly."""
    for suffix, unit in (("Ti", 1024 ** 4), ("Gi", 1024 ** 3), ("Mi", 1024 ** 2), ("Ki", 1024)):
        if n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def _meta(env: Environment, name: str, namespaced: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels(env)}
    if namespaced:
        meta["namespace"] = _namespace_of(env)
    return meta


def pod_dns_name(env: Environment, ordinal: int) -> str:
    """Stable DNS name of one pod through the headless service (resolvable before it is Ready)."""
    return f"{STATEFULSET_NAME}-{ordinal}.{HEADLESS_SERVICE_NAME}.{_namespace_of(env)}.svc.{CLUSTER_DOMAIN}"


def route_urls(env: Environment) -> tuple[str, ...]:
    """The route URLs of every pod, itself included: one config serves all pods, and a server ignores its own."""
    if not _clustered(env):
        return ()
    port = env.servers.cluster_port
    if port is None:
        raise ValueError(f"{env.file}: servers.cluster_port is needed for {env.servers.replicas} replicas")
    return tuple(f"nats://{pod_dns_name(env, i)}:{port}" for i in range(env.servers.replicas))


def client_url(env: Environment) -> str:
    """In-cluster client URL of the client Service."""
    return f"nats://{CLIENT_SERVICE_NAME}.{_namespace_of(env)}.svc.{CLUSTER_DOMAIN}:{env.servers.client_port}"


def nats_conf(env: Environment, operator_jwt: str, system_account: str, system_account_jwt: str) -> str:
    """The one ``nats.conf`` of all pods; each pod's server name is its pod name (``$POD_NAME``)."""
    conf = hub_server_conf(env, server_name=POD_NAME_VAR, data_dir=DATA_DIR, operator_jwt=operator_jwt,
                           system_account=system_account, system_account_jwt=system_account_jwt,
                           host=env.servers.host, routes=route_urls(env),
                           tls_dir=TLS_DIR if env.tls is not None else None)
    budget = server_budget(env)
    conf = dataclasses.replace(conf, pid_file=PID_FILE,
                               lame_duck_duration=go_duration(budget.lame_duck_duration_s),
                               lame_duck_grace_period=go_duration(budget.lame_duck_grace_period_s))
    if not _clustered(env):
        conf = dataclasses.replace(conf, cluster=None)
    return render_with_env_server_name(conf, POD_NAME_VAR)


def config_hash(conf_text: str) -> str:
    """The sha256 of the config text, put on the pod template so that a changed config rolls the pods."""
    return hashlib.sha256(conf_text.encode("utf-8")).hexdigest()


def config_map_name(conf_hash: str) -> str:
    """The ConfigMap's name: ``nats-config-`` and the first 10 hex digits of ``conf_hash``.

    The ConfigMap is named after its content, so a config change is a new ConfigMap and an
    in-place update of the StatefulSet (its volume names the new one), which rolls the pods one at
    a time. A fixed name would not do: pulumi-kubernetes treats a ConfigMap's data as immutable, so
    changed data replaces it, and replacing an object under the same name deletes it first, which
    drags its dependent StatefulSet into a replace (all pods at once). The old ConfigMap is deleted
    only after the StatefulSet update. ``conf_hash`` "" gives the bare prefix (metadata shape only).
    """
    short = conf_hash[:CONFIG_MAP_HASH_LEN]
    return f"{CONFIG_MAP_PREFIX}-{short}" if short else CONFIG_MAP_PREFIX


def namespace(env: Environment) -> Manifest:
    """The Namespace of the servers (``servers.namespace``)."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(env, _namespace_of(env), namespaced=False)}


def config_map(env: Environment, conf_text: str) -> Manifest:
    """The ConfigMap holding ``nats.conf``, named after the hash of ``conf_text`` (``config_map_name``).

    An empty ``conf_text`` gives the bare prefix as its name (metadata shape only).
    """
    name = config_map_name(config_hash(conf_text)) if conf_text else CONFIG_MAP_PREFIX
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(env, name), "data": {CONFIG_KEY: conf_text}}


def _server_ports(env: Environment) -> list[tuple[str, int]]:
    s = env.servers
    ports = [("client", s.client_port)]
    if _clustered(env) and s.cluster_port is not None:
        ports.append(("cluster", s.cluster_port))
    ports += [("leafnodes", s.leafnode_port), ("monitor", s.monitor_port)]
    return ports


def _service_ports(ports: list[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"name": n, "port": p, "targetPort": n, "protocol": "TCP"} for n, p in ports]


def headless_service(env: Environment) -> Manifest:
    """The headless Service that gives each pod the DNS name its peers route to.

    ``publishNotReadyAddresses``: pods must find each other before they are Ready, since readiness
    itself waits for the JetStream cluster to form.
    """
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(env, HEADLESS_SERVICE_NAME),
            "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": labels(env),
                     "ports": _service_ports(_server_ports(env))}}


def client_service(env: Environment) -> Manifest:
    """The Service clients and leaf nodes connect to, with the client and leaf-node ports only.

    The monitor port stays off it: exposing it (a LoadBalancer) would publish server internals; it
    is reached per pod through the headless service.
    """
    s = env.servers
    ports = [("client", s.client_port), ("leafnodes", s.leafnode_port)]
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(env, CLIENT_SERVICE_NAME),
            "spec": {"type": (s.service_type or ServiceType.CLUSTER_IP).value, "selector": labels(env),
                     "ports": _service_ports(ports)}}


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "monitor"}, "periodSeconds": period, "timeoutSeconds": 5,
            "failureThreshold": failures}


def _server_container(env: Environment, budget: ServerBudget) -> dict[str, Any]:
    """Probes: startup waits for the full ``/healthz``, i.e. every account's JetStream restored and
    its streams caught up after a restart, for ``budget``'s time (at least 15 min); readiness asks
    only that this server is current with the JetStream meta group; liveness only that JetStream is
    enabled, so a slow catch-up never gets a healthy server killed. The full ``/healthz`` rather
    than ``?js-enabled-only=true`` for startup: a pod is Ready, and the rolling update moves on to
    the next one, only once it has started, and stopping the next server before this one's streams
    caught up could leave a replicated stream without a quorum."""
    s = env.servers
    env_vars: list[dict[str, Any]] = [
        {"name": POD_NAME_VAR, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    mounts: list[dict[str, Any]] = [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                                    {"name": DATA_VOLUME, "mountPath": DATA_DIR},
                                    {"name": PID_VOLUME, "mountPath": PID_DIR}]
    if env.tls is not None:
        mounts.append({"name": "tls", "mountPath": TLS_DIR, "readOnly": True})
    container: dict[str, Any] = {
        "name": "nats",
        "image": s.image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["-c", CONFIG_PATH],
        "ports": [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in _server_ports(env)],
        "env": env_vars,
        "volumeMounts": mounts,
        "lifecycle": {"preStop": {"exec": {"command": ["nats-server", "--signal", f"ldm={PID_FILE}"]}}},
        "startupProbe": _probe("/healthz", budget.startup_period_s, budget.startup_failure_threshold),
        "readinessProbe": _probe("/healthz?js-server-only=true", 10, 3),
        "livenessProbe": _probe("/healthz?js-enabled-only=true", 30, 3),
    }
    # CPU has a request only, and only when the environment gives one: a CPU limit throttles the
    # server under bursts. Memory is capped, at servers.resources.memory or else at what the estate
    # needs, and GOMEMLIMIT (90% of it) makes the Go runtime collect before the kernel kills the pod.
    memory_bytes = s.resources.memory if s.resources is not None else budget.memory
    memory = _quantity(memory_bytes)
    requests = {"cpu": s.resources.cpu, "memory": memory} if s.resources is not None else {"memory": memory}
    container["resources"] = {"requests": requests, "limits": {"memory": memory}}
    env_vars.append({"name": "GOMEMLIMIT", "value": str(gomemlimit(memory_bytes))})
    return container


def exporter_args(env: Environment) -> list[str]:
    """The exporter sidecar's arguments: its own pod's server as the source, every interface to listen on.

    The exporter reads its pod's server over loopback (the server listens on every interface) and
    listens on all of the pod's interfaces so Prometheus can reach it. With more than one server it
    reports only the streams its server leads (``--leader-only``), so each stream is counted once.
    """
    args = ["--monitor-url", f"http://127.0.0.1:{env.servers.monitor_port}",
            "--listen", f"0.0.0.0:{env.monitoring.port}"]
    if _clustered(env):
        args.append("--leader-only")
    return args


def _exporter_container(env: Environment) -> dict[str, Any]:
    """The server's monitor port answers JSON, not Prometheus text; the exporter sidecar translates.
    It needs no volume and no write access: every scrape reads the server afresh."""
    image = env.monitoring.exporter_image
    if not image:
        raise ValueError(f"{env.file}: monitoring.exporter_image is required in kubernetes mode "
                         "with monitoring enabled")
    return {
        "name": EXPORTER_CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-m", EXPORTER_MODULE],
        "args": exporter_args(env),
        "ports": [{"name": METRICS_PORT_NAME, "containerPort": env.monitoring.port, "protocol": "TCP"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": METRICS_PORT_NAME}, "periodSeconds": 30,
                          "timeoutSeconds": 5, "failureThreshold": 3},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
    }


def metrics_service(env: Environment) -> Manifest:
    """The headless ``nats-metrics`` Service through which Prometheus scrapes every pod's exporter.

    Headless, so its endpoints (and its DNS name) are the pods themselves: each exporter is
    scraped on its own. Not-ready pods are listed too: a server still catching up is exactly when
    its metrics matter.
    """
    meta = _meta(env, METRICS_SERVICE_NAME)
    meta["annotations"] = {"prometheus.io/scrape": "true", "prometheus.io/port": str(env.monitoring.port),
                           "prometheus.io/path": METRICS_PATH}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta,
            "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": labels(env),
                     "ports": _service_ports([(METRICS_PORT_NAME, env.monitoring.port)])}}


def _pod_annotations(env: Environment, conf_hash: str) -> dict[str, str]:
    """Only the config hash: scraping is announced on the metrics Service (see the module docstring)."""
    return {CONFIG_HASH_ANNOTATION: conf_hash}


def stateful_set(env: Environment, conf_hash: str) -> Manifest:
    """The servers' StatefulSet, mounting the ConfigMap of ``conf_hash``, with one data volume per pod.

    ``Parallel`` pod management: with ``OrderedReady`` pod 0 would wait to be Ready before pod 1
    starts, but readiness needs a JetStream quorum, which needs pod 1: a deadlock. Rolling updates
    still go one pod at a time. ``volumeClaimTemplates`` cannot be changed on a live StatefulSet;
    a new ``storage_size`` or class means replacing it (the PVCs stay and are reused by name).
    """
    s = env.servers
    if not s.image:
        raise ValueError(f"{env.file}: servers.image is required in kubernetes mode")
    volumes: list[dict[str, Any]] = [{"name": "config", "configMap": {"name": config_map_name(conf_hash)}},
                                     {"name": PID_VOLUME, "emptyDir": {}}]
    if env.tls is not None:
        if not env.tls.secret_name:
            raise ValueError(f"{env.file}: tls.secret_name is required in kubernetes mode")
        volumes.append({"name": "tls", "secret": {"secretName": env.tls.secret_name}})
    budget = server_budget(env)
    containers = [_server_container(env, budget)]
    if env.monitoring.enabled:
        containers.append(_exporter_container(env))
    pvc_spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": _quantity(_storage_size(env))}}}
    if s.storage_class:
        pvc_spec["storageClassName"] = s.storage_class
    meta = _meta(env, STATEFULSET_NAME)
    meta["annotations"] = _stateful_set_annotations(env)
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta,
        "spec": {
            "serviceName": HEADLESS_SERVICE_NAME,
            "replicas": s.replicas,
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate"},
            "selector": {"matchLabels": labels(env)},
            "template": {
                "metadata": {"labels": labels(env), "annotations": _pod_annotations(env, conf_hash)},
                "spec": {
                    "containers": containers,
                    "volumes": volumes,
                    "terminationGracePeriodSeconds": budget.termination_grace_period_s,
                    # Spread over nodes when possible, so losing a node loses at most one server.
                    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                   "whenUnsatisfiable": "ScheduleAnyway",
                                                   "labelSelector": {"matchLabels": labels(env)}}],
                },
            },
            "volumeClaimTemplates": [{"metadata": {"name": DATA_VOLUME, "labels": labels(env)},
                                      "spec": pvc_spec}],
        },
    }


def _stateful_set_annotations(env: Environment) -> dict[str, str]:
    """``pulumi.com/patchForce``: the environment file owns ``replicas`` and the pod template. A
    ``kubectl scale`` or ``edit`` makes kubectl the owner of those fields under server-side apply,
    and the next preview/up would stop on a field conflict; forcing lets ``up`` take them back
    (``preview --refresh`` shows the drift as an update first). ``pulumi.com/skipAwait`` with
    ``servers.await_ready: false``: ``up`` does not wait for the pods to become Ready."""
    out = {PATCH_FORCE_ANNOTATION: "true"}
    if not env.servers.await_ready:
        out[SKIP_AWAIT_ANNOTATION] = "true"
    return out


def _storage_size(env: Environment) -> int:
    size: Optional[int] = env.servers.storage_size
    if not size:
        raise ValueError(f"{env.file}: servers.storage_size is required in kubernetes mode")
    return size


def pod_disruption_budget(env: Environment) -> Manifest:
    """The PodDisruptionBudget that allows at most one server down by choice (drains, upgrades).

    For 3 servers that is the quorum; for 5 it is stricter than quorum on purpose, because an R3
    stream may have two of its three replicas among any two pods. With one server it still lets a
    drain proceed rather than block it.
    """
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(env, PDB_NAME),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels(env)}}}


def cluster_manifests(env: Environment, operator_jwt: str, system_account: str,
                      system_account_jwt: str) -> list[Manifest]:
    """All objects of the hub cluster, in the order they can be applied (namespace first).

    The metrics Service is among them only with ``monitoring.enabled``.
    """
    text = nats_conf(env, operator_jwt, system_account, system_account_jwt)
    services = [headless_service(env), client_service(env)]
    if env.monitoring.enabled:
        services.append(metrics_service(env))
    return [namespace(env), config_map(env, text), *services,
            stateful_set(env, config_hash(text)), pod_disruption_budget(env)]


def creds_secret_name(tenant_id: str, user: str) -> str:
    """``<tenant>-<user>-creds``: tenant ids and user names are DNS labels already."""
    return f"{tenant_id}-{user}-creds"


def creds_secret(env: Environment, tenant_id: str, user: str, creds: str) -> Manifest:
    """One tenant user's ``.creds`` file as a Secret in ``servers.creds_namespace`` (key ``user.creds``).

    Workloads mount it. ``creds`` is the file's text; the caller passes it as a Pulumi secret, so
    it is encrypted in the state and hidden in previews.
    """
    ns = env.servers.creds_namespace
    if env.servers.mode is not ServerMode.KUBERNETES or not ns:
        raise ValueError(f"{env.file}: servers.creds_namespace is needed for creds Secrets")
    meta = {"name": creds_secret_name(tenant_id, user), "namespace": ns,
            "labels": {**labels(env), TENANT_LABEL: tenant_id, USER_LABEL: user}}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
            "stringData": {CREDS_KEY: creds}}


def creds_namespace(env: Environment) -> Optional[Manifest]:
    """The creds namespace, when it is not the servers' own (that one exists already)."""
    ns = env.servers.creds_namespace
    if not ns or ns == env.servers.namespace:
        return None
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels(env)}}
