"""Derived names, subject algebra, durations and sizes: stable and valid."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.model.environment import names
from components.model.environment.layout import Layout, NameTemplates
from components.model.environment.units import (
    HOUR,
    MINUTE,
    SECOND,
    format_duration,
    parse_duration,
    parse_size,
)

ids = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,62}\Z")


DEFAULT = NameTemplates()   # the default layout: the names this project always gave


def stream_name(tenant: str, domain: str, cls: str) -> str:
    return names.render(DEFAULT.stream, tenant=tenant, domain=domain, **{"class": cls})


@pytest.mark.parametrize("tenant,domain,cls,expected", [
    ("acme", "billing", "live", "ACME_BILLING_LIVE"),
    ("acme-corp", "billing", "live", "ACME_CORP_BILLING_LIVE"),
    ("acme", "order-events", "replay", "ACME_ORDER_EVENTS_REPLAY"),
    ("t1", "d2", "live", "T1_D2_LIVE"),
])
def test_stream_names_are_pinned(tenant: str, domain: str, cls: str, expected: str) -> None:
    assert stream_name(tenant, domain, cls) == expected


def test_other_names_are_pinned() -> None:
    assert names.render(DEFAULT.consumer, stream="ACME_BILLING_LIVE", consumer="audit-feed") == \
        "ACME_BILLING_LIVE_AUDIT_FEED"
    assert names.render(DEFAULT.kv, tenant="acme-corp", name="carts") == "acme-corp_carts"
    assert names.render(DEFAULT.dead_letter, tenant="acme-corp") == "ACME_CORP_DEAD_LETTERS"
    assert names.render(DEFAULT.platform_stream, tree="otel") == "PLATFORM_OTEL"
    assert names.render(DEFAULT.platform_account, shard="0") == "platform-ingest-0"
    assert Layout().root("acme") == "acme" and Layout(prefix="plat").tree("acme", "logs") == "plat.acme.logs.>"


@given(ids, ids, st.sampled_from(["live", "replay"]), ids)
def test_derived_names_are_valid(tenant: str, domain: str, cls: str, consumer: str) -> None:
    stream = stream_name(tenant, domain, cls)
    assert names.valid_server_name(stream)
    assert not set(stream) & set(". *>")
    assert names.valid_server_name(names.render(DEFAULT.consumer, stream=stream, consumer=consumer))
    assert re.fullmatch(r"[a-zA-Z0-9_-]+", names.render(DEFAULT.kv, tenant=tenant, name=domain))


@given(ids, ids)
def test_upper_snake_is_reversible_for_ids(a: str, b: str) -> None:
    # ids have no '_', so two different ids never give the same upper snake token
    assert (names.upper_snake(a) == names.upper_snake(b)) == (a == b)


@pytest.mark.parametrize("a,b,overlap", [
    ("acme.events.billing.>", "acme.events.shipping.>", False),
    ("acme.events.>", "acme.events.billing.>", True),
    ("acme.events.*.x", "acme.events.billing.>", True),
    ("acme.events.a", "acme.events.a.b", False),
    ("acme.*", "acme.events", True),
    ("acme.*", "acme.events.x", False),
    ("a.b.c", "a.b.c", True),
    (">", "x", True),
])
def test_subjects_overlap(a: str, b: str, overlap: bool) -> None:
    assert names.subjects_overlap(a, b) is overlap
    assert names.subjects_overlap(b, a) is overlap


@pytest.mark.parametrize("inner,outer,within", [
    ("acme.events.billing.invoices.>", "acme.events.billing.>", True),
    ("acme.events.billing.>", "acme.events.billing.>", True),
    ("acme.events.billing", "acme.events.billing.>", False),
    ("acme.events.*.created", "acme.events.orders.>", False),
    ("acme.events.orders.*", "acme.events.orders.>", True),
    ("*.logs.>", "*.logs.>", True),
    ("acme.logs.x", "*.logs.>", True),
    ("*.events.>", "*.logs.>", False),
    ("a.>", "a.*", False),
    ("a.b", "a.*", True),
])
def test_subject_within(inner: str, outer: str, within: bool) -> None:
    assert names.subject_within(inner, outer) is within


@pytest.mark.parametrize("subject,ok", [
    ("a.b.>", True), ("a.*.c", True), (">", True), ("a..b", False), ("a.>.b", False),
    ("a b", False), ("a.b*", False), ("", False),
])
def test_valid_subject(subject: str, ok: bool) -> None:
    assert names.valid_subject(subject) is ok


@pytest.mark.parametrize("text,ns", [
    ("720h", 720 * HOUR), ("30m", 30 * MINUTE), ("1h30m", 90 * MINUTE), ("90s", 90 * SECOND),
    ("500ms", 500_000_000), ("1.5h", 90 * MINUTE), ("0", 0), ("2m", 2 * MINUTE), ("7d", 7 * 24 * HOUR),
])
def test_parse_duration(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text", ["-1h", "1y", "h", "", "1h-", "10", "1.h", "abc"])
def test_parse_duration_refuses(text: str) -> None:
    assert parse_duration(text) is None


@given(st.integers(min_value=0, max_value=10**15))
def test_duration_round_trip(ns: int) -> None:
    assert parse_duration(format_duration(ns)) == ns


@pytest.mark.parametrize("value,size", [
    (1024, 1024), ("1GiB", 1024**3), ("512MiB", 512 * 1024**2), ("10GB", 10 * 1000**3), ("1Gi", 1024**3),
    ("100k", 100_000), ("7", 7), ("3B", 3), ("2 TiB", 2 * 1024**4), ("512Ki", 512 * 1024),
    ("1.5GiB", 1536 * 1024**2),
])
def test_parse_size(value: object, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["1GX", "1.5B", "-1GiB", -1, "GiB", True, None, 1.5])
def test_parse_size_refuses(value: object) -> None:
    assert parse_size(value) is None


@pytest.mark.parametrize("text", ["7d", "720h", "1h30m", "1.5s", "250ms", "2m"])
def test_environment_and_resources_read_durations_alike(text: str) -> None:
    from components.model.jetstream import units
    assert parse_duration(text) == units.parse_duration(text)


@pytest.mark.parametrize("text", ["512Ki", "512KiB", "1G", "1GB", "10MiB", "3B", "1.5GiB"])
def test_environment_and_resources_read_sizes_alike(text: str) -> None:
    from components.model.jetstream import units
    assert parse_size(text) == units.parse_size(text)
