"""Stream backup and restore through the JetStream snapshot API.

    python -m components.ops.backup backup  --url nats://… --creds FILE --stream NAME --out DIR
    python -m components.ops.backup restore --url nats://… --creds FILE --from DIR [--stream NAME] [--replace]

A backup of stream S is the directory ``DIR/S/`` with ``snapshot.bin`` (the server's snapshot
bytes, untouched), ``config.json`` and ``state.json`` (as the server reported them when the
snapshot was taken) and ``manifest.json`` (size and SHA-256, checked before a restore). KV buckets
and object stores are streams (``KV_<bucket>``, ``OBJ_<bucket>``) and back up the same way.

Protocol (nats-server 2.15, server/jetstream_api.go):
- ``$JS.API.STREAM.SNAPSHOT.<S>`` with ``{"deliver_subject", "chunk_size"}`` answers with the
  stream's ``config`` and ``state``, then sends the chunks to ``deliver_subject``. Every full chunk
  carries a reply subject under ``$JS.SNAPSHOT.ACK.<S>.…``; the server keeps a window of unacked
  chunks in flight and gives up after 5 s without an ack, so each chunk is acked as it arrives.
  The end is an empty message: status ``204`` after full chunks, *no* header at all when the whole
  snapshot fit in one short chunk, ``408``/``500`` with a description when it failed.
- ``$JS.API.STREAM.RESTORE.<S>`` with ``{"config", "state"}`` answers with a ``deliver_subject``
  (under ``$JS.SNAPSHOT.RESTORE.<S>.…``). Each chunk is a request; an empty reply means stored, a
  JSON reply is an error. A final empty request ends the upload and its reply is a stream-create
  response with the restored stream's info. The server gives up after 5 s without a chunk.
- The stream name is inside the snapshot: a restore under another name is refused ("stream names
  do not match"), and a restore over an existing stream fails with err_code 10130
  (``RestoreNameInUse``).
- The user needs publish rights on ``$JS.SNAPSHOT.ACK.<S>.>`` (backup) or
  ``$JS.SNAPSHOT.RESTORE.<S>.>`` (restore) besides ``$JS.API.>``: the provisioning role does not
  grant them, so a violation is reported with that hint.

Pulumi stays the source of truth for configuration: restore never replaces an existing stream
unless ``--replace`` is given.

``nats stream backup``/``restore`` (natscli) use the same snapshot API. This tool stays for what
natscli does not do: a manifest (size, SHA-256, message count, sequence range) checked before a
restore, ``--replace``, and the backups the stack takes itself before a data loss. Its backups also
carry natscli's files, so ``nats stream restore`` reads them, and it restores natscli's backups.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any, Optional

from components.model.errors import NatsTenancyError
from components.nats_io import messaging
from components.nats_io.connect import Client
from components.nats_io.connect import connect as nats_connect
from components.nats_io.errors import (
    JetStreamApiError,
    JetStreamApiTimeout,
    JetStreamNotEnabledForAccount,
    NatsConnectError,
    RequestTimeout,
    RestoreNameInUse,
    StreamNotFound,
    api_error,
)
from components.nats_io.jetstream import API, JetStreamApi

SNAPSHOT_FILE = "snapshot.bin"
CONFIG_FILE = "config.json"
STATE_FILE = "state.json"
MANIFEST_FILE = "manifest.json"
#: The layout of ``nats stream backup`` (natscli 0.5 against servers from 2.15 on): the snapshot
#: API's ``{"config", "state"}`` and the server's snapshot bytes, untouched.
NATSCLI_META_FILE = "backup.json"
NATSCLI_DATA_FILE = "stream.arc.s2"
DEFAULT_CHUNK = 128 * 1024
#: The server waits 5 s for the next chunk or ack; stay well inside it per step.
STEP_TIMEOUT = 10.0


class BackupError(NatsTenancyError, RuntimeError):
    """A backup or restore could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    stream: str
    bytes: int
    chunks: int
    sha256: str
    messages: int
    first_seq: int
    last_seq: int


