"""A real Kubernetes control plane on loopback ports: etcd, kube-apiserver, kube-controller-manager.

    cluster = KubeCluster.start(workdir)
    cluster.kubectl("get", "namespaces")
    ...
    cluster.stop()

The binaries are the ones the setup builds from Go modules (``.tools/kube-v<version>/bin``) and
Debian's ``etcd``. Every start makes a fresh PKI with openssl (a CA, the API server's serving
certificate for 127.0.0.1, an admin client certificate in ``system:masters`` and the service-account
key pair), so nothing here is a fixed secret. There is no kubelet and no scheduler: objects are
accepted, stored and reconciled by the controllers, but pods stay ``Pending``.

Why each unusual flag:
- ``--endpoint-reconciler-type=none``: the default reconciler publishes the advertise address as the
  ``kubernetes`` Service endpoint and refuses a loopback one;
- controller-manager ``--controllers=*``: deletes wait for controllers (foreground deletion for the
  garbage collector, a Namespace for the namespace controller, PVCs for the protection controller),
  so without them ``pulumi destroy`` hangs;
- ``--secure-port=0`` on the controller-manager: it needs no serving endpoint here and so no
  delegated authentication setup.
"""
from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Optional

from components.providers.nats_process import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def kube_version() -> str:
    with open(os.path.join(ROOT, "tools", "kube", "version.env"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("KUBE_VERSION="):
                return line.split("=", 1)[1].strip()
    raise RuntimeError("tools/kube/version.env has no KUBE_VERSION")


def kube_bin() -> str:
    return os.path.join(ROOT, ".tools", f"kube-v{kube_version()}", "bin")


def _which(name: str) -> Optional[str]:
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


def missing_control_plane() -> Optional[str]:
    """Why a control plane cannot start here, or None when it can."""
    for name in ("kube-apiserver", "kube-controller-manager", "kubectl"):
        if not os.access(os.path.join(kube_bin(), name), os.X_OK):
            return f"{name} is not built: run `make setup` (scripts/setup.sh builds it from Go modules)"
    for name in ("etcd", "openssl"):
        if _which(name) is None:
            return f"no {name} on PATH: install it (apt-get install {'etcd-server' if name == 'etcd' else name})"
    return None


def _openssl(workdir: str, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=workdir, check=True, capture_output=True, text=True)


def make_pki(d: str) -> None:
    """CA, serving cert (SAN 127.0.0.1/localhost), admin client cert, service-account key pair."""
    os.makedirs(d, exist_ok=True)
    _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "2", "-subj", "/CN=nats-tenancy-test-ca")
    with open(os.path.join(d, "server.ext"), "w", encoding="utf-8") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n"
                "extendedKeyUsage=serverAuth\n")
    with open(os.path.join(d, "client.ext"), "w", encoding="utf-8") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for name, subj, ext in (("apiserver", "/CN=kube-apiserver", "server.ext"),
                            ("admin", "/O=system:masters/CN=nats-tenancy-admin", "client.ext")):
        _openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", subj)
        _openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "2", "-extfile", ext)
    _openssl(d, "genrsa", "-out", "sa.key", "2048")
    _openssl(d, "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")


