"""Pulumi dynamic provider for a durable JetStream consumer.

Creates use ``action: "create"`` (succeeds only when absent or identical, so an existing consumer
with other settings is reported instead of silently changed) and updates use ``action: "update"``
(fails if the consumer vanished rather than re-creating it from the wrong starting point). The id is
``<stream>/<name>``. Stateless for the same reason as the stream provider.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from components.model.errors import SpecError
from components.model.jetstream import diff as jsdiff
from components.model.jetstream.consumer import (
    consumer_wire_config,
    normalize_server_consumer,
    validate_and_normalize_consumer,
)
from components.nats_io import jetstream as jsc
from components.nats_io.errors import ConsumerAlreadyExists
from components.providers.errors import ChangeRefused
from components.providers.stream import (
    CONNECTION_FIELDS,
    check_failures,
    connection,
    contains_unknown,
    is_unknown,
    refuse_replacement,
    user_fields,
)

COMPUTED = ("config", "created", "num_pending", "num_ack_pending")


def _user(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in user_fields(props).items() if k not in COMPUTED}


def _config(props: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical config from (checked) inputs; normalized again to turn the engine's floats into ints."""
    return validate_and_normalize_consumer(_user(props), _where(props))


def _where(props: Mapping[str, Any]) -> str:
    return f"account {props.get('account_label') or '?'}: consumer {props.get('stream')}/{props.get('name')}"


class ConsumerProvider(ResourceProvider):
    def check(self, _olds: Any, news: Any) -> CheckResult:
        user = _user(news)
        known = {k: v for k, v in user.items() if not contains_unknown(v)}
        try:
            canonical = validate_and_normalize_consumer(known, _where(news))
        except SpecError as exc:
            pending = set(user) - set(known)
            problems = [p for p in exc.problems if p.field.split("[")[0].split(".")[0] not in pending]
            return CheckResult(news, check_failures(SpecError(problems)) if problems else [])
        if len(known) != len(user):
            return CheckResult(news, [])
        return CheckResult({**canonical, **connection(news)}, [])

    def diff(self, _id: str, olds: Any, news: Any) -> DiffResult:
        old_cfg = olds.get("config") or _user(olds)
        new_user = _user(news)
        unknown = [k for k, v in new_user.items() if contains_unknown(v)]
        if unknown:
            return DiffResult(changes=True, replaces=[k for k in unknown if k in ("name", "stream")],
                              delete_before_replace=True)
        changes = jsdiff.diff_consumer(old_cfg, _config(news))
        replaces = jsdiff.replacements(changes)
        if replaces and (news.get("prevent_destroy") or olds.get("prevent_destroy")):
            refuse_replacement("consumer", f"{new_user.get('stream')}/{new_user.get('name')}", changes)
        side = [k for k in CONNECTION_FIELDS if olds.get(k) != news.get(k) and not is_unknown(news.get(k))]
        return DiffResult(changes=bool(changes or side), replaces=replaces, delete_before_replace=True)

    def create(self, props: Any) -> CreateResult:
        cfg = _config(props)
        stream, name = cfg["stream"], cfg["name"]

        def as_requested(info: Mapping[str, Any]) -> bool:
            return not jsdiff.diff_consumer(normalize_server_consumer(info["config"], stream), cfg)

        async def go(api: jsc.JetStreamApi) -> dict[str, Any]:
            """``action: "create"`` is answered with the existing consumer when its config is
            identical and refused otherwise (ConsumerAlreadyExists): that consumer is reported."""
            try:
                return await api.consumer_create(stream, consumer_wire_config(cfg), action="create",
                                                 matches=as_requested)
            except ConsumerAlreadyExists as exc:
                info = await api.consumer_info(stream, name)
                live = normalize_server_consumer(info["config"], stream) if info else {}
                fields = ", ".join(f"{c.field} (server {c.old!r}, wanted {c.new!r})"
                                   for c in jsdiff.diff_consumer(live, cfg))
                raise ChangeRefused(
                    f"{_where(props)}: a consumer with this name already exists with a different configuration: "
                    f"{fields or exc.description}. Align the inputs with the server or delete the consumer first."
                ) from None

        reply = _run(props, go)
        return CreateResult(f"{stream}/{name}", _outputs(props, reply))

    def read(self, id_: str, props: Any) -> ReadResult:
        stream, _, name = id_.partition("/")

        async def go(api: jsc.JetStreamApi) -> Optional[dict[str, Any]]:
            return await api.consumer_info(stream, name)

        info = _run(props, go)
        if info is None:
            return ReadResult("", {})
        outs = _outputs(props, info)
        outs.update(outs["config"])
        return ReadResult(id_, outs)

    def update(self, id_: str, olds: Any, news: Any) -> UpdateResult:
        old_cfg = olds.get("config") or _user(olds)
        new_cfg = _config(news)
        if not jsdiff.diff_consumer(old_cfg, new_cfg):
            return UpdateResult({**dict(olds), **dict(news), "config": old_cfg})

        async def go(api: jsc.JetStreamApi) -> dict[str, Any]:
            return await api.consumer_create(new_cfg["stream"], consumer_wire_config(new_cfg),
                                             action="update")

        return UpdateResult(_outputs(news, _run(news, go)))

    def delete(self, id_: str, props: Any) -> None:
        if props.get("prevent_destroy"):
            raise ChangeRefused(f"{_where(props)}: prevent_destroy is true, so it is not deleted; "
                               f"set prevent_destroy: false first")
        stream, _, name = id_.partition("/")

        async def go(api: jsc.JetStreamApi) -> bool:
            return await api.consumer_delete(stream, name)

        _run(props, go)


def _run(props: Mapping[str, Any], fn: Any) -> Any:
    """Replay-safe like the stream provider: ``action: "create"`` succeeds again for the identical
    consumer, ``"update"`` to the same config changes nothing, a second delete finds it gone."""
    c = connection(props)
    return jsc.run(c["server_url"], c["creds"], fn, account_label=c["account_label"], replay_safe=True)


def _outputs(props: Mapping[str, Any], reply: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_user(props),
        **connection(props),
        "config": normalize_server_consumer(reply["config"],
                                            str(reply.get("stream_name", props.get("stream", "")))),
        "created": reply.get("created", ""),
        "num_pending": int(reply.get("num_pending", 0)),
        "num_ack_pending": int(reply.get("num_ack_pending", 0)),
    }


class Consumer(Resource, module="nats", name="Consumer"):
    """A durable JetStream consumer. ``props``: ``stream``, ``name`` and the consumer fields (server
    names), plus server_url, creds, account_label, prevent_destroy."""

    config: pulumi.Output[dict]
    created: pulumi.Output[str]

    def __init__(self, resource_name: str, props: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions] = None):
        secret = pulumi.ResourceOptions(additional_secret_outputs=["creds"])
        full = {**dict(props), **{k: None for k in COMPUTED}}
        super().__init__(ConsumerProvider(), resource_name, full, pulumi.ResourceOptions.merge(secret, opts))