async def connect(url: str, creds: str, errors: list[str], timeout: float = 5.0) -> Client:
    """Fail fast (no reconnect) and keep async errors: permission violations only show there."""
    try:
        return await nats_connect(url, creds, name="nats-tenancy-backup", timeout=timeout, errors=errors)
    except NatsConnectError as exc:
        raise BackupError(f"cannot reach NATS at {url}: {exc.detail}") from exc


async def api(nc: Client, subject: str, body: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The reply of ``$JS.API.<subject>``. An error reply raises its ``JetStreamApiError`` class;
    no reply at all is a ``BackupError``."""
    try:
        return await JetStreamApi(nc, timeout=STEP_TIMEOUT).request(subject, body, enrich=False)
    except JetStreamApiTimeout:
        raise BackupError(f"{API}.{subject}: no reply within {STEP_TIMEOUT}s") from None
    except JetStreamNotEnabledForAccount as exc:
        if exc.code != 503:  # an answer: the account has no JetStream
            raise
        raise BackupError(f"{API}.{subject}: no JetStream responders (JetStream off for this account?)") from None


def _refusal(reply: dict[str, Any]) -> Optional[JetStreamApiError]:
    """The error of a reply that arrived outside ``api`` (chunk acks, the end of a restore)."""
    error = reply.get("error")
    return api_error(error) if error else None


def _permission_hint(errors: list[str], prefix: str) -> str:
    seen = [e for e in errors if "permissions violation" in e.lower()]
    if not seen:
        return ""
    return (f"; the server refused a publish ({seen[0]}): the user needs publish rights on "
            f"'{prefix}.>' as well as '$JS.API.>'")


def write_json(path: str, doc: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")


async def backup(nc: Client, errors: list[str], stream: str, out_dir: str, chunk_size: int = DEFAULT_CHUNK,
                 natscli_files: bool = False) -> Manifest:
    """Snapshot ``stream`` into ``out_dir/<stream>/``; the snapshot file is written as it arrives.

    ``natscli_files``: also write ``backup.json`` and ``stream.arc.s2`` (a hard link to the same
    bytes), so ``nats stream restore out_dir/<stream>`` restores this backup as well."""
    target = os.path.join(out_dir, stream)
    os.makedirs(target, exist_ok=True)
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    try:
        try:
            reply = await api(nc, f"STREAM.SNAPSHOT.{stream}", {"deliver_subject": inbox, "chunk_size": chunk_size})
        except JetStreamApiError as exc:
            raise BackupError(f"snapshot of stream {stream!r} refused: {exc.detail}") from None
        digest, size, chunks = hashlib.sha256(), 0, 0
        partial = os.path.join(target, SNAPSHOT_FILE + ".partial")
        with open(partial, "wb") as f:
            while True:
                msg = await messaging.next_msg(sub, STEP_TIMEOUT)
                if msg is None:
                    raise BackupError(f"snapshot of {stream!r} stalled after {chunks} chunks"
                                      f"{_permission_hint(errors, f'$JS.SNAPSHOT.ACK.{stream}')}")
                if not msg.data:
                    status = messaging.status(msg)
                    if status and status != "204":
                        desc = (msg.headers or {}).get("Description", "")
                        raise BackupError(f"snapshot of {stream!r} failed on the server: {status} {desc}"
                                          f"{_permission_hint(errors, f'$JS.SNAPSHOT.ACK.{stream}')}")
                    break
                f.write(msg.data)
                digest.update(msg.data)
                size += len(msg.data)
                chunks += 1
                if msg.reply:
                    await nc.publish(msg.reply, b"")
        os.replace(partial, os.path.join(target, SNAPSHOT_FILE))
    finally:
        await messaging.unsubscribe(sub)
    state = reply.get("state") or {}
    write_json(os.path.join(target, CONFIG_FILE), reply.get("config") or {})
    write_json(os.path.join(target, STATE_FILE), state)
    manifest = Manifest(stream, size, chunks, digest.hexdigest(), int(state.get("messages", 0)),
                        int(state.get("first_seq", 0)), int(state.get("last_seq", 0)))
    write_json(os.path.join(target, MANIFEST_FILE), asdict(manifest))
    if natscli_files:
        write_json(os.path.join(target, NATSCLI_META_FILE), {"config": reply.get("config") or {}, "state": state})
        data_file = os.path.join(target, NATSCLI_DATA_FILE)
        if os.path.exists(data_file):
            os.remove(data_file)
        os.link(os.path.join(target, SNAPSHOT_FILE), data_file)
    return manifest


def _is_backup(path: str) -> bool:
    """A backup of this tool (manifest) or of ``nats stream backup`` (backup.json + stream.arc.s2)."""
    return os.path.exists(os.path.join(path, MANIFEST_FILE)) or (
        os.path.exists(os.path.join(path, NATSCLI_META_FILE)) and os.path.exists(os.path.join(path, NATSCLI_DATA_FILE)))


def backup_dir(from_dir: str, stream: Optional[str]) -> str:
    """The one stream backup meant by ``--from`` (itself a backup, or a parent of several)."""
    if not os.path.isdir(from_dir):
        raise BackupError(f"{from_dir} is not a directory")
    if _is_backup(from_dir):
        return from_dir
    if stream:
        path = os.path.join(from_dir, stream)
        if not _is_backup(path):
            raise BackupError(f"no backup of stream {stream!r} in {from_dir} (expected {path}/{MANIFEST_FILE}, "
                              f"or {NATSCLI_META_FILE} and {NATSCLI_DATA_FILE} from nats stream backup)")
        return path
    found = sorted(d for d in os.listdir(from_dir) if _is_backup(os.path.join(from_dir, d)))
    if len(found) != 1:
        raise BackupError(f"{from_dir} holds backups of {found or 'no streams'}: choose one with --stream")
    return os.path.join(from_dir, found[0])


def _read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_backup(path: str) -> tuple[Manifest, dict[str, Any], dict[str, Any], bytes]:
    """Config, state and snapshot bytes of a backup, checked against its manifest. A backup made by
    ``nats stream backup`` has no manifest (natscli records no checksum): its bytes are taken as
    they are and the server's restore is the only check."""
    if not os.path.exists(os.path.join(path, MANIFEST_FILE)):
        return _load_natscli_backup(path)
    try:
        manifest = Manifest(**_read_json(os.path.join(path, MANIFEST_FILE)))
    except (ValueError, TypeError) as exc:
        raise BackupError(f"{path}/{MANIFEST_FILE} is not a backup manifest: {exc}") from exc
    with open(os.path.join(path, SNAPSHOT_FILE), "rb") as f:
        data = f.read()
    if len(data) != manifest.bytes or hashlib.sha256(data).hexdigest() != manifest.sha256:
        raise BackupError(f"{path}/{SNAPSHOT_FILE} does not match its manifest (size or SHA-256): refusing to restore")
    return manifest, _read_json(os.path.join(path, CONFIG_FILE)), _read_json(os.path.join(path, STATE_FILE)), data


def _load_natscli_backup(path: str) -> tuple[Manifest, dict[str, Any], dict[str, Any], bytes]:
    try:
        meta = _read_json(os.path.join(path, NATSCLI_META_FILE))
        config, state = dict(meta["config"]), dict(meta.get("state") or {})
        name = str(config["name"])
    except (ValueError, TypeError, KeyError) as exc:
        raise BackupError(f"{path}/{NATSCLI_META_FILE} is not a nats stream backup: {exc}") from exc
    with open(os.path.join(path, NATSCLI_DATA_FILE), "rb") as f:
        data = f.read()
    manifest = Manifest(name, len(data), 0, hashlib.sha256(data).hexdigest(), int(state.get("messages", 0)),
                        int(state.get("first_seq", 0)), int(state.get("last_seq", 0)))
    return manifest, config, state, data


async def restore(nc: Client, errors: list[str], path: str, stream: Optional[str] = None, replace: bool = False,
                  chunk_size: int = DEFAULT_CHUNK) -> dict[str, Any]:
    """Restore the backup in ``path``; returns the restored stream's info from the server."""
    manifest, config, state, data = load_backup(path)
    name = manifest.stream
    if stream and stream != name:
        raise BackupError(f"the backup in {path} is of stream {name!r}, not {stream!r}: the server restores a "
                          "snapshot only under its own name")
    try:
        await api(nc, f"STREAM.INFO.{name}")
    except StreamNotFound:
        pass  # nothing to overwrite
    except JetStreamApiError as exc:
        raise BackupError(f"cannot check stream {name!r}: {exc.detail}") from None
    else:
        if not replace:
            raise BackupError(f"stream {name!r} exists: Pulumi owns its configuration, so restore will not "
                              "overwrite it; delete it or pass --replace")
        try:
            await api(nc, f"STREAM.DELETE.{name}")
        except JetStreamApiError as exc:
            raise BackupError(f"could not delete stream {name!r} before restoring: {exc.detail}") from None

    try:
        reply = await api(nc, f"STREAM.RESTORE.{name}", {"config": config, "state": state})
    except RestoreNameInUse as exc:  # the server never restores over an existing stream
        raise BackupError(f"restore of stream {name!r} refused: a stream of that name exists again (made since "
                          f"the check): {exc.detail}") from None
    except JetStreamApiError as exc:
        raise BackupError(f"restore of stream {name!r} refused: {exc.detail}") from None
    deliver = str(reply["deliver_subject"])
    hint = _permission_hint
    for offset in range(0, len(data), chunk_size):
        try:
            ack = await messaging.request(nc, deliver, data[offset:offset + chunk_size], timeout=STEP_TIMEOUT)
        except RequestTimeout:
            raise BackupError(f"restore of {name!r}: no ack for the chunk at byte {offset}"
                              f"{hint(errors, f'$JS.SNAPSHOT.RESTORE.{name}')}") from None
        if ack.data:
            failed = _refusal(json.loads(ack.data))
            raise BackupError(f"restore of {name!r} failed at byte {offset}: "
                              f"{failed.detail if failed else repr(ack.data)}")
    try:
        done = await messaging.request(nc, deliver, b"", timeout=STEP_TIMEOUT * 3)
    except RequestTimeout:
        raise BackupError(f"restore of {name!r}: the server did not confirm the end of the upload") from None
    result: dict[str, Any] = json.loads(done.data)
    failed = _refusal(result)
    if failed:
        raise BackupError(f"restore of {name!r} failed: {failed.detail}")
    return result


def _read_creds(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


async def _run(args: argparse.Namespace) -> str:
    errors: list[str] = []
    path = ""
    if args.command == "restore":  # find and check the backup before touching the server
        path = backup_dir(args.from_dir, args.stream)
        load_backup(path)
    nc = await connect(args.url, _read_creds(args.creds) if args.creds else "", errors)
    try:
        if args.command == "backup":
            m = await backup(nc, errors, args.stream, args.out, args.chunk_size, natscli_files=True)
            return (f"backed up stream {m.stream}: {m.messages} messages (seq {m.first_seq}..{m.last_seq}), "
                    f"{m.bytes} bytes in {m.chunks} chunks -> {os.path.join(args.out, m.stream)}")
        info = await restore(nc, errors, path, args.stream, args.replace, args.chunk_size)
        st = (info.get("state") or {})
        return (f"restored stream {info.get('config', {}).get('name')}: {st.get('messages')} messages "
                f"(seq {st.get('first_seq')}..{st.get('last_seq')}) from {path}")
    finally:
        await nc.close()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.ops.backup",
                                     description="Back up and restore JetStream streams (and KV buckets).")
    sub = parser.add_subparsers(dest="command", required=True)
    for cmd in ("backup", "restore"):
        p = sub.add_parser(cmd)
        p.add_argument("--url", required=True, help="NATS URL, e.g. nats://127.0.0.1:4222")
        p.add_argument("--creds", help="creds file of a user of the stream's account")
        p.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, help="bytes per chunk (1 KiB to 1 MiB)")
        if cmd == "backup":
            p.add_argument("--stream", required=True, help="stream name (a KV bucket is KV_<bucket>)")
            p.add_argument("--out", required=True, help="directory; the backup goes to OUT/<stream>/")
        else:
            p.add_argument("--from", dest="from_dir", required=True, help="a backup directory or its parent")
            p.add_argument("--stream", help="which stream, when --from holds several")
            p.add_argument("--replace", action="store_true", help="delete an existing stream of that name first")
    args = parser.parse_args(argv)
    try:
        print(asyncio.run(_run(args)))
    except (NatsTenancyError, OSError) as exc:  # BackupError, and the adapter's TLS settings or lost replies
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
