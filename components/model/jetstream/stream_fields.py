"""The stream field catalogue, checked against nats-server 2.15.1 (``checkStreamCfg`` for defaults,
``configUpdateCheck`` for what an UPDATE may change; each rule was also tried on a live server).

Nested settings (sources, mirror, subject transforms, republish, consumer limits) are read by the
functions below the table, which report problems under the nested path (``sources[1].name``).
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from components.model.jetstream import catalogue as cat
from components.model.jetstream._fields import Fields
from components.model.jetstream.catalogue import IN_PLACE, Field, refused, replace, turned_off

RETENTION = ("limits", "interest", "workqueue")
STORAGE = ("file", "memory")
DISCARD = ("old", "new")
COMPRESSION = ("none", "s2")
SOURCE_FIELDS = ("name", "filter_subject", "opt_start_seq", "opt_start_time", "external", "subject_transforms")
TRANSFORM_FIELDS = ("src", "dest")
REPUBLISH_FIELDS = ("src", "dest", "headers_only")
CONSUMER_LIMIT_FIELDS = ("inactive_threshold", "max_ack_pending")


def _stream_name(f: Fields, key: str, user: bool) -> str:
    return f.name(key, "stream") if user else f.str_(key)


def _workqueue(old: Any, new: Any) -> bool:
    return bool(old == "workqueue") != bool(new == "workqueue")


def _mirror_changed(old: Any, new: Any) -> bool:
    return not (old is not None and new is None)  # removing the mirror promotes the stream, in place


def read_transform(f: Fields, path: str, value: Any) -> Optional[dict[str, str]]:
    """A subject transform ``{src, dest}``; the server keeps an omitted ``src`` as ``""``."""
    if not isinstance(value, Mapping):
        f.problems.add(f.path(path), f"{value!r} is not a map", "write {src: <subjects>, dest: <mapping>}")
        return None
    sub = Fields(value, f.problems.file, TRANSFORM_FIELDS, prefix=f"{f.path(path)}.")
    out = {"src": sub.str_("src"), "dest": sub.str_("dest")}
    f.problems.items.extend(sub.problems.items)
    return out


def _subject_transform(f: Fields, key: str, user: bool) -> Optional[dict[str, str]]:
    return read_transform(f, key, f.raw(key)) if f.has(key) else None


def _republish(f: Fields, key: str, user: bool) -> Optional[dict[str, Any]]:
    """``{src, dest, headers_only}``; the server fills an omitted ``src`` with ``>``."""
    if not f.has(key):
        return None
    value = f.raw(key)
    if not isinstance(value, Mapping):
        f.problems.add(f.path(key), f"{value!r} is not a map", "write {src: <subjects>, dest: <subjects>}")
        return None
    sub = Fields(value, f.problems.file, REPUBLISH_FIELDS, prefix=f"{f.path(key)}.")
    out = {"src": sub.str_("src") or ">", "dest": sub.str_("dest"), "headers_only": sub.bool_("headers_only")}
    f.problems.items.extend(sub.problems.items)
    return out


def read_source(f: Fields, path: str, value: Any) -> dict[str, Any]:
    """One canonical stream source or mirror from user input.

    The origin stream name, and only the options that were set: start sequence or time, filter,
    subject transforms, external API.
    """
    if not isinstance(value, Mapping):
        f.problems.add(f.path(path), f"{value!r} is not a map", "write {name: <origin stream>, ...}")
        return {"name": ""}
    sub = Fields(value, f.problems.file, SOURCE_FIELDS, prefix=f"{f.path(path)}.")
    out: dict[str, Any] = {"name": sub.str_("name")}
    if not out["name"]:
        sub.problems.add(sub.path("name"), "the origin stream name is required", "set name")
    if sub.str_("filter_subject"):
        out["filter_subject"] = sub.str_("filter_subject")
    if sub.int_("opt_start_seq", 0, minimum=0):
        out["opt_start_seq"] = sub.int_("opt_start_seq", 0)
    if sub.str_("opt_start_time"):
        out["opt_start_time"] = sub.str_("opt_start_time")
    external = sub.raw("external")
    if isinstance(external, Mapping) and external:
        out["external"] = {k: str(v) for k, v in sorted(external.items()) if v}
    transforms = sub.raw("subject_transforms")
    if sub.has("subject_transforms"):
        if not isinstance(transforms, (list, tuple)):
            sub.problems.add(sub.path("subject_transforms"), f"{transforms!r} is not a list",
                             "write a list of {src, dest}")
        else:
            read = [read_transform(sub, f"subject_transforms[{i}]", t) for i, t in enumerate(transforms)]
            if read:
                out["subject_transforms"] = [t for t in read if t is not None]
    f.problems.items.extend(sub.problems.items)
    return out


def _mirror(f: Fields, key: str, user: bool) -> Optional[dict[str, Any]]:
    return read_source(f, key, f.raw(key)) if f.has(key) else None


def _sources(f: Fields, key: str, user: bool) -> list[dict[str, Any]]:
    if not f.has(key):
        return []
    value = f.raw(key)
    if not isinstance(value, (list, tuple)):
        f.problems.add(f.path(key), f"{value!r} is not a list", "write a list of {name: ...}")
        return []
    return [read_source(f, f"{key}[{i}]", item) for i, item in enumerate(value)]


def _consumer_limits(f: Fields, key: str, user: bool) -> dict[str, int]:
    if not f.has(key):
        return {}
    value = f.raw(key)
    if not isinstance(value, Mapping):
        f.problems.add(f.path(key), f"{value!r} is not a map", "write {inactive_threshold, max_ack_pending}")
        return {}
    sub = Fields(value, f.problems.file, CONSUMER_LIMIT_FIELDS, prefix=f"{key}.")
    out = {"inactive_threshold": sub.duration("inactive_threshold"),
           "max_ack_pending": sub.int_("max_ack_pending", 0, minimum=0)}
    f.problems.items.extend(sub.problems.items)
    return {k: v for k, v in out.items() if v}


def _flag(name: str, description: str, update: cat.Update = IN_PLACE) -> Field:
    return Field(name, "bool", cat.flag(), "false", "false", update, description)


STREAM_CATALOGUE: tuple[Field, ...] = (
    Field("name", "string", _stream_name, "required", "—", replace("the name is the stream's identity"),
          "Stream name: no dots, spaces, `*` or `>`, at most 255 characters."),
    Field("description", "string", cat.text(), '""', '""', IN_PLACE, "Free text shown by `nats stream info`."),
    Field("subjects", "list of subjects", cat.string_list(), "`[name]` unless mirror/sources", "`[name]`", IN_PLACE,
          "Subjects the stream captures; none may overlap another of the same stream or account."),
    Field("retention", "limits|interest|workqueue", cat.choice(RETENTION, "limits"), "limits", "limits",
          replace("the server can not change retention to or from workqueue", _workqueue, "to or from workqueue"),
          "When messages are removed: by limits, once every consumer acked, or once one consumer acked."),
    Field("storage", "file|memory", cat.choice(STORAGE, "file"), "file", "file",
          replace("the server can not move a stream between file and memory storage"),
          "Where messages are stored."),
    Field("discard", "old|new", cat.choice(DISCARD, "old"), "old", "old", IN_PLACE,
          "At a limit, drop the oldest messages or refuse new ones."),
    Field("max_age", "duration", cat.duration(), "0 (forever)", "0", IN_PLACE,
          "Oldest message kept; 0 keeps forever, else at least 100ms."),
    Field("duplicate_window", "duration", cat.duration(), "2m, or max_age if shorter (none for mirrors/sources)",
          "same", IN_PLACE, "Window for `Nats-Msg-Id` deduplication; at most max_age."),
    Field("max_msgs", "count", cat.count_limit(), "-1 (unlimited)", "-1", IN_PLACE, "Most messages kept."),
    Field("max_bytes", "size", cat.size_limit(), "-1 (unlimited)", "-1", IN_PLACE,
          "Most bytes kept; counts against the account's quota times num_replicas."),
    Field("max_msg_size", "size", cat.size_limit(), "-1 (unlimited)", "-1", IN_PLACE,
          "Largest message accepted; at most max_bytes and 2147483647."),
    Field("max_msgs_per_subject", "count", cat.count_limit(), "-1 (unlimited)", "-1", IN_PLACE,
          "Most messages kept per subject (a KV bucket's history)."),
    Field("max_consumers", "count", cat.count_limit(), "-1 (unlimited)", "-1", IN_PLACE, "Most consumers."),
    Field("num_replicas", "whole number 1..5", lambda f, key, user: f.int_(key, 1, minimum=0) or 1, "1", "1",
          IN_PLACE, "Copies in a cluster (a single server holds only 1)."),
    Field("compression", "none|s2", cat.choice(COMPRESSION, "none"), "none", "none", IN_PLACE,
          "S2 compression of the stored message blocks (file storage; memory streams accept and keep the setting)."),
    Field("subject_delete_marker_ttl", "duration", cat.duration(), "0 (off)", "0", IN_PLACE,
          "Leave a delete marker with this TTL when max_age removes a subject's last message; at least 1s; "
          "turns on allow_msg_ttl and allow_rollup_hdrs."),
    Field("metadata", "map of strings", cat.metadata(), "{}", "adds `_nats.*` (ignored)", IN_PLACE,
          "Free key/values; keys starting `_nats.` belong to the server."),
    Field("mirror", "source", _mirror, "none", "none",
          replace("the server can not add or change a stream's mirror (10055)", _mirror_changed,
                  "when added or changed (removing it promotes the stream)"),
          "Copy another stream: `{name, filter_subject, opt_start_seq, opt_start_time, external, "
          "subject_transforms}`; a mirror has no subjects, sources or duplicate_window."),
    Field("sources", "list of sources", _sources, "[]", "[]", IN_PLACE,
          "Streams to aggregate, each like a mirror; filter_subject and subject_transforms exclude each other."),
    Field("subject_transform", "transform", _subject_transform, "none", "none", IN_PLACE,
          "Rewrite incoming subjects: `{src, dest}` with `$1`/`{{wildcard(n)}}` in dest."),
    Field("republish", "republish", _republish, "none", "none", IN_PLACE,
          "Publish a copy of each stored message: `{src (default >), dest, headers_only}`; dest must not "
          "loop back into the stream."),
    Field("consumer_limits", "map", _consumer_limits, "{}", "{}", IN_PLACE,
          "Defaults and caps for the stream's consumers: `{inactive_threshold, max_ack_pending}`."),
    _flag("allow_direct", "Answer direct gets (`$JS.API.DIRECT.GET`) from any replica."),
    _flag("mirror_direct", "A mirror answers direct gets for its origin (set by the server from the origin)."),
    _flag("sealed", "No more writes, deletes or purges; only by an update, never at creation.",
          refused("a sealed stream can not be unsealed, and replacing it would delete what the seal keeps",
                  turned_off, "when turned off")),
    _flag("deny_delete", "Refuse deleting single messages.",
          replace("deny_delete can not be turned off once set", turned_off, "when turned off")),
    _flag("deny_purge", "Refuse purges.",
          replace("deny_purge can not be turned off once set", turned_off, "when turned off")),
    _flag("allow_rollup_hdrs", "Allow `Nats-Rollup` headers (needs deny_purge false)."),
    _flag("allow_msg_ttl", "Allow per-message TTLs (`Nats-TTL`).",
          replace("allow_msg_ttl can not be turned off once set", turned_off, "when turned off")),
    _flag("discard_new_per_subject", "With discard new and max_msgs_per_subject: refuse per subject."),
    _flag("no_ack", "Send no publish acks (needed for subjects with a leading wildcard)."),
)

STREAM_FIELDS = cat.names(STREAM_CATALOGUE)
FLAGS = tuple(f.name for f in STREAM_CATALOGUE if f.type == "bool")
