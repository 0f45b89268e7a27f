"""Each stack's part of a sharded environment, checked once and kept for the stacks' programs.

Why: every shard stack's program would otherwise read and check the whole environment file to keep
its own part. At 10,000 tenants that took 29-54 s on this project's 2-core machine (the YAML alone
most of it), per program, for a part of some 25 tenants. The estate driver (``ops/estate.py``)
loads and checks the file once per command and writes every stack's part here; a program whose
file, estate name and model code are the ones the parts were made from reads its part in
milliseconds instead.

The key is a SHA-256 over the environment file's bytes, the estate stack's name and the source of
``components/model`` (a change of the rules makes new parts). The parts are pickles under the
project's own ``.state`` directory, written only by the driver: whoever can write there can already
change the program.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from typing import Optional

from components.model.environment.model import Environment
from components.model.shard_stacks import StackRole, stack_part

_MODEL_DIR = os.path.dirname(os.path.abspath(__file__))


def _model_fingerprint() -> bytes:
    digest = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(_MODEL_DIR)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as f:
                    digest.update(name.encode() + f.read())
    return digest.digest()


def part_key(environment_path: str, estate: str) -> str:
    """The key of the parts made from this file for this estate by this model code."""
    digest = hashlib.sha256()
    with open(environment_path, "rb") as f:
        digest.update(f.read())
    digest.update(b"\0" + estate.encode() + b"\0" + _model_fingerprint())
    return digest.hexdigest()[:24]


def _folder(project_dir: str, estate: str) -> str:
    return os.path.join(project_dir, ".state", "shards", estate, "parts")


def write_parts(project_dir: str, env: Environment, key: str) -> None:
    """Stores every stack's part of ``env`` under ``key`` and drops the parts of earlier keys.

    ``env`` is as ``load_environment`` returned it, already checked.
    """
    root = _folder(project_dir, env.stack)
    target = os.path.join(root, key)
    if os.path.isdir(target):
        return
    tmp = f"{target}.tmp-{os.getpid()}"
    os.makedirs(tmp, exist_ok=True)
    roles = [StackRole(env.stack)] + [StackRole(env.stack, k) for k in range(env.platform.shards)]
    for role in roles:
        name = "estate" if role.shard is None else str(role.shard)
        with open(os.path.join(tmp, f"{name}.pickle"), "wb") as f:
            pickle.dump(stack_part(env, role), f, protocol=pickle.HIGHEST_PROTOCOL)
    for old in os.listdir(root):
        if old != os.path.basename(tmp):
            shutil.rmtree(os.path.join(root, old), ignore_errors=True)
    os.replace(tmp, target)


def read_part(project_dir: str, role: StackRole, key: str) -> Optional[Environment]:
    """The part ``role``'s stack holds, if the driver made it under ``key``; else None."""
    name = "estate" if role.shard is None else str(role.shard)
    path = os.path.join(_folder(project_dir, role.estate), key, f"{name}.pickle")
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        part = pickle.load(f)  # noqa: S301 - written by this project's driver under its own .state
    return part if isinstance(part, Environment) else None
