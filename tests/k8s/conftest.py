"""Fixtures for the Kubernetes tier: one control plane per test session (etcd, kube-apiserver,
kube-controller-manager on free loopback ports) and a Pulumi home holding the built Kubernetes
provider plugin, so the CLI loads it as an installed plugin (not from PATH)."""
from __future__ import annotations

import os
import subprocess
from typing import Iterator

import pytest

from tests.support.kube_cluster import KubeCluster, missing_control_plane
from tests.support.pulumi_cli import ROOT, _versions, missing_toolchain, toolchain_bin


def kubernetes_plugin() -> str:
    v = _versions()["KUBERNETES_VERSION"]
    return os.path.join(ROOT, ".tools", f"kubernetes-v{v}", "bin", "pulumi-resource-kubernetes")


@pytest.fixture(scope="session")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    why = missing_control_plane()
    if why:
        pytest.skip(why)
    cluster = KubeCluster.start(str(tmp_path_factory.mktemp("kube")))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pulumi_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PULUMI_HOME with `pulumi plugin install resource kubernetes v<version> --file <built binary>`."""
    why = missing_toolchain()
    if why:
        pytest.skip(why)
    plugin = kubernetes_plugin()
    if not os.access(plugin, os.X_OK):
        pytest.skip(f"{plugin} is not built: run `make setup`")
    home = str(tmp_path_factory.mktemp("pulumi-home"))
    env = {**os.environ, "PULUMI_HOME": home, "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
           "PULUMI_SKIP_UPDATE_CHECK": "true"}
    version = "v" + _versions()["KUBERNETES_VERSION"]
    subprocess.run([os.path.join(toolchain_bin(), "pulumi"), "plugin", "install", "resource", "kubernetes",
                    version, "--file", plugin], env=env, check=True, capture_output=True, text=True)
    return home
