"""Which backup ``--from`` means, and the manifest check, without a server."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from components.ops.backup import BackupError, backup_dir, load_backup


def _fake_backup(parent: Path, stream: str, data: bytes = b"snap") -> Path:
    folder = parent / stream
    folder.mkdir(parents=True)
    (folder / "snapshot.bin").write_bytes(data)
    (folder / "config.json").write_text(json.dumps({"name": stream}))
    (folder / "state.json").write_text(json.dumps({"messages": 1}))
    (folder / "manifest.json").write_text(json.dumps({
        "stream": stream, "bytes": len(data), "chunks": 1, "sha256": hashlib.sha256(data).hexdigest(),
        "messages": 1, "first_seq": 1, "last_seq": 1}))
    return folder


def test_from_is_the_backup_itself_or_its_parent(tmp_path: Path) -> None:
    one = _fake_backup(tmp_path, "ORDERS")
    assert backup_dir(str(one), None) == str(one)
    assert backup_dir(str(tmp_path), None) == str(one)
    assert backup_dir(str(tmp_path), "ORDERS") == str(one)


def test_several_backups_need_stream(tmp_path: Path) -> None:
    _fake_backup(tmp_path, "ORDERS")
    _fake_backup(tmp_path, "KV_acme_settings")
    with pytest.raises(BackupError, match="choose one with --stream"):
        backup_dir(str(tmp_path), None)
    with pytest.raises(BackupError, match="no backup of stream 'OTHER'"):
        backup_dir(str(tmp_path), "OTHER")


def test_manifest_must_match_the_snapshot(tmp_path: Path) -> None:
    folder = _fake_backup(tmp_path, "ORDERS")
    manifest, config, state, data = load_backup(str(folder))
    assert (manifest.stream, config["name"], data) == ("ORDERS", "ORDERS", b"snap")
    (folder / "snapshot.bin").write_bytes(b"snaq")
    with pytest.raises(BackupError, match="does not match its manifest"):
        load_backup(str(folder))
    (folder / "manifest.json").write_text("[]")
    with pytest.raises(BackupError, match="not a backup manifest"):
        load_backup(str(folder))