def _kubeconfig(server: str, pki: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": "nats-tenancy-test",
        "clusters": [{"name": "test", "cluster": {"server": server,
                                                  "certificate-authority": os.path.join(pki, "ca.crt")}}],
        "users": [{"name": "admin", "user": {"client-certificate": os.path.join(pki, "admin.crt"),
                                             "client-key": os.path.join(pki, "admin.key")}}],
        "contexts": [{"name": "nats-tenancy-test", "context": {"cluster": "test", "user": "admin"}}],
    }


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen
    log_path: str

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self, timeout: float = 15) -> None:
        """Stop this one process by its PID: SIGTERM, then SIGKILL after ``timeout``."""
        if self.popen.poll() is not None:
            return
        os.kill(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


@dataclass
class KubeCluster:
    workdir: str
    server: str
    kubeconfig: str
    procs: list[_Proc] = field(default_factory=list)

    @classmethod
    def start(cls, workdir: str, timeout: float = 60) -> "KubeCluster":
        os.makedirs(workdir, exist_ok=True)
        pki = os.path.join(workdir, "pki")
        make_pki(pki)
        api_port = free_port()
        cluster = cls(workdir, f"https://127.0.0.1:{api_port}", os.path.join(workdir, "kubeconfig"))
        with open(cluster.kubeconfig, "w", encoding="utf-8") as f:
            json.dump(_kubeconfig(cluster.server, pki), f, indent=1)
        try:
            etcd_url = cluster._start_etcd()
            cluster._spawn("kube-apiserver", [
                os.path.join(kube_bin(), "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={api_port}",
                f"--cert-dir={os.path.join(workdir, 'apiserver-certs')}",
                f"--tls-cert-file={pki}/apiserver.crt", f"--tls-private-key-file={pki}/apiserver.key",
                f"--client-ca-file={pki}/ca.crt",
                f"--service-account-key-file={pki}/sa.pub", f"--service-account-signing-key-file={pki}/sa.key",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--service-cluster-ip-range=10.96.0.0/24",
                "--authorization-mode=Node,RBAC",
                "--endpoint-reconciler-type=none",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
            ])
            cluster._wait_ready(timeout)
            cluster._spawn("kube-controller-manager", [
                os.path.join(kube_bin(), "kube-controller-manager"),
                f"--kubeconfig={cluster.kubeconfig}",
                "--controllers=*", "--leader-elect=false", "--secure-port=0",
                f"--service-account-private-key-file={pki}/sa.key", f"--root-ca-file={pki}/ca.crt",
                f"--cluster-signing-cert-file={pki}/ca.crt", f"--cluster-signing-key-file={pki}/ca.key",
                "--use-service-account-credentials=false",
                "--profiling=false",
            ])
            cluster._wait_controllers(timeout)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _spawn(self, name: str, cmd: list[str]) -> _Proc:
        log_path = os.path.join(self.workdir, f"{name}.log")
        with open(log_path, "wb") as log:
            popen = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        proc = _Proc(name, popen, log_path)
        self.procs.append(proc)
        return proc

    def _start_etcd(self) -> str:
        client, peer = free_port(), free_port()
        url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
        self._spawn("etcd", ["etcd", "--name", "test", "--data-dir", os.path.join(self.workdir, "etcd"),
                             "--listen-client-urls", url, "--advertise-client-urls", url,
                             "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                             "--initial-cluster", f"test={peer_url}", "--log-level", "warn"])
        return url

    def _ssl_context(self) -> ssl.SSLContext:
        pki = os.path.join(self.workdir, "pki")
        ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
        ctx.load_cert_chain(os.path.join(pki, "admin.crt"), os.path.join(pki, "admin.key"))
        return ctx

    def get(self, path: str) -> tuple[int, str]:
        """One GET on the API server as the admin: (status, body)."""
        try:
            with urllib.request.urlopen(self.server + path, context=self._ssl_context(), timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def _check_running(self) -> None:
        for p in self.procs:
            if p.popen.poll() is not None:
                raise RuntimeError(f"{p.name} exited with {p.popen.returncode}:\n{p.log()[-3000:]}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            self._check_running()
            try:
                status, body = self.get("/readyz")
                if status == 200:
                    return
                last = f"{status} {body[-500:]}"
            except OSError as e:
                last = str(e)
            time.sleep(0.3)
        raise RuntimeError(f"kube-apiserver not ready in {timeout}s: {last}")

    def _wait_controllers(self, timeout: float) -> None:
        """The service-account controller creates ``default/default`` once it runs: the sign that the
        controllers (and so deletions) work."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_running()
            if self.get("/api/v1/namespaces/default/serviceaccounts/default")[0] == 200:
                return
            time.sleep(0.3)
        raise RuntimeError(f"kube-controller-manager did not start its controllers in {timeout}s")

    def kubectl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        proc = subprocess.run([os.path.join(kube_bin(), "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def get_json(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def exists(self, *args: str) -> bool:
        proc = self.kubectl("get", *args, "-o", "name", check=False)
        if proc.returncode == 0:
            return True
        if "NotFound" in proc.stderr:
            return False
        raise AssertionError(f"kubectl get {' '.join(args)}: {proc.stderr}")

    def stop(self) -> None:
        """Stop the processes this cluster started, by PID, newest first (controllers before etcd)."""
        for p in reversed(self.procs):
            p.stop()
