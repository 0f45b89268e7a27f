"""The prod stack end to end: the real Pulumi CLI and the built Kubernetes provider against a real
kube-apiserver (with its controllers), identity and JetStream against a real nats-server.

What each test shows:
- lifecycle: preview (every object planned), up (every object accepted and stored by the API
  server), a second preview with nothing to do, drift made with kubectl shown by
  ``preview --refresh`` and undone by ``up``, destroy leaving nothing behind;
- a config change: the rendered server config changes, the preview shows an update of the
  StatefulSet (never a replace), and after ``up`` the same StatefulSet (same uid, same claims) has a
  new revision whose pod template names a new content-named ConfigMap;
- creds Secrets: one per tenant user holding exactly the creds the stack outputs, encrypted in the
  state, updated by a rotation and deleted by an offboarding.
"""
from __future__ import annotations

import base64
import time
from typing import Any, Iterator

import pytest

from tests.k8s.prod_stack import AMBIENT_WARNING, ProdStack, ops_by_name, prod_like_environment
from tests.support.kube_cluster import KubeCluster

NS = "nats"
CREDS_NS = "apps"
CLUSTER_OBJECTS = [("namespace", NS), ("service", "nats", "-n", NS), ("service", "nats-headless", "-n", NS),
                   ("service", "nats-metrics", "-n", NS), ("statefulset", "nats", "-n", NS),
                   ("poddisruptionbudget", "nats", "-n", NS), ("namespace", CREDS_NS)]


@pytest.fixture
def stack(tmp_path: Any, kube: KubeCluster, pulumi_home: str, request: pytest.FixtureRequest) -> Iterator[ProdStack]:
    s = ProdStack(str(tmp_path), kube, pulumi_home, kubeconfig_from=getattr(request, "param", "config"))
    try:
        yield s
    finally:
        try:
            if s.project.log and s.project.log[-1].args[1:2] != ["destroy"]:
                s.project.destroy(check=False, timeout=300)
        finally:
            s.stop()


def config_map_names(kube: KubeCluster) -> list[str]:
    items = kube.get_json("configmaps", "-n", NS, "-l", "app.kubernetes.io/name=nats")["items"]
    return sorted(i["metadata"]["name"] for i in items)


def secret_creds(kube: KubeCluster, name: str) -> str:
    data = kube.get_json("secret", name, "-n", CREDS_NS)["data"]
    return base64.b64decode(data["user.creds"]).decode()


