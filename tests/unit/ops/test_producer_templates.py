"""Producer templates: deterministic text, subjects inside the tenant's tree, honest comments."""
from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest
import yaml

from components.model.environment.load import load_environment
from components.model.errors import SpecError
from components.model.render import producer_templates as pt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TARGET = pt.ProducerTarget("acme", "acme.logs.>", "acme.events.>", "acme.otel.>",
                           "nats://nats.example.net:4222", "/etc/nats/acme.creds")


def test_rendering_is_deterministic() -> None:
    first = pt.render_all(TARGET)
    again = pt.render_all(pt.ProducerTarget(**{f: getattr(TARGET, f) for f in TARGET.__dataclass_fields__}))
    assert first == again
    assert sorted(first) == ["flowgger.toml", "fluent-bit-output.conf", "natscli-context.json", "otel-collector.yaml",
                             "rsyslog-nats.conf"]
    assert sorted(first) == sorted(pt.TEMPLATE_FILES)


def test_otel_collector_exports_each_signal_to_a_literal_tenant_subject() -> None:
    text = pt.render_otel_collector(TARGET)
    doc = yaml.safe_load(text)
    nats = doc["exporters"]["nats"]
    assert nats["endpoint"] == "nats://nats.example.net:4222"
    assert nats["nkey_user_file"] == {"user_file": "/etc/nats/acme.creds"}
    assert {s: nats[s]["subject"] for s in ("traces", "metrics", "logs")} == {
        "traces": '"acme.otel.collector.traces"',
        "metrics": '"acme.otel.collector.metrics"',
        "logs": '"acme.otel.collector.logs"',
    }
    assert set(doc["service"]["pipelines"]) == {"traces", "metrics", "logs"}
    assert all(p["exporters"] == ["nats"] and p["receivers"] == ["otlp"] for p in doc["service"]["pipelines"].values())
    assert doc["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].startswith("127.0.0.1:")
    # The comment says plainly that contrib has no NATS exporter and which module is used instead.
    assert "No opentelemetry-collector-contrib release contains a NATS exporter" in text
    assert pt.NATS_EXPORTER_MODULE in text


def test_fluent_bit_output_goes_through_the_leaf_and_says_it_has_no_creds() -> None:
    text = pt.render_fluent_bit_output(TARGET)
    body = [line.split(None, 1) for line in text.splitlines() if line and not line.startswith("#")]
    assert body == [["[OUTPUT]"], ["Name", "nats"], ["Match", "acme.logs.*"], ["Host", "127.0.0.1"], ["Port", "4222"]]
    assert "does NOT support creds" in text
    assert "/etc/nats/acme.creds" not in text  # Fluent Bit cannot use it: the leaf node holds creds


def test_fluent_bit_uses_the_given_leaf_address() -> None:
    text = pt.render_fluent_bit_output(replace(TARGET, leaf_url="nats://10.0.0.7:14222"))
    assert "    Host   10.0.0.7\n    Port   14222\n" in text


def test_natscli_context_has_every_key_natscli_writes() -> None:
    doc = json.loads(pt.render_natscli_context(TARGET))
    assert set(doc) == set(pt.NATSCLI_KEYS)
    assert doc["url"] == TARGET.nats_url and doc["creds"] == TARGET.creds_path
    assert "acme" in doc["description"] and doc["tls_first"] is False
    assert all(doc[k] == "" for k in ("token", "user", "password", "nkey", "user_jwt"))


def test_prefixed_subjects_keep_the_prefix() -> None:
    t = replace(TARGET, logs_root="plat.acme.logs.>", events_root="plat.acme.events.>", otel_root="plat.acme.otel.>")
    assert '"plat.acme.otel.collector.traces"' in pt.render_otel_collector(t)
    assert "Match  plat.acme.logs.*" in pt.render_fluent_bit_output(t)


def test_target_from_an_environment_tenant() -> None:
    env = load_environment(os.path.join(ROOT, "environments", "dev.yaml"))
    tenant = env.tenants[0]
    t = pt.ProducerTarget.of(tenant.id, tenant.subjects, "nats://127.0.0.1:14222", f"/tmp/{tenant.id}.creds")
    assert f'"{tenant.id}.otel.collector.logs"' in pt.render_otel_collector(t)


@pytest.mark.parametrize("change, field", [
    ({"tenant": "acme.corp"}, "tenant"),
    ({"otel_root": "globex.otel.>"}, "otel_root"),
    ({"nats_url": "http://x:4222"}, "nats_url"),
    ({"leaf_url": "127.0.0.1:4222"}, "leaf_url"),
    ({"creds_path": ""}, "creds_path"),
    ({"service": "a.b"}, "service"),
])
def test_bad_targets_are_refused_with_the_field(change: dict[str, str], field: str) -> None:
    with pytest.raises(SpecError) as err:
        pt.render_all(replace(TARGET, **change))
    assert any(p.field == field for p in err.value.problems)
