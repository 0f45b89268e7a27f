"""Operator: the operator key, the system account and a system user, created once and kept.

The operator JWT and the system account JWT go into the rendered server config (the system account is
preloaded so the ``full`` resolver can start); the system user's creds let other providers push
accounts at runtime. An operator made with ``nsc`` is adopted by passing its seed (a secret) as
``operator_seed``; otherwise a new key is generated. Seeds and creds are secret outputs.
"""
from __future__ import annotations

from typing import Any, Optional

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from components.model.identity import roles
from components.model.identity.account import NO_JETSTREAM, AccountLimits, AccountSpec, account_claims
from components.model.identity.creds import format_user_creds
from components.model.identity.keys import KeyPair, keypair_from_seed, new_account_key, new_operator_key, new_user_key
from components.model.identity.operator import operator_claims
from components.model.identity.user import user_claims
from components.providers.identity_common import is_unknown, sign_if_changed

SECRET_OUTPUTS = ["operator_seed", "system_account_seed", "system_user_seed", "system_user_creds"]
_INPUTS = ("name", "system_account_name", "operator_seed")


def _issue_all(props: dict[str, Any], op: KeyPair, sys_acct: KeyPair, sys_user: KeyPair,
               olds: Optional[dict[str, Any]]) -> dict[str, Any]:
    name = str(props["name"])
    op_claims = operator_claims(name, op.public_key, sys_acct.public_key)
    op_jwt, op_fp, _ = sign_if_changed(op_claims, op.seed, _sub(olds, "operator"))
    # The server refuses to start when the system account has JetStream enabled.
    sys_spec = AccountSpec(name=str(props.get("system_account_name") or "SYS"),
                           limits=AccountLimits(jetstream=NO_JETSTREAM))
    acct_claims = account_claims(sys_spec, sys_acct.public_key)
    acct_jwt, acct_fp, _ = sign_if_changed(acct_claims, op.seed, _sub(olds, "system_account"))
    spec = roles.system_user()
    u_claims = user_claims(spec, sys_user.public_key, sys_acct.public_key, issuer_is_signing_key=False)
    u_jwt, u_fp, _ = sign_if_changed(u_claims, sys_acct.seed, _sub(olds, "system_user"))
    return {
        "name": name,
        "system_account_name": props.get("system_account_name") or "SYS",
        "operator_public_key": op.public_key,
        "operator_seed": op.seed,
        "operator_jwt": op_jwt,
        "operator_fingerprint": op_fp,
        "operator_issuer": op.public_key,
        "system_account_public_key": sys_acct.public_key,
        "system_account_seed": sys_acct.seed,
        "system_account_jwt": acct_jwt,
        "system_account_fingerprint": acct_fp,
        "system_account_issuer": op.public_key,
        "system_user_public_key": sys_user.public_key,
        "system_user_seed": sys_user.seed,
        "system_user_jwt": u_jwt,
        "system_user_fingerprint": u_fp,
        "system_user_issuer": sys_acct.public_key,
        "system_user_creds": format_user_creds(u_jwt, sys_user.seed),
    }


def _sub(olds: Optional[dict[str, Any]], prefix: str) -> Optional[dict[str, Any]]:
    """View of one token's fields in the old outputs, in the shape sign_if_changed expects."""
    if not olds:
        return None
    return {"jwt": olds.get(f"{prefix}_jwt"), "fingerprint": olds.get(f"{prefix}_fingerprint"),
            "issuer": olds.get(f"{prefix}_issuer")}


class OperatorProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        name = news.get("name")
        if not is_unknown(name) and not name:
            failures.append(CheckFailure("name", "the operator needs a name"))
        seed = news.get("operator_seed")
        if seed and not is_unknown(seed):
            try:
                if keypair_from_seed(str(seed)).role != "O":
                    failures.append(CheckFailure("operator_seed", "not an operator seed (SO…)"))
            except Exception as e:  # the nkeys library raises several types for a malformed seed
                failures.append(CheckFailure("operator_seed", f"not a valid nkey seed: {type(e).__name__}"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("name", "system_account_name") if olds.get(k) != news.get(k)]
        adopted = news.get("operator_seed")
        replaces = []
        if adopted and adopted != olds.get("operator_seed"):
            changed.append("operator_seed")
            replaces.append("operator_seed")  # a different operator is a different trust root
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        seed = props.get("operator_seed")
        op = keypair_from_seed(str(seed)) if seed else new_operator_key()
        outs = _issue_all(props, op, new_account_key(), new_user_key(), None)
        return CreateResult(op.public_key, outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        op = keypair_from_seed(str(olds["operator_seed"]))
        sys_acct = keypair_from_seed(str(olds["system_account_seed"]))
        sys_user = keypair_from_seed(str(olds["system_user_seed"]))
        return UpdateResult(_issue_all(news, op, sys_acct, sys_user, olds))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # Nothing lives on a server for the operator itself: its JWT is in the rendered config.
        return ReadResult(id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        return None


class Operator(pulumi.dynamic.Resource, module="nats", name="Operator"):
    operator_public_key: pulumi.Output[str]
    operator_seed: pulumi.Output[str]
    operator_jwt: pulumi.Output[str]
    system_account_public_key: pulumi.Output[str]
    system_account_seed: pulumi.Output[str]
    system_account_jwt: pulumi.Output[str]
    system_user_creds: pulumi.Output[str]

    def __init__(self, name: str, *, operator_name: str, system_account_name: str = "SYS",
                 operator_seed: Optional[pulumi.Input[str]] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS))
        props: dict[str, Any] = {
            "name": operator_name,
            "system_account_name": system_account_name,
            "operator_seed": pulumi.Output.secret(operator_seed) if operator_seed else None,
        }
        for key in ("operator_public_key", "operator_jwt", "system_account_public_key", "system_account_jwt",
                    *SECRET_OUTPUTS):
            props.setdefault(key, None)  # computed outputs; keep an adopted operator_seed input
        super().__init__(OperatorProvider(), name, props, opts)

