"""The TLS side of every connection the adapter opens (resolver pushes, JetStream API, the ops
tools), for servers with ``tls`` set: which CA to trust and, where the servers ``verify`` client
certificates, which certificate to present.

Read from the environment of the process that connects (the Pulumi CLI hands its environment to
the provider processes), not from stack state, so a key file's path or content never lands in state:

- ``NATS_TENANCY_TLS_CA``: PEM file of the CA that signed the servers' certificates;
- ``NATS_TENANCY_TLS_CERT`` and ``NATS_TENANCY_TLS_KEY``: PEM files of the client certificate and
  its key (both or neither).

Without them, a server that requires TLS is reached with Python's default context (the system's
CAs, or ``SSL_CERT_FILE``), exactly as nats-py does by itself. The context allows TLS 1.3 only,
the platform's minimum.
"""
from __future__ import annotations

import os
import ssl
from typing import Mapping, Optional

from components.nats_io.errors import TlsSettingsError

CA_ENV = "NATS_TENANCY_TLS_CA"
CERT_ENV = "NATS_TENANCY_TLS_CERT"
KEY_ENV = "NATS_TENANCY_TLS_KEY"


def client_context(environ: Optional[Mapping[str, str]] = None) -> Optional[ssl.SSLContext]:
    """An SSL context from the variables above, or None when none of them is set."""
    env = os.environ if environ is None else environ
    ca, cert, key = (env.get(k) or None for k in (CA_ENV, CERT_ENV, KEY_ENV))
    if not (ca or cert or key):
        return None
    if bool(cert) != bool(key):
        missing = KEY_ENV if cert else CERT_ENV
        raise TlsSettingsError(f"{CERT_ENV} and {KEY_ENV} go together: set {missing} as well, or unset both")
    for name, path in ((CA_ENV, ca), (CERT_ENV, cert), (KEY_ENV, key)):
        if path and not os.path.isfile(path):
            raise TlsSettingsError(f"{name}={path}: no such file (fix: give the path of a PEM file)")
    try:
        ctx = ssl.create_default_context(cafile=ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        if cert and key:
            ctx.load_cert_chain(cert, key)
    except ssl.SSLError as e:
        raise TlsSettingsError(f"TLS files from {CA_ENV}/{CERT_ENV}/{KEY_ENV} are not usable: {e}") from None
    return ctx