def wait_until(check: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_lifecycle_preview_up_drift_destroy(stack: ProdStack, kube: KubeCluster) -> None:
    times: dict[str, float] = {}
    t = time.monotonic()
    planned = ops_by_name(stack.steps())
    times["first preview"] = time.monotonic() - t
    for name in ("prod-cluster-namespace", "prod-cluster-config", "prod-cluster-statefulset", "prod-cluster-client",
                 "prod-cluster-headless", "prod-cluster-metrics", "prod-cluster-pdb", "creds-acme-service"):
        assert planned.get(name) == ["create"], (name, planned.get(name))

    times.update(stack.bring_up())
    for obj in CLUSTER_OBJECTS:
        assert kube.exists(*obj), obj
    sts = kube.get_json("statefulset", "nats", "-n", NS)
    assert sts["spec"]["replicas"] == 3
    (cm_name,) = config_map_names(kube)
    assert sts["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == cm_name
    assert "operator:" in kube.get_json("configmap", cm_name, "-n", NS)["data"]["nats.conf"]
    # The controllers act on what the stack applied: the StatefulSet made its pods (Pending: no kubelet).
    wait_until(lambda: len(kube.get_json("pods", "-n", NS)["items"]) == 3, "3 pods of the StatefulSet")

    t = time.monotonic()
    assert stack.steps() == [], "a second preview must have nothing to do"
    times["second preview"] = time.monotonic() - t

    kube.kubectl("scale", "statefulset", "nats", "-n", NS, "--replicas=1")
    t = time.monotonic()
    drift = ops_by_name(stack.steps("--refresh"))
    times["preview --refresh"] = time.monotonic() - t
    assert drift == {"prod-cluster-statefulset": ["update"]}, drift
    # preview --refresh reads the live object but keeps the state; refresh records the drift, and
    # the next up takes the StatefulSet back to the environment file's 3 servers.
    t = time.monotonic()
    refresh = stack.project.refresh()
    times["refresh"] = time.monotonic() - t
    assert "prod-cluster-statefulset" in refresh.stdout
    assert ops_by_name(stack.steps()) == {"prod-cluster-statefulset": ["update"]}
    t = time.monotonic()
    stack.project.up()
    times["up (restore)"] = time.monotonic() - t
    assert kube.get_json("statefulset", "nats", "-n", NS)["spec"]["replicas"] == 3

    assert not AMBIENT_WARNING.search(stack.cli_output()), "the plugin must come from PULUMI_HOME, not PATH"
    t = time.monotonic()
    stack.project.destroy(timeout=300)
    times["destroy"] = time.monotonic() - t
    for obj in CLUSTER_OBJECTS:
        assert not kube.exists(*obj), obj
    print("prod stack steps (s): " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))


@pytest.mark.parametrize("stack", ["env"], indirect=True)
def test_config_change_updates_the_statefulset_in_place(stack: ProdStack, kube: KubeCluster) -> None:
    """Kubeconfig from KUBECONFIG this time (no kubernetes:kubeconfig in the stack config)."""
    stack.bring_up()
    before = kube.get_json("statefulset", "nats", "-n", NS)
    (old_cm,) = config_map_names(kube)
    wait_until(lambda: len(kube.get_json("pvc", "-n", NS)["items"]) == 3, "the 3 data claims")
    claims = {p["metadata"]["name"]: p["metadata"]["uid"] for p in kube.get_json("pvc", "-n", NS)["items"]}

    doc = prod_like_environment()
    doc["jetstream"]["max_memory"] = "512MiB"     # rendered into nats.conf: a config change
    stack.write_environment(doc)
    plan = ops_by_name(stack.steps())
    assert plan["prod-cluster-statefulset"] == ["update"], plan
    assert plan["prod-cluster-config"] == ["replace"], plan     # a new name: created before the old goes
    assert set(plan) == {"prod-cluster-statefulset", "prod-cluster-config"}, plan
    preview = stack.project.preview()
    assert "replace" not in [line for line in preview.stdout.splitlines() if "StatefulSet" in line][0]

    stack.project.up()
    after = kube.get_json("statefulset", "nats", "-n", NS)
    (new_cm,) = config_map_names(kube)
    assert new_cm != old_cm
    assert after["metadata"]["uid"] == before["metadata"]["uid"], "the StatefulSet must not be replaced"
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert after["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == new_cm
    assert f"max_memory_store: {512 * 1024 ** 2}" in kube.get_json("configmap", new_cm, "-n", NS)["data"]["nats.conf"]
    # The controller starts a rolling update: a new revision for the pods to move to.
    wait_until(lambda: kube.get_json("statefulset", "nats", "-n", NS).get("status", {}).get("updateRevision")
               not in (None, before.get("status", {}).get("updateRevision")), "a new update revision")
    assert {p["metadata"]["name"]: p["metadata"]["uid"] for p in kube.get_json("pvc", "-n", NS)["items"]} == claims
    assert stack.steps() == []


def test_creds_secrets_follow_rotation_and_offboarding(stack: ProdStack, kube: KubeCluster) -> None:
    stack.bring_up()
    outputs = stack.project.outputs(show_secrets=True)
    names = sorted(i["metadata"]["name"] for i in kube.get_json("secrets", "-n", CREDS_NS)["items"])
    assert names == sorted(f"{t}-{u}-creds" for t in ("acme", "globex") for u in ("leaf", "reader", "service"))
    for tenant in ("acme", "globex"):
        for user in ("leaf", "reader", "service"):
            creds = outputs["tenants"][tenant]["creds"][user]
            assert "-----BEGIN USER NKEY SEED-----" in creds
            assert secret_creds(kube, f"{tenant}-{user}-creds") == creds
            assert creds.splitlines()[-3] not in stack.project.export_state()   # seed line: never in clear
    old_service = secret_creds(kube, "acme-service-creds")

    doc = prod_like_environment()
    doc["tenants"][0]["credentials"] = {"users": {"service": 2}}     # rotate acme's service creds
    stack.write_environment(doc)
    plan = ops_by_name(stack.steps())
    assert plan["creds-acme-service"] == ["update"], plan       # in place (enableSecretMutable)
    assert "creds-acme-reader" not in plan, plan
    stack.project.up()
    rotated = secret_creds(kube, "acme-service-creds")
    assert rotated != old_service
    assert rotated == stack.project.outputs(show_secrets=True)["tenants"]["acme"]["creds"]["service"]

    doc["tenants"] = doc["tenants"][:1]                               # offboard globex
    doc["data_protection"] = {"allow_data_loss": ["GLOBEX_ORDERS_LIVE"]}
    stack.write_environment(doc)
    stack.project.up()
    names = sorted(i["metadata"]["name"] for i in kube.get_json("secrets", "-n", CREDS_NS)["items"])
    assert names == ["acme-leaf-creds", "acme-reader-creds", "acme-service-creds"]
    assert secret_creds(kube, "acme-service-creds") == rotated
    assert "-----BEGIN USER NKEY SEED-----" not in stack.cli_output()
