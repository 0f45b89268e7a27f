"""Data-loss rules and texts (pure), the ``data_protection`` section, and the guard's inventory."""
from __future__ import annotations

import pytest
import yaml

from components.model import data_loss as dl
from components.model.data_inventory import declared_objects
from components.model.environment.load import load_environment_text
from components.model.errors import SpecError
from components.providers.data_guard import merge_stream_details, removed_objects
from tests.unit.specs.test_env_broken import LABEL, base


def impact(kind=dl.Kind.STREAM, messages=0, nbytes=0, deny_delete=False, deny_purge=False, exists=True,
           acknowledged=False, loss=dl.Loss.REPLACE, backup=None, unreadable="") -> dl.Impact:
    state = dl.StoredState(exists, messages, nbytes, deny_delete, deny_purge, unreadable)
    return dl.Impact(kind, "ACME_ORDERS_LIVE", "ACME_ORDERS_LIVE", "acme", loss, state, acknowledged, backup)


@pytest.mark.parametrize("case,refused", [
    (dict(), False),                                               # empty: passes
    (dict(messages=3, nbytes=10), True),                           # holds data
    (dict(messages=3, acknowledged=True), False),
    (dict(deny_delete=True), True),                                # WORM-like, even empty
    (dict(deny_purge=True, acknowledged=True), False),
    (dict(kind=dl.Kind.KV, deny_delete=True), False),              # every KV bucket has deny_delete
    (dict(kind=dl.Kind.KV, deny_delete=True, messages=1), True),
    (dict(exists=False, deny_delete=True), False),                 # already gone: nothing to lose
    (dict(unreadable="timeout"), True),                            # unknown counts as a loss
])
def test_which_losses_need_an_acknowledgement(case, refused):
    assert impact(**case).refused is refused


def test_refusal_names_object_loss_and_the_exact_line():
    i = impact(messages=1234, nbytes=12 * 1024 * 1024, deny_delete=True)
    text = dl.refusals_text([i, impact(messages=0)], "environments/prod.yaml")
    assert "stream ACME_ORDERS_LIVE (account acme)" in text
    assert "1,234 messages (12.0 MiB, 12,582,912 bytes)" in text
    assert "WORM-protected (deny_delete)" in text
    assert "add to environments/prod.yaml:\n    data_protection:\n      allow_data_loss: [ACME_ORDERS_LIVE]\n" in text
    assert text.count("\n- ") == 1, "only the refused object is listed"


def test_preview_lines():
    assert dl.preview_line(impact()).endswith("losing 0 messages (0 bytes); empty, allowed")
    line = dl.preview_line(impact(messages=5, nbytes=500, acknowledged=True, backup="/b"))
    assert "losing 5 messages (500 bytes)" in line and "snapshot is written to /b/ACME_ORDERS_LIVE" in line
    assert line.endswith("acknowledged in data_protection.allow_data_loss")
    assert "no longer in the environment" in dl.preview_line(impact(loss=dl.Loss.DELETE, messages=2))
    assert dl.preview_line(impact(messages=2)).endswith("REFUSED")
    assert "nothing to lose" in dl.preview_line(impact(exists=False))
    assert "snapshot" not in dl.preview_line(impact(backup="/b")), "nothing to snapshot when empty"


def _load(doc):
    return load_environment_text(yaml.safe_dump(doc), LABEL, stack="test")


def test_data_protection_section_is_read():
    doc = base()
    doc["data_protection"] = {"allow_data_loss": ["ACME_BILLING_LIVE", "acme_carts"],
                              "backup_before_loss": ".state/backups"}
    p = _load(doc).data_protection
    assert p.allow_data_loss == {"ACME_BILLING_LIVE", "acme_carts"} and p.backup_before_loss == ".state/backups"
    assert p.allows("acme_carts", "KV_acme_carts") and p.allows("x", "ACME_BILLING_LIVE")
    assert _load(base()).data_protection == dl.DataProtection()


@pytest.mark.parametrize("section,field", [
    ({"allow_data_loss": ["ACME.LIVE"]}, "data_protection.allow_data_loss[0]"),
    ({"allow_data_loss": "ACME_LIVE"}, "data_protection.allow_data_loss"),
    ({"allow": ["X"]}, "data_protection.allow"),
    ({"backup_before_loss": ""}, "data_protection.backup_before_loss"),
])
def test_bad_data_protection_names_the_field(section, field):
    doc = base()
    doc["data_protection"] = section
    with pytest.raises(SpecError) as err:
        _load(doc)
    assert any(p.field == field for p in err.value.problems), str(err.value)
    assert str(err.value).startswith(LABEL)


def test_inventory_lists_streams_buckets_and_stores():
    objs = declared_objects(_load(base()))
    assert {(o["kind"], o["name"], o["stream"]) for o in objs["acme"]} >= {
        ("stream", "ACME_BILLING_LIVE", "ACME_BILLING_LIVE"), ("stream", "ACME_BILLING_REPLAY", "ACME_BILLING_REPLAY"),
        ("key-value bucket", "acme_carts", "KV_acme_carts")}
    assert all(o["account"] == "acme" for o in objs["acme"])


def test_guard_finds_removed_objects_and_merges_server_replies():
    a = {"account": "acme", "stream": "A"}
    b = {"account": "globex", "stream": "A"}
    assert removed_objects({"objects": [a, b]}, {"objects": [a]}) == [b]
    assert removed_objects({"objects": [a]}, {"objects": [a, b]}) == []
    details = [{"stream_detail": [{"name": "A", "state": {"messages": 1}}]},
               {"stream_detail": [{"name": "A", "state": {"messages": 4}}, {"name": "B"}]}]
    merged = merge_stream_details(details)
    assert merged["A"]["state"]["messages"] == 4 and set(merged) == {"A", "B"}


def test_transformation_adds_data_protection_only_where_the_section_applies():
    from types import SimpleNamespace

    from components.resources.data_protection import protection_transformation

    doc = base()
    doc["data_protection"] = {"allow_data_loss": ["ACME_BILLING_LIVE", "KV_acme_carts"]}
    transform = protection_transformation(_load(doc), "/srv/project")

    def props_after(typ, props):
        result = transform(SimpleNamespace(type_=f"pulumi-python:dynamic/nats:{typ}", props=props, opts=None))
        return None if result is None else result.props

    assert props_after("Stream", {"name": "ACME_BILLING_LIVE"})["data_protection"] == {"allow_data_loss": True}
    assert props_after("KvBucket", {"bucket": "acme_carts"})["data_protection"] == {"allow_data_loss": True}
    assert props_after("Stream", {"name": "ACME_BILLING_REPLAY"}) is None, "unnamed objects keep their inputs"
    assert props_after("Consumer", {"name": "ACME_BILLING_LIVE"}) is None

    doc["data_protection"] = {"backup_before_loss": ".state/backups"}
    transform = protection_transformation(_load(doc), "/srv/project")
    backup = {"backup_dir": "/srv/project/.state/backups"}
    assert props_after("ObjectStore", {"bucket": "x"})["data_protection"] == backup
