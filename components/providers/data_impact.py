"""Data impact of a stream, KV bucket or object store replacement, read from the server in ``diff``.

``diff`` runs in the preview and again in ``up`` before any step of the resource, and the engine
deletes a delete-before-replace resource only after its diff: refusing there stops the change
before the server loses anything. The impact line goes to the provider's stderr, which the CLI
shows among the preview's diagnostics.

The resource input ``data_protection`` carries what the environment says about this object:
``allow_data_loss`` (true when it is acknowledged) and ``backup_dir`` (absolute). It is present only
when set, so objects the section does not mention keep their inputs unchanged.

A backup is taken by ``delete`` (which runs for a replacement too) from the setting recorded in the
object's state by an earlier ``up``: ``delete`` receives only that state, not the new inputs, so a
``backup_before_loss`` added in the same change as the loss is refused with that explanation.
"""
from __future__ import annotations

import sys
from typing import Any, Mapping, Optional

from components.model import data_loss as dl
from components.providers.errors import ChangeRefused

FIELD = "data_protection"
KINDS = {"stream": dl.Kind.STREAM, "key-value bucket": dl.Kind.KV, "object store": dl.Kind.OBJECT_STORE}


def protection(props: Mapping[str, Any]) -> dict[str, Any]:
    """The object's ``data_protection`` input, with defaults dropped ({} when nothing is set)."""
    raw = props.get(FIELD) or {}
    out: dict[str, Any] = {}
    if isinstance(raw, Mapping):
        if raw.get("allow_data_loss"):
            out["allow_data_loss"] = True
        if raw.get("backup_dir"):
            out["backup_dir"] = str(raw["backup_dir"])
    return out


def as_input(props: Mapping[str, Any]) -> dict[str, Any]:
    """``{FIELD: …}`` to merge into inputs or outputs, or nothing when unset."""
    p = protection(props)
    return {FIELD: p} if p else {}


def report(impacts: list[dl.Impact], file: str = "the environment file") -> None:
    """Print each impact for the preview; raise when any loss is not acknowledged."""
    for i in impacts:
        print(dl.preview_line(i), file=sys.stderr, flush=True)
    if any(i.refused for i in impacts):
        raise ChangeRefused(dl.refusals_text(impacts, file))


def backup_not_recorded(olds: Mapping[str, Any], news: Mapping[str, Any], impact: dl.Impact) -> Optional[str]:
    """Why a backup asked for in this very change cannot be taken (None when it can, or is not asked)."""
    wanted = protection(news).get("backup_dir")
    if not wanted or protection(olds).get("backup_dir") or not impact.needs_acknowledgement:
        return None
    return (f"{impact.kind.value} {impact.name} (account {impact.account}): backup_before_loss is new in this "
            f"change, but the snapshot is taken by the delete, which sees only what an earlier up recorded. "
            f"Nothing was replaced or deleted. Apply backup_before_loss on its own first (up), then this change.")


def stored_state(info: Any) -> dl.StoredState:
    """From a STREAM.INFO reply, None (no such stream) or the exception reading it raised."""
    if isinstance(info, Exception):
        return dl.StoredState.unknown(str(info))
    return dl.StoredState.from_stream_info(info)


def replacement_impact(kind: str, name: str, stream: str, account: str, info: Any,
                       olds: Mapping[str, Any], news: Mapping[str, Any]) -> dl.Impact:
    return dl.Impact(KINDS[kind], name, stream, account, dl.Loss.REPLACE, stored_state(info),
                     acknowledged=bool(protection(news).get("allow_data_loss")),
                     backup_dir=protection(olds).get("backup_dir"))
