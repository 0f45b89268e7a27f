"""A fingerprint of the model's own source: what a kept result was computed by.

Results kept between runs (each stack's part, ``part_cache.py``; validated tenants,
``environment/tenant_memo.py``) carry it, so a change of any rule in ``components/model`` makes
them anew instead of reusing what older rules accepted.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache

_MODEL_DIR = os.path.dirname(os.path.abspath(__file__))


@lru_cache(maxsize=1)
def model_fingerprint() -> bytes:
    """A SHA-256 over the source files of ``components/model``."""
    digest = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(_MODEL_DIR)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as f:
                    digest.update(name.encode() + f.read())
    return digest.digest()
