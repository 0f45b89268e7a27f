"""Local cluster members from the hub renderer: ports, routes, durability, TLS, store encryption,
and the real ``nats-server -t`` on every member's config."""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from components.model.environment.load import load_environment, load_environment_text
from components.model.render.hub_conf import local_member_conf, local_route_urls
from components.model.render.server_conf import JETSTREAM_KEY_ENV, jetstream_key_env, render_server_conf
from components.providers import nats_process
from tests.support.operator_mode import OperatorSetup

ROOT = Path(__file__).resolve().parents[3]


def env_text(extra: str = "") -> str:
    return ("version: 1\n"
            "servers: {mode: local, replicas: 3, client_port: 24222, monitor_port: 28222, leafnode_port: 27422,"
            " cluster_port: 26222}\n"
            "tiers: {small: {max_streams: 1, max_consumers: 1, max_bytes: 1MiB, max_memory: 1MiB,"
            " max_connections: 1, retention_days: 1, max_ack_pending: 1}}\n"
            "tenants: []\n" + extra)


def member(env, i: int, data_dir: str = "/srv/nats"):
    return local_member_conf(env, i, data_dir=f"{data_dir}/m{i}", operator_jwt="OPJWT",
                             system_account="ASYS", system_account_jwt="SYSJWT")


def test_member_ports_names_and_routes() -> None:
    env = load_environment_text(env_text(), "environments/test.yaml", stack="test")
    text = render_server_conf(member(env, 1))
    assert 'server_name: "test-1"' in text
    assert 'listen: "127.0.0.1:24223"' in text and 'http: "127.0.0.1:28223"' in text
    assert 'listen: "127.0.0.1:26223"' in text and 'listen: "127.0.0.1:27423"' in text
    assert local_route_urls(env) == tuple(f"nats://127.0.0.1:{26222 + i}" for i in range(3))
    for i in range(3):
        assert f'"nats://127.0.0.1:{26222 + i}"' in text
    assert 'sync_interval: "2m"' in text and "cipher" not in text and "tls {" not in text


def test_one_local_server_renders_as_before() -> None:
    one = load_environment(str(ROOT / "environments" / "dev.yaml"), stack="dev")
    text = render_server_conf(member(one, 0))
    assert "cluster {" not in text and 'listen: "127.0.0.1:14222"' in text


def test_store_encryption_names_only_the_variable() -> None:
    env = load_environment_text(env_text("jetstream: {cipher: chachapoly, sync_interval: always}\n"),
                                "environments/test.yaml", stack="test")
    conf = member(env, 0)
    text = render_server_conf(conf)
    assert f'  cipher: "chachapoly"\n  key: ${JETSTREAM_KEY_ENV}\n' in text
    assert 'sync_interval: "always"' in text
    assert jetstream_key_env(conf) == JETSTREAM_KEY_ENV
    assert jetstream_key_env(dataclasses.replace(conf, jetstream=None)) is None


def test_prod_kubernetes_config_syncs_always() -> None:
    from components.model.render import k8s_manifests as km

    prod = load_environment(str(ROOT / "environments" / "prod.yaml"), stack="prod")
    assert 'sync_interval: "always"' in km.nats_conf(prod, "OPJWT", "ASYS", "SYSJWT")


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed, and nats-server -t needs real TLS files to exist")
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
        "-subj", "/CN=test", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", str(tmp_path / "s.key"), "-out", str(tmp_path / "s.pem"))
    return tmp_path


def test_every_member_config_passes_nats_server_check(pki: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(JETSTREAM_KEY_ENV, raising=False)
    tls = (f"tls: {{cert_file: {pki / 's.pem'}, key_file: {pki / 's.key'}, ca_file: {pki / 's.pem'}, verify: true,"
           " cipher_suites: [TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256]}\n")
    env = load_environment_text(env_text(tls + "jetstream: {cipher: aes, sync_interval: always}\n"),
                                "environments/test.yaml", stack="test")
    op = OperatorSetup.build()
    for i in range(3):
        text = render_server_conf(local_member_conf(env, i, data_dir=str(tmp_path / f"m{i}"),
                                                    operator_jwt=op.operator_jwt,
                                                    system_account=op.system_account.public_key,
                                                    system_account_jwt=op.system_account_jwt))
        assert text.count("verify: true") == 2          # client listener and routes; leaf nodes use creds
        assert text.count('cipher_suites: ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]') == 3
        path = tmp_path / f"m{i}.conf"
        path.write_text(text)
        nats_process.check_config_file(str(path), env={JETSTREAM_KEY_ENV: "not-a-real-key"})
        with pytest.raises(nats_process.NatsServerError, match=JETSTREAM_KEY_ENV):   # without the key: refused
            nats_process.check_config_file(str(path))


def test_kubernetes_gets_the_key_from_a_secret_reference() -> None:
    from components.model.render.server_conf import jetstream_key_container_env

    env = load_environment_text(env_text("jetstream: {cipher: aes}\n"), "environments/test.yaml", stack="test")
    assert jetstream_key_container_env(member(env, 0), "nats-js-key") == [
        {"name": JETSTREAM_KEY_ENV, "valueFrom": {"secretKeyRef": {"name": "nats-js-key", "key": "jetstream-key"}}}]
    plain = load_environment_text(env_text(), "environments/test.yaml", stack="test")
    assert jetstream_key_container_env(member(plain, 0), "nats-js-key") == []


def test_bucket_replicas_follow_the_servers() -> None:
    from components.model import jetstream_plan

    tenants = ("tenants: [{id: acme, tier: small, quotas: {max_streams: 2}, kv_buckets: [{name: carts}], "
               "object_stores: [{name: files}]}]\n")
    env = load_environment_text(env_text().replace("tenants: []\n", "") + tenants,
                                "environments/test.yaml", stack="test")
    kv, obj = env.tenants[0].kv_buckets[0], env.tenants[0].object_stores[0]
    assert jetstream_plan.kv_inputs(kv)["replicas"] == 3
    assert jetstream_plan.object_store_inputs(obj)["replicas"] == 3


def test_dead_letter_and_platform_streams_are_replicated_like_the_tenants() -> None:
    from components.model import jetstream_plan

    text = env_text().replace("tenants: []\n", "") + (
        "tenants: [{id: acme, tier: small, quotas: {max_streams: 2},"
        " domains: {orders: {live: {consumers: [{name: worker, dead_letter: true}]}}}}]\n"
        "platform: {shards: 1, consumers: [{name: archiver, class: logs, filter: '*.logs.>'}]}\n")
    env = load_environment_text(text.replace("max_consumers: 1", "max_consumers: 2"), "environments/test.yaml",
                                stack="test")
    assert jetstream_plan.dead_letter_inputs(env.tenants[0])["num_replicas"] == 3
    assert [s["num_replicas"] for s in jetstream_plan.platform_stream_inputs(env)] == [3]
    one = load_environment(str(ROOT / "environments" / "dev.yaml"), stack="dev")
    assert all("num_replicas" not in jetstream_plan.dead_letter_inputs(t) for t in one.tenants if t.dead_letter_stream)
    assert all("num_replicas" not in s for s in jetstream_plan.platform_stream_inputs(one))
