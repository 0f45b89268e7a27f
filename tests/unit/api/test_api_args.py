"""The public API's Args against the field catalogues: the same fields, each documented, and the
props they make pass the model's own validation with the values the server will get."""
from __future__ import annotations

import ast
import asyncio
import dataclasses
import inspect

import pytest

from components import api
from components.api import _props
from components.model.jetstream import catalogue as cat
from components.model.jetstream.bucket_fields import KV_CATALOGUE, OBJECT_STORE_CATALOGUE
from components.model.jetstream.consumer import validate_and_normalize_consumer
from components.model.jetstream.consumer_fields import CONSUMER_CATALOGUE
from components.model.jetstream.kv import validate_and_normalize_kv
from components.model.jetstream.object_store import validate_and_normalize_object_store
from components.model.jetstream.stream import validate_and_normalize_stream
from components.model.jetstream.stream_fields import (
    CONSUMER_LIMIT_FIELDS,
    REPUBLISH_FIELDS,
    SOURCE_FIELDS,
    STREAM_CATALOGUE,
    TRANSFORM_FIELDS,
)

CASES = [
    (api.StreamArgs, cat.names(STREAM_CATALOGUE)),
    (api.ConsumerArgs, ("stream",) + cat.names(CONSUMER_CATALOGUE)),
    (api.KeyValueArgs, cat.names(KV_CATALOGUE)),
    (api.ObjectStoreArgs, cat.names(OBJECT_STORE_CATALOGUE)),
    (api.StreamSource, SOURCE_FIELDS),
    (api.SubjectTransform, TRANSFORM_FIELDS),
    (api.Republish, REPUBLISH_FIELDS),
    (api.ConsumerLimits, CONSUMER_LIMIT_FIELDS),
]
DOCUMENTED = [c for c, _ in CASES] + [api.JetStreamConnection, api.OperatorArgs, api.AccountArgs, api.AccountImport,
                                      api.UserArgs, api.TenantArgs, api.LocalNatsServerArgs, api.PlatformArgs,
                                      api.PlatformConsumerArgs, api.LeafNodeArgs]


@pytest.mark.parametrize("args_type,fields", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_args_fields_are_the_catalogue_fields(args_type: type, fields: tuple[str, ...]) -> None:
    assert set(_props.field_names(args_type)) == set(fields)


def _field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings: the string statement right after each annotated field."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, nxt in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[node.target.id] = str(nxt.value.value)  # type: ignore[union-attr]
    return docs


@pytest.mark.parametrize("args_type", DOCUMENTED, ids=lambda c: c.__name__)
def test_every_field_has_a_docstring(args_type: type) -> None:
    docs = _field_docs(args_type)
    missing = [f for f in _props.field_names(args_type) if not docs.get(f, "").strip()]
    assert not missing, f"{args_type.__name__}: fields without a docstring: {missing}"
    assert dataclasses.is_dataclass(args_type) and args_type.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_unset_fields_stay_out_of_the_props() -> None:
    assert _props.to_props(api.StreamArgs(name="ORDERS", max_age="24h")) == {"name": "ORDERS", "max_age": "24h"}


def test_stream_args_validate_to_the_server_config() -> None:
    args = api.StreamArgs(
        name="ORDERS", subjects=["acme.events.orders.>"], retention="limits", storage="file", max_age="24h",
        max_bytes="64MiB", max_msgs=1000, discard="new", allow_direct=True, metadata={"owner": "acme"},
        republish=api.Republish(dest="copy.orders.>", src="acme.events.orders.>"),
        consumer_limits=api.ConsumerLimits(inactive_threshold="1h", max_ack_pending=100),
    )
    canonical = validate_and_normalize_stream(_props.to_props(args), "test")
    assert canonical["max_age"] == 24 * 3600 * 10**9
    assert canonical["max_bytes"] == 64 * 1024 * 1024
    assert canonical["duplicate_window"] == 120 * 10**9          # the server's default, filled by the model
    assert canonical["republish"] == {"src": "acme.events.orders.>", "dest": "copy.orders.>", "headers_only": False}
    assert canonical["consumer_limits"] == {"inactive_threshold": 3600 * 10**9, "max_ack_pending": 100}


def test_sourced_stream_args_validate() -> None:
    args = api.StreamArgs(name="ALL", sources=[api.StreamSource(
        name="ORDERS", subject_transforms=[api.SubjectTransform(src="acme.>", dest="all.acme.>")])])
    canonical = validate_and_normalize_stream(_props.to_props(args), "test")
    assert canonical["sources"] == [{"name": "ORDERS", "subject_transforms": [{"src": "acme.>", "dest": "all.acme.>"}]}]


def test_a_bad_field_is_reported_by_the_model() -> None:
    from components.model.errors import SpecError

    with pytest.raises(SpecError, match="retention"):
        validate_and_normalize_stream(_props.to_props(api.StreamArgs(name="X", retention="forever")), "t")  # type: ignore[arg-type]


def test_consumer_and_bucket_args_validate() -> None:
    consumer = validate_and_normalize_consumer(_props.to_props(api.ConsumerArgs(
        stream="ORDERS", name="worker", max_deliver=3, backoff=["1s", "5s"])), "t")
    assert (consumer["stream"], consumer["durable_name"]) == ("ORDERS", "worker")
    assert consumer["backoff"] == [10**9, 5 * 10**9]
    kv = validate_and_normalize_kv(_props.to_props(api.KeyValueArgs(bucket="settings", history=3, ttl="1h")), "t")
    assert (kv["history"], kv["ttl"], kv["direct"]) == (3, 3600 * 10**9, True)
    obj = validate_and_normalize_object_store(_props.to_props(api.ObjectStoreArgs(bucket="blobs", max_bytes="1MiB")),
                                              "t")
    assert obj["max_bytes"] == 1024 * 1024


def test_connection_props_keep_the_creds_secret() -> None:
    # Outputs are made on the current event loop: this test's own, whatever earlier tests closed.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        _check_connection_props()
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def _check_connection_props() -> None:
    props = api.JetStreamConnection(server_url="nats://127.0.0.1:4222", creds="CREDS", account_label="acme").props()
    assert props["server_url"] == "nats://127.0.0.1:4222" and props["account_label"] == "acme"
    assert not props["prevent_destroy"]
    assert type(props["creds"]).__name__ == "Output"   # a secret Output, never the plain text


def test_account_and_user_args_make_the_model_specs() -> None:
    acct = api.AccountArgs(name="acme", limits=api.AccountLimits(conn=5), exports=[api.Export(subject="acme.>")],
                           tags=["tier:gold"])
    spec = acct.spec()
    assert (spec.name, spec.limits.conn, spec.exports[0].subject, spec.tags) == ("acme", 5, "acme.>", ("tier:gold",))
    user = api.UserArgs(name="app", permissions=api.UserPermissions(pub=api.Permission(allow=("acme.>",))),
                        allowed_connection_types=["STANDARD"]).spec()
    assert user.permissions.pub.allow == ("acme.>",) and user.allowed_connection_types == ("STANDARD",)


def test_tenant_args_make_the_default_layout() -> None:
    quotas = api.Quotas(max_streams=5, max_consumers=10, max_bytes=1 << 20, max_memory=1 << 20, max_connections=5,
                        retention_days=7, max_ack_pending=100)
    spec = api.TenantArgs(id="acme", quotas=quotas).spec()
    assert (spec.name, spec.subjects.events, spec.subjects.logs) == ("acme", "acme.events.>", "acme.logs.>")
    assert spec.stream_names == ()
