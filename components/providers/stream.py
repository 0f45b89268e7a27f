"""Pulumi dynamic provider for a JetStream stream, and the generic machinery KV buckets and object
stores reuse (both are streams underneath).

Why the shape: the provider object is pickled by reference into state, so it holds nothing
(methods only; hooks are class attributes); connections are reused within the provider process by
``components.nats_io.jetstream.run``, outside the provider object. ``check`` stores the canonical
config as the inputs, so diffs compare canonical forms; ``read`` writes what the server holds into
the outputs, so ``pulumi refresh`` shows drift and the next ``up`` puts it back with the UPDATE API.
Names are natural ids, so a replacement deletes first, and it is refused outright when
``prevent_destroy`` is set.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime import rpc

from components.model.errors import SpecError
from components.model.jetstream import diff as jsdiff
from components.model.jetstream.stream import (
    normalize_server_stream,
    stream_wire_config,
    validate_and_normalize_stream,
)
from components.nats_io import jetstream as jsc
from components.nats_io.errors import JetStreamApiError, JetStreamConnectError, StreamNameInUse
from components.providers import data_impact, pre_loss_backup
from components.providers.errors import ChangeRefused
from components.providers.identity_common import integral

CONNECTION_FIELDS = ("server_url", "creds", "account_label", "prevent_destroy")
COMPUTED_FIELDS = ("config", "created", "messages", "bytes")


def is_unknown(value: Any) -> bool:
    """Unknown during a preview: ``pulumi.output.Unknown`` for computed inputs, ``rpc.UNKNOWN`` nested."""
    return isinstance(value, pulumi.output.Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def contains_unknown(value: Any) -> bool:
    """Unknown anywhere inside (e.g. one subject computed from another resource's output)."""
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return is_unknown(value)


def user_fields(props: Mapping[str, Any], connection: tuple[str, ...] = CONNECTION_FIELDS) -> dict[str, Any]:
    # Pulumi hands every number over as a float: whole floats become ints again before anything is
    # sent, since the server refuses 5.0 for an integer or duration field (err 10025).
    skip = set(connection) | set(COMPUTED_FIELDS) | {data_impact.FIELD}
    return {k: integral(v) for k, v in props.items() if not k.startswith("__") and k not in skip}


def connection(props: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "server_url": props.get("server_url") or "",
        "creds": props.get("creds") or "",
        "account_label": props.get("account_label") or "",
        "prevent_destroy": bool(props.get("prevent_destroy") or False),
    }


def check_failures(error: SpecError) -> list[CheckFailure]:
    return [CheckFailure(p.field.split("[")[0].split(".")[0] or "name", str(p)) for p in error.problems]


def refuse_replacement(kind: str, name: str, changes: list[jsdiff.FieldChange]) -> None:
    raise ChangeRefused(
        f"{kind} {name}: the change needs a replacement, which deletes the {kind} and its data, "
        f"but prevent_destroy is true. Fields: {jsdiff.describe(changes)}. Revert these fields, or "
        f"first apply prevent_destroy: false on its own (the delete runs against the recorded state), "
        f"then apply this change."
    )


class StreamProvider(ResourceProvider):
    """Hooks (class attributes) let KV and object-store providers reuse every method."""

    kind = "stream"
    validate: Callable[[Mapping[str, Any], str], dict[str, Any]] = staticmethod(  # type: ignore[assignment]
        validate_and_normalize_stream)

    # -- hooks ---------------------------------------------------------------------------------
    def to_stream_config(self, canonical_inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The canonical stream config the inputs describe. Normalized again because inputs come
        back from the engine with every number as a float, which the server refuses for int fields."""
        return validate_and_normalize_stream(canonical_inputs, self.where(canonical_inputs))

    def stream_name(self, canonical_inputs: Mapping[str, Any]) -> str:
        return str(canonical_inputs["name"])

    def outputs_from_server(self, config: dict[str, Any]) -> dict[str, Any]:
        """Top-level outputs to overwrite from server state on read (plain streams: all of it)."""
        return config

    # -- provider methods ---------------------------------------------------------------------
    def where(self, props: Mapping[str, Any]) -> str:
        label = props.get("account_label") or "?"
        name = next((props[k] for k in ("name", "bucket") if isinstance(props.get(k), str)), "?")
        return f"account {label}: {self.kind} {name}"

    def check(self, _olds: Any, news: Any) -> CheckResult:
        user = user_fields(news)
        known = {k: v for k, v in user.items() if not contains_unknown(v)}
        try:
            canonical = type(self).validate(known, self.where(news))
        except SpecError as exc:
            pending = set(user) - set(known)
            problems = [p for p in exc.problems if p.field.split("[")[0].split(".")[0] not in pending]
            if problems:
                return CheckResult(news, check_failures(SpecError(problems)))
            return CheckResult(news, [])
        if len(known) != len(user):
            return CheckResult(news, [])  # preview with unknowns: validated what we could
        return CheckResult({**canonical, **connection(news), **data_impact.as_input(news)}, [])

    def diff(self, _id: str, olds: Any, news: Any) -> DiffResult:
        old_cfg = olds.get("config") or self.to_stream_config(user_fields(olds))
        unknown = [k for k, v in user_fields(news).items() if contains_unknown(v)]
        if unknown:
            return DiffResult(changes=True, replaces=[k for k in unknown if k in ("name", "bucket", "storage")],
                              delete_before_replace=True)
        new_cfg = self.to_stream_config(user_fields(news))
        changes = jsdiff.diff_stream(old_cfg, new_cfg)
        replaces = self.input_names(jsdiff.replacements(changes), user_fields(news))
        if replaces and (news.get("prevent_destroy") or olds.get("prevent_destroy")):
            refuse_replacement(self.kind, self.stream_name(user_fields(news)), changes)
        if replaces:
            self.guard_replacement(_id or str(old_cfg.get("name")), olds, news)
        side = [k for k in CONNECTION_FIELDS if olds.get(k) != news.get(k) and not is_unknown(news.get(k))]
        side += ["data_protection"] if data_impact.protection(olds) != data_impact.protection(news) else []
        return DiffResult(changes=bool(changes or side), replaces=replaces, delete_before_replace=True)

    def guard_replacement(self, stream: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> None:
        """Read what the stream holds (with the recorded connection) and refuse an unacknowledged loss."""
        async def go(api: jsc.JetStreamApi) -> Optional[dict[str, Any]]:
            return await api.stream_info(stream)

        user = user_fields(olds)
        name = str(user.get("bucket") or user.get("name") or stream)
        try:
            info: Any = self.run(olds, go)
        except (JetStreamConnectError, JetStreamApiError) as exc:
            info = exc
        impact = data_impact.replacement_impact(self.kind, name, stream, connection(olds)["account_label"],
                                                info, olds, news)
        data_impact.report([impact])
        not_recorded = data_impact.backup_not_recorded(olds, news, impact)
        if not_recorded:
            raise ChangeRefused(not_recorded)

    def input_names(self, stream_fields: list[str], user: Mapping[str, Any]) -> list[str]:
        """Map changed stream-config fields to the input properties the engine should show."""
        return stream_fields

    def create(self, props: Any) -> CreateResult:
        user = user_fields(props)
        cfg = self.to_stream_config(user)
        name = cfg["name"]

        def as_requested(info: Mapping[str, Any]) -> bool:
            return not jsdiff.diff_stream(normalize_server_stream(info["config"]), cfg)

        async def go(api: jsc.JetStreamApi) -> dict[str, Any]:
            """The server answers a create with the identical config with the existing stream, and
            refuses one with another config (StreamNameInUse): that stream is reported, never adopted."""
            try:
                return await api.stream_create(stream_wire_config(cfg), matches=as_requested)
            except StreamNameInUse as exc:
                info = await api.stream_info(name)
                live = normalize_server_stream(info["config"]) if info else {}
                fields = ", ".join(f"{c.field} (server {c.old!r}, wanted {c.new!r})"
                                   for c in jsdiff.diff_stream(live, cfg))
                raise ChangeRefused(
                    f"{self.where(props)}: a {self.kind} with this name already exists with a different "
                    f"configuration: {fields or exc.description}. Adopting it would change it silently; align the "
                    f"inputs with the server, or delete the existing {self.kind} first."
                ) from None

        reply = self.run(props, go)
        return CreateResult(name, self.outputs(props, reply))

    def read(self, id_: str, props: Any) -> ReadResult:
        async def go(api: jsc.JetStreamApi) -> Optional[dict[str, Any]]:
            return await api.stream_info(id_)

        info = self.run(props, go)
        if info is None:
            return ReadResult("", {})
        outs = self.outputs(props, info)
        outs.update(self.outputs_from_server(outs["config"]))
        return ReadResult(id_, outs)

    def update(self, id_: str, olds: Any, news: Any) -> UpdateResult:
        old_cfg = olds.get("config") or self.to_stream_config(user_fields(olds))
        new_cfg = self.to_stream_config(user_fields(news))
        if not jsdiff.diff_stream(old_cfg, new_cfg):
            kept = {k: v for k, v in {**dict(olds), **dict(news)}.items() if k != data_impact.FIELD}
            return UpdateResult({**kept, "config": old_cfg, **data_impact.as_input(news)})

        async def go(api: jsc.JetStreamApi) -> dict[str, Any]:
            return await api.stream_update(stream_wire_config(new_cfg))

        return UpdateResult(self.outputs(news, self.run(news, go)))

    def delete(self, id_: str, props: Any) -> None:
        if props.get("prevent_destroy"):
            raise ChangeRefused(f"{self.where(props)}: prevent_destroy is true, so it is not deleted; "
                               f"set prevent_destroy: false first")

        self.backup_before_loss(id_, props)

        async def go(api: jsc.JetStreamApi) -> bool:
            return await api.stream_delete(id_)

        self.run(props, go)

    def backup_before_loss(self, stream: str, props: Mapping[str, Any]) -> None:
        """Snapshot a stream that holds messages into the recorded ``backup_dir`` (see data_impact)."""
        backup_dir = data_impact.protection(props).get("backup_dir")
        if not backup_dir:
            return

        async def go(api: jsc.JetStreamApi) -> Optional[dict[str, Any]]:
            return await api.stream_info(stream)

        info = self.run(props, go)
        if info and int((info.get("state") or {}).get("messages", 0)) > 0:
            c = connection(props)
            pre_loss_backup.take(c["server_url"], c["creds"], stream, backup_dir)

    # -- helpers -------------------------------------------------------------------------------
    def run(self, props: Mapping[str, Any], fn: Callable[[jsc.JetStreamApi], Any]) -> Any:
        """Every operation here may run twice (after a broken reused connection): a create with the
        same config adopts the stream the first run made (the server answers an identical create
        with the stream), an update to the same config changes nothing, a second delete finds the
        stream gone (False), and infos only read."""
        c = connection(props)
        return jsc.run(c["server_url"], c["creds"], fn, account_label=c["account_label"], replay_safe=True)

    def outputs(self, props: Mapping[str, Any], reply: Mapping[str, Any]) -> dict[str, Any]:
        state = reply.get("state") or {}
        return {
            **user_fields(props),
            **connection(props),
            "config": normalize_server_stream(reply["config"]),
            "created": reply.get("created", ""),
            "messages": int(state.get("messages", 0)),
            "bytes": int(state.get("bytes", 0)),
            **data_impact.as_input(props),
        }


class Stream(Resource, module="nats", name="Stream"):
    """A JetStream stream. ``props``: the stream fields (server names) plus server_url, creds,
    account_label and prevent_destroy. Outputs add ``config`` (as the server holds it), ``created``,
    ``messages`` and ``bytes``."""

    config: pulumi.Output[dict]
    created: pulumi.Output[str]
    messages: pulumi.Output[int]

    def __init__(self, resource_name: str, props: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions] = None):
        secret = pulumi.ResourceOptions(additional_secret_outputs=["creds"])
        full = {**dict(props), **{k: None for k in COMPUTED_FIELDS}}
        super().__init__(StreamProvider(), resource_name, full, pulumi.ResourceOptions.merge(secret, opts))

