"""``accountSeeds``: existing accounts to adopt, from secret stack config; seeds never echoed."""
from __future__ import annotations

import json
import os

import pytest

from components.model.environment.load import check_adopted_accounts, load_environment, stack_settings
from components.model.errors import SpecError
from components.model.identity.keys import new_account_key, new_user_key

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_account_seeds_are_read_and_named() -> None:
    acme = new_account_key()
    settings = stack_settings("dev", {"nats-tenancy:accountSeeds": json.dumps({"acme": acme.seed})})
    assert settings.account_seed("acme") == acme.seed and settings.account_seed("globex") is None
    assert acme.seed not in repr(settings)
    check_adopted_accounts(settings, load_environment(os.path.join(ROOT, "environments", "dev.yaml")))


@pytest.mark.parametrize("value", [json.dumps({"acme": new_user_key().seed}), json.dumps({"acme": "SAnotaseed"}),
                                   json.dumps(["x"]), "{not json"])
def test_bad_account_seeds_are_refused_without_echo(value: str) -> None:
    with pytest.raises(SpecError) as err:
        stack_settings("dev", {"nats-tenancy:accountSeeds": value})
    assert "config.nats-tenancy:accountSeeds" in str(err.value)
    assert "SU" not in str(err.value) and "SAnotaseed" not in str(err.value)


def test_adopting_an_account_the_environment_lacks() -> None:
    settings = stack_settings("dev", {"nats-tenancy:accountSeeds": json.dumps({"acmee": new_account_key().seed})})
    with pytest.raises(SpecError) as err:
        check_adopted_accounts(settings, load_environment(os.path.join(ROOT, "environments", "dev.yaml")))
    assert "accountSeeds.acmee: no tenant or account 'acmee'" in str(err.value)
