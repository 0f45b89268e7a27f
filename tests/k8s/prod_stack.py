"""The prod stack of this project, run through the real Pulumi CLI against the test API server.

The Kubernetes objects go to the API server; identity and JetStream go to ``nats-tenancy:natsUrl``.
Pods never run there (no kubelet), so that URL is a local cluster of three nats-servers in operator
mode (as many as the StatefulSet's replicas: the resolver push waits for every server) that trusts
the stack's own operator, which is how the servers in the cluster come up: the stack creates the
operator first (``up --target`` its URN), the test reads the operator JWT and the system account
from the state (public values, stored in clear) and starts the servers with them on the ports the
stack config already names, then the full ``up`` pushes the accounts there.
"""
from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import yaml

from components.model.render.hub_conf import local_member_conf
from components.model.render.server_conf import render_server_conf
from components.providers import nats_process
from tests.server.cluster.cluster_support import cluster_environment, free_port_bases
from tests.support.kube_cluster import KubeCluster
from tests.support.pulumi_cli import PulumiProject, Result

HERE = os.path.dirname(os.path.abspath(__file__))
PROD_LIKE = os.path.join(HERE, "environments", "prod-like.yaml")
STACK = "prod"
PROJECT = "nats-tenancy"
ESTATE_URN = f"urn:pulumi:{STACK}::{PROJECT}::nats-tenancy:index:Estate::nats"
OPERATOR_URN = f"urn:pulumi:{STACK}::{PROJECT}::nats-tenancy:index:Estate$pulumi-python:dynamic/nats:Operator::operator"
#: The local servers' JetStream limits: they must hold every tenant's reservation (prod-like.yaml).
LOCAL_JETSTREAM = "jetstream: {max_memory: 256MiB, max_file: 1GiB}\n"
AMBIENT_WARNING = re.compile(r"using pulumi-resource-kubernetes from \$PATH")


def prod_like_environment() -> dict[str, Any]:
    with open(PROD_LIKE, encoding="utf-8") as f:
        return yaml.safe_load(f)


class ProdStack:
    """``kubeconfig_from``: ``"config"`` sets ``kubernetes:kubeconfig`` in the stack config,
    ``"env"`` passes ``KUBECONFIG`` to the CLI instead."""

    def __init__(self, workdir: str, kube: KubeCluster, pulumi_home: str, kubeconfig_from: str = "config"):
        self.workdir = workdir
        self.kube = kube
        self.project = PulumiProject(os.path.join(workdir, "cli"), stack=STACK)
        self.project.extra_env.update(PULUMI_HOME=pulumi_home, PULUMI_IGNORE_AMBIENT_PLUGINS="true")
        # client, monitor, leafnode, cluster base ports of the three local servers (member i: base + i);
        # natsUrl must be set for the first preview, so these are chosen now and again at start.
        self.ports = free_port_bases(3)
        self.local_env = cluster_environment(3, LOCAL_JETSTREAM, ports=self.ports, stack="k8s-test")
        self.server_pids: list[int] = []
        config = {"nats-tenancy:natsUrl": f"nats://127.0.0.1:{self.ports[0]}",
                  "kubernetes:enableSecretMutable": "true"}     # as Pulumi.prod.yaml has it
        if kubeconfig_from == "config":
            config["kubernetes:kubeconfig"] = kube.kubeconfig
            config["kubernetes:context"] = "nats-tenancy-test"
            # Nothing ambient may be used: a wrong cluster would fail, not pass.
            self.project.extra_env["KUBECONFIG"] = os.path.join(workdir, "no-such-kubeconfig")
        else:
            self.project.extra_env["KUBECONFIG"] = kube.kubeconfig
        self.write_environment(prod_like_environment())
        self.project.init(config=config)

    def write_environment(self, doc: dict[str, Any]) -> None:
        self.project.write_environment(yaml.safe_dump(doc, sort_keys=False))

    # --- the two-phase first up --------------------------------------------------------------
    def create_operator(self) -> Result:
        return self.project.up("--target", ESTATE_URN, "--target", OPERATOR_URN)   # the parent must come too

    def operator_outputs(self) -> dict[str, Any]:
        state = json.loads(self.project.export_state())
        for res in state["deployment"]["resources"]:
            if res["urn"] == OPERATOR_URN:
                return res["outputs"]
        raise AssertionError("no operator in the state")

    def start_servers(self) -> list[int]:
        """Three routed nats-servers trusting the stack's operator, rendered by the same code as the
        ConfigMap's nats.conf (``hub_conf.local_member_conf``), the system account preloaded; the
        first one listens on the port natsUrl names. Returns their PIDs."""
        out = self.operator_outputs()
        assert isinstance(out["operator_jwt"], str) and isinstance(out["system_account_jwt"], str)
        # Ports picked again just before the start (the ones of __init__ may be taken by now),
        # and natsUrl set to the new client port.
        self.ports = free_port_bases(3)
        self.local_env = cluster_environment(3, LOCAL_JETSTREAM, ports=self.ports, stack="k8s-test")
        self.project.run("config", "set", "--stack", STACK, "nats-tenancy:natsUrl", f"nats://127.0.0.1:{self.ports[0]}")
        for i in range(self.local_env.servers.replicas):
            d = os.path.join(self.workdir, f"nats-{i}")
            os.makedirs(d, exist_ok=True)
            conf = local_member_conf(self.local_env, i, data_dir=d, operator_jwt=out["operator_jwt"],
                                     system_account=out["system_account_public_key"],
                                     system_account_jwt=out["system_account_jwt"])
            path = os.path.join(d, "nats.conf")
            with open(path, "w", encoding="utf-8") as f:
                f.write(render_server_conf(conf))
            nats_process.check_config_file(path)
            self.server_pids.append(nats_process.start_detached(path, os.path.join(d, "nats.log")))
        for i, pid in enumerate(self.server_pids):
            nats_process.wait_healthy(f"http://127.0.0.1:{self.ports[1] + i}", pid,
                                      os.path.join(self.workdir, f"nats-{i}", "nats.log"), timeout=60)
        return self.server_pids

    def bring_up(self) -> dict[str, float]:
        """Operator, server, then the whole stack; returns the duration of each CLI step."""
        times: dict[str, float] = {}
        t = time.monotonic()
        self.create_operator()
        times["up --target operator"] = time.monotonic() - t
        self.start_servers()
        t = time.monotonic()
        self.project.up()
        times["up"] = time.monotonic() - t
        return times

    def stop(self) -> None:
        """Stop the servers this stack's test started, by PID."""
        while self.server_pids:
            pid = self.server_pids.pop()
            nats_process.stop(pid)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass

    # --- reading the result ---------------------------------------------------------------------
    def steps(self, *extra: str) -> list[dict[str, Any]]:
        """Changing steps of ``pulumi preview --json`` (every op but ``same``)."""
        res = self.project.run("preview", "--stack", STACK, "--json", *extra)
        return [s for s in json.loads(res.stdout).get("steps", []) if s.get("op") != "same"]

    def cli_output(self) -> str:
        return self.project.all_cli_output()


def ops_by_name(steps: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Resource name (the URN's last part) -> its ops, in order; the reads of ``--refresh``
    (op ``refresh``) left out, so what remains is what an ``up`` would change."""
    out: dict[str, list[str]] = {}
    for s in steps:
        if s["op"] != "refresh":
            out.setdefault(s["urn"].rsplit("::", 1)[-1], []).append(s["op"])
    return out
