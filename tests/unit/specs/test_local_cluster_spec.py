"""Local clusters, durability, TLS and store encryption in the environment file: what is accepted,
which defaults apply, and how bad input is reported (file, field, fix)."""
from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.model.environment.load import load_environment_text
from components.model.environment.servers import member_ports
from components.model.errors import SpecError

TIER = {"max_streams": 20, "max_consumers": 50, "max_bytes": "1GiB", "max_memory": "64MiB",
        "max_connections": 100, "retention_days": 90, "max_ack_pending": 1000}


def doc(servers: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"version": 1, "servers": servers, "tiers": {"standard": dict(TIER)},
            "tenants": [{"id": "acme", "tier": "standard", "domains": {"billing": {}},
                         "kv_buckets": [{"name": "carts"}], "object_stores": [{"name": "files"}]}], **top}


LOCAL3 = {"mode": "local", "replicas": 3, "client_port": 14222, "monitor_port": 18222,
          "leafnode_port": 17422, "cluster_port": 16222}


def load(d: dict[str, Any], stack: str = "test"):
    return load_environment_text(yaml.safe_dump(d), f"environments/{stack}.yaml", stack=stack)


def problems(d: dict[str, Any], stack: str = "test") -> str:
    with pytest.raises(SpecError) as e:
        load(d, stack)
    return str(e.value)


def test_three_local_servers_with_derived_ports_and_r3_defaults() -> None:
    env = load(doc(LOCAL3))
    assert env.servers.replicas == 3
    assert [member_ports(env.servers, i) for i in range(3)] == [
        {"client_port": 14222 + i, "monitor_port": 18222 + i, "leafnode_port": 17422 + i, "cluster_port": 16222 + i}
        for i in range(3)]
    tenant = env.tenants[0]
    assert {s.replicas for d in tenant.domains for s in d.streams} == {3}


def test_a_single_local_server_stays_the_default() -> None:
    env = load(doc({k: v for k, v in LOCAL3.items() if k not in ("replicas", "cluster_port")}))
    assert env.servers.replicas == 1 and env.servers.cluster_port is None
    assert env.jetstream.sync_interval == "2m"


def test_member_ports_that_clash_are_refused_with_the_member_named() -> None:
    text = problems(doc({**LOCAL3, "monitor_port": 14224}))
    assert "environments/test.yaml: servers.client_port: port 14224 (server 2's client_port, " \
           "servers.client_port + 2) is already used by servers.monitor_port" in text
    assert "space the base ports at least 3 apart" in text


def test_a_cluster_needs_a_cluster_port_and_an_odd_count() -> None:
    text = problems(doc({k: v for k, v in LOCAL3.items() if k != "cluster_port"}))
    assert "servers.cluster_port: missing: 3 local servers route to each other" in text
    assert "servers.replicas: 2 not in 1|3|5" in problems(doc({**LOCAL3, "replicas": 2}))


def test_the_last_member_port_must_exist() -> None:
    assert "servers.client_port: 65534 + 2 (the last member's port) is above 65535" in \
        problems(doc({**LOCAL3, "client_port": 65534}))


def test_sync_interval_defaults_to_always_for_prod_and_kubernetes() -> None:
    assert load(doc(LOCAL3), stack="prod").jetstream.sync_interval == "always"
    k8s = {"mode": "kubernetes", "namespace": "nats", "replicas": 3, "image": "nats:2.11-alpine"}
    assert load(doc(k8s)).jetstream.sync_interval == "always"
    assert load(doc(LOCAL3, jetstream={"sync_interval": "90s"}), stack="prod").jetstream.sync_interval == "1m30s"


def test_sync_interval_and_cipher_are_checked() -> None:
    text = problems(doc(LOCAL3, jetstream={"sync_interval": "sometimes", "cipher": "rot13"}))
    assert "jetstream.sync_interval: 'sometimes' is neither 'always' nor a positive duration" in text
    assert "jetstream.cipher: 'rot13' not in aes|chachapoly" in text


def test_tls_verify_and_tls13_cipher_suites() -> None:
    tls = {"cert_file": "s.pem", "key_file": "s.key", "ca_file": "ca.pem", "verify": True,
           "cipher_suites": ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]}
    env = load(doc(LOCAL3, tls=tls))
    assert env.tls is not None and env.tls.verify
    assert env.tls.cipher_suites == ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
    text = problems(doc(LOCAL3, tls={**tls, "cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]}))
    assert "tls.cipher_suites[0]: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA' is not a TLS 1.3 cipher suite" in text
    text = problems(doc(LOCAL3, tls={k: v for k, v in tls.items() if k != "ca_file"}))
    assert "tls.ca_file: missing: verify checks client certificates against a CA" in text



def test_store_key_comes_from_the_secret_stack_setting() -> None:
    from components.model.environment.load import check_store_key, stack_settings

    key = "k" * 32
    encrypted = load(doc(LOCAL3, jetstream={"cipher": "aes"}))
    check_store_key(stack_settings("test", {"nats-tenancy:jetstreamKey": key}), encrypted)
    with pytest.raises(SpecError) as e:
        check_store_key(stack_settings("test", {}), encrypted)
    assert "Pulumi.test.yaml: config.nats-tenancy:jetstreamKey: missing: environments/test.yaml sets " \
           "jetstream.cipher: aes" in str(e.value) and "pulumi config set --secret" in str(e.value)
    with pytest.raises(SpecError, match="too short for a store key"):
        check_store_key(stack_settings("test", {"nats-tenancy:jetstreamKey": "short"}), encrypted)
    with pytest.raises(SpecError, match="does not encrypt the store"):
        check_store_key(stack_settings("test", {"nats-tenancy:jetstreamKey": key}), load(doc(LOCAL3)))
    settings = stack_settings("test", {"nats-tenancy:jetstreamKey": key})
    assert key not in repr(settings)


def test_nats_url_may_list_a_clusters_servers() -> None:
    from components.model.environment.load import stack_settings

    url = "nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224"
    assert stack_settings("prod", {"nats-tenancy:natsUrl": url}).nats_url == url
    with pytest.raises(SpecError, match="is not a NATS URL"):
        stack_settings("prod", {"nats-tenancy:natsUrl": "nats://127.0.0.1:4222,http://x"})
