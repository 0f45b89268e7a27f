"""Wiring of the environment's ``data_protection`` section into the stack (see docs/data-loss.md).

- ``protection_transformation``: gives each stream, KV bucket and object store the
  ``data_protection`` input its provider's ``diff`` reads for a replacement (acknowledged? where to
  back up?). A transformation on the tenants and the platform, so the JetStream resources are built
  as before and objects the section does not name keep exactly their inputs.
- ``data_guard``: the stack's ``DataGuard`` (``components.providers.data_guard``), which refuses
  deleting objects removed from the environment.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Optional

import pulumi

from components.model.data_inventory import declared_objects
from components.model.data_loss import STREAM_PREFIX, DataProtection, Kind
from components.model.environment.model import Environment
from components.providers.data_guard import DataGuard

_KIND_OF_TYPE = {"pulumi-python:dynamic/nats:Stream": Kind.STREAM,
                 "pulumi-python:dynamic/nats:KvBucket": Kind.KV,
                 "pulumi-python:dynamic/nats:ObjectStore": Kind.OBJECT_STORE}


def backup_path(protection: DataProtection, project_dir: str) -> str:
    if not protection.backup_before_loss:
        return ""
    return os.path.normpath(os.path.join(project_dir, protection.backup_before_loss))


def protection_input(protection: DataProtection, kind: Kind, props: Mapping[str, Any],
                     project_dir: str) -> dict[str, Any]:
    name = props.get("bucket") if kind is not Kind.STREAM else props.get("name")
    if not isinstance(name, str):
        return {}
    out: dict[str, Any] = {}
    if protection.allows(name, f"{STREAM_PREFIX[kind]}{name}"):
        out["allow_data_loss"] = True
    if protection.backup_before_loss:
        out["backup_dir"] = backup_path(protection, project_dir)
    return out


def protection_transformation(env: Environment, project_dir: str) -> Callable[..., Any]:
    def transform(args: pulumi.ResourceTransformationArgs) -> Optional[pulumi.ResourceTransformationResult]:
        kind = _KIND_OF_TYPE.get(args.type_)
        if kind is None:
            return None
        extra = protection_input(env.data_protection, kind, args.props, project_dir)
        if not extra:
            return None
        return pulumi.ResourceTransformationResult({**args.props, "data_protection": extra}, args.opts)

    return transform


def after(resource: pulumi.Resource) -> Callable[..., Any]:
    """A transformation making every custom resource below a component wait for ``resource``.

    Used to make the platform's accounts and streams wait for the data guard: removing a tenant also
    changes the platform account (its imports), and that must not reach the server when the guard
    refuses the removal, even in ``up --skip-preview``."""
    def transform(args: pulumi.ResourceTransformationArgs) -> Optional[pulumi.ResourceTransformationResult]:
        if not isinstance(args.resource, pulumi.CustomResource):
            return None
        return pulumi.ResourceTransformationResult(
            args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(depends_on=[resource])))

    return transform


def project_relative(path: str, project_dir: str) -> str:
    """``path`` relative to the project when it lies inside it. The estate driver names the file
    absolutely and a program run by hand (``scripts/pulumi.sh dev-shard-3 preview``) relatively: a
    recorded input that differed between the two would show as a change in one of them."""
    full = os.path.abspath(os.path.join(project_dir, path))
    inside = os.path.commonpath([full, os.path.abspath(project_dir)]) == os.path.abspath(project_dir)
    return os.path.relpath(full, project_dir) if inside else path


def data_guard(env: Environment, url: pulumi.Input[str], system_creds: pulumi.Input[str], expect_servers: int,
               account_keys: Mapping[str, pulumi.Input[str]], project_dir: str,
               opts: Optional[pulumi.ResourceOptions] = None) -> DataGuard:
    objects = [
        {**o, "account_key": account_keys[tenant]}
        for tenant, listed in declared_objects(env).items() for o in listed
    ]
    props = {
        "server_url": url,
        "system_creds": pulumi.Output.secret(system_creds),
        "expect_servers": expect_servers,
        "objects": objects,
        "allow_data_loss": sorted(env.data_protection.allow_data_loss),
        "backup_dir": backup_path(env.data_protection, project_dir),
        "file": project_relative(env.file, project_dir),
    }
    return DataGuard("data-guard", props, opts)
