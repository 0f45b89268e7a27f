"""Each stack's part of a sharded environment, checked once by the driver and handed to its program.

Why: every stack's program would otherwise read and check the whole environment file to keep its
own part. At 10,000 tenants that took 21-54 s on this project's 2-core machine, per program, for a
part of some 25 tenants. The estate driver (``ops/estate.py``) loads and checks the file once per
command, writes the part of each stack it runs here and names the file in the stack's environment
(``PART_VARIABLE``); the program reads it in milliseconds instead (``components/stack_config.py``).
A program run without the driver (``scripts/pulumi.sh dev-shard-3 preview``) reads the whole file.

A part's file is named by its content: the driver's digest of the stack (``shard_stacks``), the
acknowledged data losses (left out of the digests, not out of the part: the guard reads them) and
the source of ``components/model``. So an onboarding writes the parts of the estate and of one
shard, not of every shard, and a change of the rules makes new parts. Files no current digest
names are removed. The parts are pickles under the project's own ``.state`` directory, written only
by the driver: whoever can write there can already change the program.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from typing import Mapping, Optional, Sequence

from components.model.environment.model import Environment
from components.model.fingerprint import model_fingerprint
from components.model.shard_stacks import StackRole, stack_part

#: The environment variable that names the part file of the stack a program runs for.
PART_VARIABLE = "NATS_TENANCY_STACK_PART"

def _folder(project_dir: str, estate: str) -> str:
    return os.path.join(project_dir, ".state", "shards", estate, "parts")


def part_path(project_dir: str, env: Environment, role: StackRole, digest: str) -> str:
    """Where the part of ``role``'s stack with this ``digest`` is kept."""
    key = hashlib.sha256()
    key.update(digest.encode() + b"\0" + repr(sorted(env.data_protection.allow_data_loss)).encode())
    key.update(b"\0" + model_fingerprint())
    name = "estate" if role.shard is None else str(role.shard)
    return os.path.join(_folder(project_dir, env.stack), f"{name}-{key.hexdigest()[:24]}.pickle")


def write_part(project_dir: str, env: Environment, role: StackRole, digest: str,
               members: Optional[Mapping[int, Sequence[str]]] = None) -> str:
    """The path of ``role``'s part of ``env``, written unless a file of the same content is there.

    ``env`` is as ``load_environment`` returned it, already checked.
    """
    path = part_path(project_dir, env, role, digest)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp-{os.getpid()}-{id(role)}"
        with open(tmp, "wb") as f:
            pickle.dump((env.file, role, stack_part(env, role, members)), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    return path


def drop_other_parts(project_dir: str, estate: str, keep: Sequence[str]) -> None:
    """Removes the part files of ``estate`` that are not in ``keep`` (older digests)."""
    folder = _folder(project_dir, estate)
    if not os.path.isdir(folder):
        return
    wanted = {os.path.basename(p) for p in keep}
    for name in os.listdir(folder):
        if name not in wanted and ".tmp-" not in name:
            try:
                os.remove(os.path.join(folder, name))
            except OSError:
                pass   # another driver removed it first


def read_part(path: str, environment_path: str, role: StackRole) -> Optional[Environment]:
    """The part in ``path`` if the driver made it for ``role``'s stack from ``environment_path``.

    Else None: a part of another stack or file is never used, it would drop this stack's tenants.
    """
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        made_from, made_for, part = pickle.load(f)  # noqa: S301 - written by this project's driver under .state
    if (not isinstance(part, Environment) or made_for != role
            or os.path.abspath(made_from) != os.path.abspath(environment_path)):
        return None
    return part
