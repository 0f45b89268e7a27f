"""A ``replicas: 3`` local stack with TLS as seed 002 asks (client and route TLS with a self-made
CA, TLS 1.3, client certificates verified) through the real CLI: the identity and JetStream
resources reach the servers over verified TLS (``nats_io.tls``), a tenant's service user
publishes over TLS, and a client without a certificate is refused.
"""
from __future__ import annotations

import asyncio
import ssl

import nats
import pytest
from nats.aio.client import RawCredentials

from components.nats_io import jetstream as jsc
from components.nats_io import tls as tls_client
from tests.e2e.test_cluster_local import MEMBERS, cluster_environment, cluster_project  # noqa: F401
from tests.server.cluster.pki import make_pki
from tests.support.pulumi_cli import PulumiProject


async def _publish(url: str, creds: str, ctx: ssl.SSLContext, subject: str) -> int:
    nc = await nats.connect(url, user_credentials=RawCredentials(creds), tls=ctx, allow_reconnect=False,
                            max_reconnect_attempts=1, connect_timeout=3)
    try:
        return (await nc.jetstream().publish(subject, b"over tls")).seq
    finally:
        await nc.close()


def test_tls_cluster_stack(cluster_project: PulumiProject, tmp_path) -> None:  # noqa: F811
    proj = cluster_project
    pki = make_pki(str(tmp_path / "pki"))
    tls = (f"tls:\n  cert_file: {pki.path('server.pem')}\n  key_file: {pki.path('server.key')}\n"
           f"  ca_file: {pki.path('ca.pem')}\n  verify: true\n  min_version: \"1.3\"\n"
           "  cipher_suites: [TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256]\n")
    proj.write_environment(cluster_environment(proj.ports, "always") + tls)  # type: ignore[attr-defined]
    proj.extra_env.update({tls_client.CA_ENV: pki.path("ca.pem"), tls_client.CERT_ENV: pki.path("client.pem"),
                           tls_client.KEY_ENV: pki.path("client.key")})
    proj.init()
    proj.up()
    out = proj.outputs(show_secrets=True)
    creds = out["tenants"]["acme"]["creds"]["service"]
    urls = out["nats_url"].split(",")

    good = ssl.create_default_context(cafile=pki.path("ca.pem"))
    good.load_cert_chain(pki.path("client.pem"), pki.path("client.key"))
    assert asyncio.run(_publish(urls[2], creds, good, "acme.events.orders.placed")) == 1
    no_cert = ssl.create_default_context(cafile=pki.path("ca.pem"))
    with pytest.raises(Exception):
        asyncio.run(_publish(urls[0], creds, no_cert, "acme.events.orders.placed"))

    # every tenant stream R3, read over verified TLS with the project's own JetStream client
    with pytest.MonkeyPatch.context() as mp:
        for k, v in proj.extra_env.items():
            mp.setenv(k, v)
        for tid, t in out["tenants"].items():
            for name in t["streams"]:
                info = jsc.run(out["nats_url"], t["creds"]["service"], lambda api, n=name: api.stream_info(n))
                assert info is not None, f"{tid}: {name} missing"
                assert info["config"]["num_replicas"] == MEMBERS
                assert len(info["cluster"].get("replicas") or []) == MEMBERS - 1, info["cluster"]
    assert proj.preview_steps() == [], "a second preview must be clean"
    proj.destroy()
