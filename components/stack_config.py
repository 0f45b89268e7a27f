"""The only place that reads Pulumi stack config: stack settings + the validated environment.

Everything is validated here, before a single resource is registered, so bad input never reaches a
server: an error names the file (environment file or ``Pulumi.<stack>.yaml``), the field and the fix.
"""
from __future__ import annotations

import dataclasses
import os

import pulumi

from components.model.environment.load import (
    StackSettings,
    check_adopted_accounts,
    check_store_key,
    load_environment,
    stack_settings,
)
from components.model.environment.model import Environment
from components.model.errors import SpecError
from components.model.part_cache import PART_VARIABLE, read_part
from components.model.shard_stacks import check_role, stack_part, stack_role

DEV_PASSPHRASE = "nats-tenancy-dev-only"


def _config_values() -> dict[str, object]:
    """Every config key of this project's namespace, so a misspelt key is reported too.

    Secret values arrive decrypted; the secret ones (``operatorSeed``, ``jetstreamKey``) are wrapped as secrets
    again where it is used.
    """
    namespace = pulumi.get_project()
    return {k: v for k, v in pulumi.runtime.get_config_env().items() if k.startswith(f"{namespace}:")}


def load_stack(project_dir: str) -> tuple[StackSettings, Environment]:
    """This stack's settings (with its role, estate or shard: ``model/shard_stacks.py``) and the part
    of its environment it holds. A shard stack reads the estate's environment file under the
    estate's name, so names render alike in every stack of the environment."""
    stack = pulumi.get_stack()
    role = stack_role(stack)
    try:
        settings = stack_settings(stack, _config_values(), default_environment=role.estate)
        path = settings.environment_path
        if not os.path.isabs(path) and os.path.abspath(os.getcwd()) != os.path.abspath(project_dir):
            path = os.path.join(project_dir, path)
        # Run by the estate driver, a stack reads the part the driver checked and kept for it.
        part_file = os.environ.get(PART_VARIABLE)
        cached = read_part(part_file, path, role) if part_file else None
        if part_file and cached is None:
            raise pulumi.RunError(f"{PART_VARIABLE}={part_file} is not a part of {path} for stack '{stack}': "
                                  "run the stack through scripts/estate.sh, or unset the variable")
        env = load_environment(path, stack=role.estate) if cached is None else cached
        if env.servers.mode.value != "local":
            settings = stack_settings(stack, _config_values(), mode=env.servers.mode,
                                      default_environment=role.estate)
        check_role(env, role, stack)
        env = stack_part(env, role)
        check_store_key(settings, env)
        check_adopted_accounts(settings, env)
    except SpecError as e:
        raise pulumi.RunError(f"invalid configuration:\n{e}") from None
    if role.estate != "dev" and os.environ.get("PULUMI_CONFIG_PASSPHRASE") == DEV_PASSPHRASE:
        raise pulumi.RunError(f"stack '{stack}' must not use the dev-only passphrase: set a real "
                              "PULUMI_CONFIG_PASSPHRASE for it")
    return dataclasses.replace(settings, role=role), env
