"""What the built-in roles grant on the JetStream API, and that their JWTs fit the CONNECT line."""
from __future__ import annotations

import pytest

from components.model.errors import SpecError
from components.model.identity import roles
from components.model.identity.user import MAX_USER_JWT_BYTES
from components.model.subjects import subject_contains


def _allows(spec: roles.UserSpec, subject: str) -> bool:
    return any(subject_contains(a, subject) for a in spec.permissions.pub.allow)


def test_service_reads_its_buckets_through_consumers_on_their_streams_only() -> None:
    svc = roles.tenant_service_user("acme", kv_buckets=["acme_settings"], object_stores=["acme_reports"])
    for subject in ("$JS.API.CONSUMER.CREATE.KV_acme_settings",                      # nats-py ordered
                    "$JS.API.CONSUMER.CREATE.KV_acme_settings.x1.$KV.acme_settings.>",  # natscli ordered
                    "$JS.API.CONSUMER.DELETE.OBJ_acme_reports.x1",
                    "$JS.API.STREAM.PURGE.OBJ_acme_reports",
                    "$JS.API.DIRECT.GET.KV_acme_settings.$KV.acme_settings.colour",
                    "$JS.API.CONSUMER.MSG.NEXT.ACME_ORDERS_LIVE.ACME_ORDERS_LIVE_WORKER",
                    "$KV.acme_settings.colour", "$O.acme_reports.C.abc", "acme.events.orders.created"):
        assert _allows(svc, subject), subject
    for subject in ("$JS.API.STREAM.CREATE.ACME_X", "$JS.API.STREAM.UPDATE.ACME_ORDERS_LIVE",
                    "$JS.API.STREAM.DELETE.KV_acme_settings", "$JS.API.STREAM.PURGE.ACME_ORDERS_LIVE",
                    "$JS.API.CONSUMER.CREATE.ACME_ORDERS_LIVE", "$JS.API.CONSUMER.CREATE.ACME_ORDERS_LIVE.X.acme.>",
                    "$JS.API.CONSUMER.DURABLE.CREATE.KV_acme_settings.X",
                    "$JS.API.CONSUMER.DELETE.ACME_ORDERS_LIVE.ACME_ORDERS_LIVE_WORKER",
                    "$JS.API.CONSUMER.CREATE.KV_globex_settings", "$JS.API.STREAM.SNAPSHOT.ACME_ORDERS_LIVE",
                    "globex.events.x", "$SYS.REQ.SERVER.PING"):
        assert not _allows(svc, subject), subject


def test_backup_snapshots_and_restores_but_neither_creates_nor_changes_streams() -> None:
    ops = roles.tenant_backup_user("acme")
    for subject in ("$JS.API.STREAM.SNAPSHOT.S", "$JS.API.STREAM.RESTORE.S", "$JS.SNAPSHOT.ACK.S.x",
                    "$JS.SNAPSHOT.RESTORE.S.x", "$JS.API.STREAM.INFO.S", "$JS.API.STREAM.DELETE.S"):
        assert _allows(ops, subject), subject
    for subject in ("$JS.API.STREAM.CREATE.S", "$JS.API.STREAM.UPDATE.S", "$JS.API.CONSUMER.CREATE.S",
                    "$KV.b.k", "acme.events.x"):
        assert not _allows(ops, subject), subject


def test_service_jwt_fits_the_connect_line_and_too_many_buckets_are_refused_by_name() -> None:
    few = roles.tenant_service_user("acme", kv_buckets=[f"acme_b{i}" for i in range(4)],
                                    object_stores=[f"acme_o{i}" for i in range(4)])
    assert roles.user_jwt_bytes(few) <= MAX_USER_JWT_BYTES
    with pytest.raises(SpecError) as err:
        roles.tenant_service_user("acme", kv_buckets=[f"acme_bucket_{i}" for i in range(20)])
    text = str(err.value)
    assert "acme-service" in text and "kv_buckets" in text and "fewer KV buckets" in text and "4096" in text
