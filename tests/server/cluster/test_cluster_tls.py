"""TLS on a three-server cluster as seed 002 asks: client and route TLS with a self-made CA, TLS 1.3
minimum, client certificates verified, the allowed cipher suites rendered; clients with a wrong
CA, without a certificate, with a certificate of another CA, or limited to TLS 1.2 are refused.

What the cipher-suite list does: nats-server 2.15 accepts the TLS 1.3 suite names in
``cipher_suites``, but Go's TLS stack enables every TLS 1.3 suite and applies such a list only to
TLS 1.2 and below, which ``min_version: "1.3"`` already refuses. The test records the suite the
server negotiates; it claims TLS 1.3 and nothing about the list narrowing the choice.
"""
from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any, Iterator, Optional

import nats
import pytest
from nats.aio.client import RawCredentials

from components.model.environment.servers import TLS13_CIPHER_SUITES
from components.nats_io import tls as tls_client
from tests.server.cluster.cluster_support import LocalCluster, cluster_environment
from tests.server.cluster.pki import Pki, make_pki
from tests.server.cluster.publisher import create_stream

SUITES = ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]


@pytest.fixture
def tls_cluster(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalCluster, Pki]]:
    pki = make_pki(str(tmp_path / "pki"))
    # the project's own resolver pushes (and JetStream API calls) reach the servers over verified TLS
    monkeypatch.setenv(tls_client.CA_ENV, pki.path("ca.pem"))
    monkeypatch.setenv(tls_client.CERT_ENV, pki.path("client.pem"))
    monkeypatch.setenv(tls_client.KEY_ENV, pki.path("client.key"))
    tls = (f"tls: {{cert_file: {pki.path('server.pem')}, key_file: {pki.path('server.key')}, "
           f"ca_file: {pki.path('ca.pem')}, verify: true, min_version: \"1.3\", "
           f"cipher_suites: [{', '.join(SUITES)}]}}\n")
    c = LocalCluster(cluster_environment(3, tls), str(tmp_path / "cluster"))
    try:
        c.start_all()
        c.wait_routes()
        yield c, pki
    finally:
        c.stop_all()


def tls_handshake(port: int, ctx: ssl.SSLContext, read: bool = False) -> str:
    """TLS straight away on ``port`` (how routes with TLS start); the negotiated version.

    ``read``: also wait for the server's first bytes. In TLS 1.3 the server checks the client's
    certificate after the client has finished its handshake, so a refusal shows on the first read.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            if read:
                tls.recv(1)
            return str(tls.version())


def context(pki: Pki, ca: str = "ca.pem", cert: Optional[str] = "client", max_version: Optional[ssl.TLSVersion] = None
            ) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=pki.path(ca))
    if cert:
        ctx.load_cert_chain(pki.path(f"{cert}.pem"), pki.path(f"{cert}.key"))
    if max_version is not None:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = max_version
    return ctx


async def _connect(url: str, creds: str, ctx: ssl.SSLContext) -> Any:
    return await nats.connect(url, user_credentials=RawCredentials(creds), tls=ctx, allow_reconnect=False,
                              max_reconnect_attempts=1, reconnect_time_wait=0.1, connect_timeout=3)


def refused(url: str, creds: str, ctx: ssl.SSLContext) -> str:
    async def go() -> str:
        try:
            nc = await _connect(url, creds, ctx)
        except Exception as e:  # noqa: BLE001 - any refusal is what we expect; callers assert the text
            return f"{type(e).__name__}: {e}"
        await nc.close()
        raise AssertionError(f"{url} accepted the connection")
    return asyncio.run(go())


def test_routes_use_tls_and_a_verified_client_gets_tls13(tls_cluster) -> None:
    cluster, pki = tls_cluster
    for i in range(3):
        routes = cluster.monitor(i, "/routez")["routes"]
        assert len({r["remote_name"] for r in routes}) == 2
        # /routez does not show TLS; the route port itself starts with a TLS handshake, which
        # needs a certificate of the CA and gives TLS 1.3
        port = cluster.members[i].conf.cluster.port  # type: ignore[union-attr]
        assert tls_handshake(port, context(pki, cert="server")) == "TLSv1.3"
        with pytest.raises((ssl.SSLError, ConnectionError)):
            tls_handshake(port, context(pki, cert=None), read=True)
        varz = cluster.monitor(i, "/varz")
        assert varz["tls_required"] and varz["tls_verify"]
    _, creds = cluster.account_with_user()
    # an R3 stream made and written over verified TLS
    asyncio.run(create_stream(cluster.urls, creds, "EVENTS", "events.>", tls=context(pki)))
    asyncio.run(js_publish_tls(cluster.urls[0], creds, context(pki)))
    seen = []
    for i in range(3):
        for conn in cluster.monitor(i, "/connz")["connections"] or []:
            seen.append((conn.get("tls_version"), conn.get("tls_cipher_suite")))
    print(f"negotiated (version, suite) of client connections: {sorted(set(seen))}")
    assert seen and all(v == "1.3" and s in TLS13_CIPHER_SUITES for v, s in seen), seen


def test_a_client_with_another_ca_is_refused(tls_cluster) -> None:
    cluster, pki = tls_cluster
    _, creds = cluster.account_with_user()
    text = refused(cluster.urls[1], creds, context(pki, ca="other-ca.pem"))
    assert "CERTIFICATE_VERIFY_FAILED" in text, text


def test_a_client_certificate_of_another_ca_or_none_is_refused(tls_cluster) -> None:
    cluster, pki = tls_cluster
    _, creds = cluster.account_with_user()
    for cert in ("stranger", None):
        refused(cluster.urls[2], creds, context(pki, cert=cert))
    # the same creds with the right certificate are accepted (the refusals above are TLS, not auth)
    asyncio.run(asyncio.wait_for(_accepts(cluster.urls[2], creds, context(pki)), 10))


async def _accepts(url: str, creds: str, ctx: ssl.SSLContext) -> None:
    nc = await _connect(url, creds, ctx)
    await nc.close()


async def js_publish_tls(url: str, creds: str, ctx: ssl.SSLContext) -> None:
    nc = await _connect(url, creds, ctx)
    try:
        ack = await nc.jetstream().publish("events.x", b"over tls")
        assert ack.stream == "EVENTS" and ack.seq == 1
    finally:
        await nc.close()


def test_a_tls12_client_is_refused(tls_cluster) -> None:
    cluster, pki = tls_cluster
    _, creds = cluster.account_with_user()
    text = refused(cluster.urls[0], creds, context(pki, max_version=ssl.TLSVersion.TLSv1_2))
    assert "VERSION" in text.upper() or "PROTOCOL" in text.upper(), text
