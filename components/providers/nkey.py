"""Nkey: a key pair generated once and kept for the life of the resource (seed is a secret output).

Keys are their own resources so that everything signed with or naming a key depends only on
something that never changes: a quota edit re-signs the account JWT (the Account resource) without
making the account's public key unknown in the preview, so the account's users and the platform
shard that imports it show no change.
"""
from __future__ import annotations

from typing import Any, Optional

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider

from components.model.identity.keys import (
    NkeyError,
    keypair_from_seed,
    new_account_key,
    new_operator_key,
    new_user_key,
)
from components.providers.identity_common import generation

_GENERATORS = {"operator": new_operator_key, "account": new_account_key, "user": new_user_key}
_ROLE_LETTER = {"operator": "O", "account": "A", "user": "U"}
#: In preview an input not known yet arrives as this placeholder (pulumi.runtime.rpc.UNKNOWN).
UNKNOWN_PREFIX = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class NkeyProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        role = news.get("role")
        if role not in _GENERATORS:
            return CheckResult(news, [CheckFailure("role", f"{role!r} is not one of {', '.join(_GENERATORS)}")])
        adopted = news.get("adopt_seed")
        if isinstance(adopted, str) and adopted and not adopted.startswith(UNKNOWN_PREFIX):
            try:
                kp = keypair_from_seed(adopted)
            except NkeyError as exc:
                return CheckResult(news, [CheckFailure("adopt_seed", str(exc))])
            if kp.role != _ROLE_LETTER[str(role)]:
                return CheckResult(news, [CheckFailure("adopt_seed", f"the adopted seed is not an {role} seed")])
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # A new generation is how a key is rotated: a new key pair, made before the old one is dropped.
        replaces = ["role"] if olds.get("role") != news.get("role") else []
        if generation(olds) != generation(news):
            replaces.append("generation")
        # Adopting an existing key (or another one) changes the identity; adopting the key the
        # resource already holds changes nothing.
        adopted = news.get("adopt_seed")
        if adopted and keypair_from_seed(str(adopted)).public_key != olds.get("public_key"):
            replaces.append("adopt_seed")
        return DiffResult(changes=bool(replaces), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        adopted = props.get("adopt_seed")
        kp = keypair_from_seed(str(adopted)) if adopted else _GENERATORS[str(props["role"])]()
        out = {"role": props["role"], "generation": generation(props), "public_key": kp.public_key, "seed": kp.seed}
        if adopted:
            out["adopt_seed"] = adopted
        return CreateResult(kp.public_key, out)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        if props.get("seed") and keypair_from_seed(str(props["seed"])).public_key != id_:
            raise ValueError(f"nkey {id_}: the stored seed does not match the public key")
        return ReadResult(id_, props)


class Nkey(pulumi.dynamic.Resource, module="nats", name="Nkey"):
    public_key: pulumi.Output[str]
    seed: pulumi.Output[str]

    def __init__(self, name: str, *, role: str, generation: int = 1, adopt_seed: Optional[pulumi.Input[str]] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        """``generation``: raising it replaces the key pair (a rotation). ``adopt_seed``: an existing
        key to take over (an account made with nsc) instead of generating one; a secret."""
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["seed"]))
        props: dict[str, Any] = {"role": role, "generation": generation, "public_key": None, "seed": None}
        if adopt_seed is not None:   # only then: keys made here keep exactly their inputs
            props["adopt_seed"] = pulumi.Output.secret(adopt_seed)
        super().__init__(NkeyProvider(), name, props, opts)
