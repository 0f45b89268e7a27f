"""Repairs the file backend needs after a CLI was killed, before ``pulumi cancel`` can run.

The file backend writes a stack's state as ``<stack>.json`` and its metadata beside it as
``<stack>.json.attrs``. A CLI killed while it wrote the metadata leaves that file empty, and every
later command on the stack fails with ``failed to load checkpoint: EOF``, ``cancel`` included.
Without the metadata file the backend reads the state file itself, which is intact (it is written
first, then renamed into place), so the repair is to remove the empty file. Nothing else is
touched: a non-empty metadata file, or any other file, is left as it is.
"""
from __future__ import annotations

import os
from typing import Iterable
from urllib.parse import urlparse


def drop_empty_metadata(backend_url: str, stacks: Iterable[str]) -> list[str]:
    """Removes the empty ``<stack>.json.attrs`` of ``stacks`` in a ``file://`` backend; the paths removed."""
    parsed = urlparse(backend_url)
    if parsed.scheme != "file":
        return []
    root = os.path.join(parsed.path, ".pulumi", "stacks")
    wanted = {f"{name}.json.attrs" for name in stacks}
    removed = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if name in wanted and os.path.getsize(path) == 0:
                os.remove(path)
                removed.append(path)
    return sorted(removed)
