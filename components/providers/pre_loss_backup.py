"""A snapshot of a stream taken right before the tool replaces or deletes it (``backup_before_loss``).

Each snapshot is its own directory ``<backup_dir>/<STREAM>/<UTC time>/`` holding
- ``backup.json`` (``{"config", "state"}`` as the snapshot API reported them) and ``stream.arc.s2``
  (the server's snapshot bytes, untouched): the layout ``nats stream restore <dir>`` reads
  (natscli 0.5 writes ``stream.arc.s2`` for servers from 2.15 on);
- ``snapshot.bin``, ``config.json``, ``state.json``, ``manifest.json``: the same bytes (a hard link) in
  the layout of ``python -m components.ops.backup restore --from <dir>``, checked by SHA-256.
A new directory per snapshot, because ``nats stream backup``/``restore`` refuse to overwrite one.

The snapshot API needs publish rights on ``$JS.SNAPSHOT.ACK.<stream>.>`` to ack chunks; a small
stream fits in the server's first window of chunks and needs no ack, a larger one stalls without
them and the error says so (``components.ops.backup``).
"""
from __future__ import annotations

import asyncio
import os
import time
from typing import Optional

from components.ops import backup as ops_backup


def snapshot_dir(backup_dir: str, stream: str, now: Optional[float] = None) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    return os.path.join(backup_dir, stream, stamp)


def take(url: str, creds: str, stream: str, backup_dir: str) -> tuple[str, ops_backup.Manifest]:
    """Snapshot ``stream`` now, in both layouts; returns the snapshot directory and its manifest."""
    final = snapshot_dir(backup_dir, stream)
    parent = final + ".partial"

    async def go() -> ops_backup.Manifest:
        errors: list[str] = []
        nc = await ops_backup.connect(url, creds, errors)
        try:
            return await ops_backup.backup(nc, errors, stream, parent, natscli_files=True)
        finally:
            await nc.close()

    manifest = asyncio.run(go())
    os.replace(os.path.join(parent, stream), final)
    os.rmdir(parent)
    return final, manifest
