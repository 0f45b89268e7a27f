"""``state_repair.drop_empty_metadata``: only the empty metadata files of the stacks named go."""
from __future__ import annotations

import os

from components.ops.state_repair import drop_empty_metadata


def test_only_empty_metadata_of_the_named_stacks_is_removed(tmp_path) -> None:
    stacks = tmp_path / ".pulumi" / "stacks" / "nats-tenancy"
    stacks.mkdir(parents=True)
    files = {
        "dev.json": b"{}", "dev.json.attrs": b"",                  # the broken one
        "dev-shard-0.json": b"{}", "dev-shard-0.json.attrs": b'{"checksum": "x"}',
        "other.json": b"{}", "other.json.attrs": b"",              # not asked for
    }
    for name, data in files.items():
        (stacks / name).write_bytes(data)
    removed = drop_empty_metadata(f"file://{tmp_path}", ["dev", "dev-shard-0"])
    assert removed == [str(stacks / "dev.json.attrs")]
    assert sorted(os.listdir(stacks)) == sorted(set(files) - {"dev.json.attrs"})
    assert drop_empty_metadata("s3://bucket", ["dev"]) == []
