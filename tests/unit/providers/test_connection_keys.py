"""Keys of pooled connections: one per kind, URLs and creds, and printable without secrets."""
from __future__ import annotations

from components.nats_io.pool import REUSE_ENV, Key, redact_url, reuse_enabled


def test_redact_url_drops_user_password_and_token() -> None:
    assert redact_url("nats://t:tpass@127.0.0.1:4222") == "nats://***@127.0.0.1:4222"
    assert redact_url("tls://s3cr3t-token@nats.example:4222") == "tls://***@nats.example:4222"
    assert redact_url("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"
    assert redact_url("127.0.0.1:4222") == "127.0.0.1:4222"


def test_key_separates_creds_urls_and_kinds_and_prints_no_secret() -> None:
    creds = "-----BEGIN NATS USER JWT-----\neyJ0eXAi\n------END NATS USER JWT------\nSUAXYZSEED"
    key = Key.of("jetstream", ["nats://t:tpass@127.0.0.1:4222"], creds)
    assert key == Key.of("jetstream", ["nats://t:tpass@127.0.0.1:4222"], creds)
    assert key != Key.of("jetstream", ["nats://t:tpass@127.0.0.1:4222"], creds + "x")
    assert key != Key.of("jetstream", ["nats://t:other@127.0.0.1:4222"], creds)  # same display, other password
    assert key != Key.of("resolver", ["nats://t:tpass@127.0.0.1:4222"], creds)
    printed = f"{key} {key!r}"
    assert "tpass" not in printed and "SUAXYZSEED" not in printed and "eyJ0eXAi" not in printed
    assert "127.0.0.1:4222" in printed


def test_reuse_switch(monkeypatch) -> None:
    monkeypatch.delenv(REUSE_ENV, raising=False)
    assert reuse_enabled()
    for off in ("0", "false", "OFF", " no "):
        monkeypatch.setenv(REUSE_ENV, off)
        assert not reuse_enabled()
    monkeypatch.setenv(REUSE_ENV, "1")
    assert reuse_enabled()
