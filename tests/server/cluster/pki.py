"""A throwaway PKI made with the openssl CLI: a CA, a server certificate for 127.0.0.1 (server and
client usage, since routes are both), client certificates. Keys are EC P-256, valid one day."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

import pytest


def _openssl(*args: str, cwd: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@dataclass(frozen=True)
class Pki:
    dir: str

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)


def _key(name: str, cwd: str) -> None:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f"{name}.key", cwd=cwd)


def _ca(name: str, cwd: str) -> None:
    _key(name, cwd)
    _openssl("req", "-x509", "-new", "-key", f"{name}.key", "-out", f"{name}.pem", "-days", "1",
             "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=cwd)


def _signed(name: str, ca: str, usage: str, cwd: str, san: str = "") -> None:
    _key(name, cwd)
    _openssl("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=cwd)
    ext = os.path.join(cwd, f"{name}.ext")
    with open(ext, "w", encoding="ascii") as f:
        f.write(f"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage={usage}\n")
        if san:
            f.write(f"subjectAltName={san}\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-out", f"{name}.pem", "-days", "1", "-extfile", ext, cwd=cwd)


def make_pki(directory: str) -> Pki:
    """``ca``/``server``/``client`` and, from a second CA ``other-ca``, ``stranger`` (a client)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: the TLS tests make their CA with it")
    os.makedirs(directory, exist_ok=True)
    _ca("ca", directory)
    _signed("server", "ca", "serverAuth,clientAuth", directory, san="IP:127.0.0.1,DNS:localhost")
    _signed("client", "ca", "clientAuth", directory)
    _ca("other-ca", directory)
    _signed("stranger", "other-ca", "clientAuth", directory)
    return Pki(directory)
