"""Fixtures of the render tests: the prod environment, and a real operator to render it with."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from components.model.environment.load import load_environment
from components.model.environment.model import Environment
from components.model.identity import account, jwt_codec, keys, operator
from components.model.identity.account import AccountSpec

ROOT = Path(__file__).resolve().parents[3]


@dataclasses.dataclass(frozen=True)
class OperatorMaterial:
    operator_jwt: str
    system_account: str
    system_account_jwt: str


@pytest.fixture(scope="module")
def env() -> Environment:
    return load_environment(str(ROOT / "environments" / "prod.yaml"), stack="prod")


@pytest.fixture(scope="module")
def material() -> OperatorMaterial:
    """A real operator and system account, signed as the Operator resource signs them."""
    op = keys.new_operator_key()
    sys_acct = keys.new_account_key()
    op_jwt = jwt_codec.issue(operator.operator_claims("nats-tenancy-prod", op.public_key, sys_acct.public_key), op.seed)
    sys_jwt = jwt_codec.issue(account.account_claims(AccountSpec(name="SYS"), sys_acct.public_key), op.seed)
    return OperatorMaterial(op_jwt, sys_acct.public_key, sys_jwt)
