"""Adoption of an existing account through the real CLI: an operator and a tenant account made
outside the stack (as ``nsc`` would), with a user whose creds an application already holds, are taken
over by the stack from secret stack config; after ``up`` the account keeps its public key, the
application's old creds still connect and publish, nothing is re-issued for them, a second preview is
clean, and neither seed is in the state or the CLI output in plaintext."""
from __future__ import annotations

import asyncio

from components.model.identity.creds import format_user_creds
from components.model.identity.jwt_codec import issue
from components.model.identity.keys import new_account_key, new_operator_key, new_user_key
from tests.e2e.conftest import small_environment
from tests.e2e.layout_support import publish_outcome
from tests.support.creds_checks import accepted_within
from tests.support.pulumi_cli import PulumiProject


def test_existing_account_and_its_creds_are_adopted(project: PulumiProject) -> None:
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    operator, account, user = new_operator_key(), new_account_key(), new_user_key()
    # The application's creds, issued by the account key before the stack existed.
    old_jwt = issue({"sub": user.public_key, "name": "legacy-app",
                     "nats": {"type": "user", "version": 2, "pub": {"allow": ["acme.>"]},
                              "sub": {"allow": ["acme.>", "_INBOX.>"]}, "subs": -1, "data": -1, "payload": -1}},
                    account.seed)
    old_creds = format_user_creds(old_jwt, user.seed)

    project.write_environment(small_environment(client, monitor, leaf))
    project.init(secrets={"nats-tenancy:operatorSeed": operator.seed})
    project.run("config", "set", "--stack", project.stack, "--secret", "--path",
                "nats-tenancy:accountSeeds.acme", account.seed)
    preview = project.preview()
    assert account.seed not in preview.output
    project.up()

    out = project.outputs(show_secrets=True)
    assert out["tenants"]["acme"]["account_public_key"] == account.public_key
    assert out["system"]["operator_public_key"] == operator.public_key
    assert out["tenants"]["globex"]["account_public_key"] != account.public_key   # only acme was adopted
    url = out["nats_url"]
    assert asyncio.run(accepted_within(url, old_creds, 10)) == "ok"
    assert publish_outcome(url, old_creds, "acme.events.orders.o1") == "stored in ACME_ORDERS_LIVE"
    # The stack's own users of the adopted account work beside the old ones.
    assert publish_outcome(url, out["tenants"]["acme"]["creds"]["service"], "acme.events.orders.o2") == \
        "stored in ACME_ORDERS_LIVE"

    project.preview("--expect-no-changes")
    state = project.export_state()
    for seed in (account.seed, operator.seed, user.seed):
        assert seed not in state
    assert account.seed not in project.all_cli_output()
    project.destroy()


def test_adopting_an_unknown_account_is_refused_before_anything_runs(project: PulumiProject) -> None:
    client, monitor, leaf = project.ports  # type: ignore[attr-defined]
    project.write_environment(small_environment(client, monitor, leaf))
    project.init()
    seed = new_account_key().seed
    project.run("config", "set", "--stack", project.stack, "--secret", "--path",
                "nats-tenancy:accountSeeds.acmee", seed)
    res = project.preview(check=False)
    assert res.returncode != 0
    assert "config.nats-tenancy:accountSeeds.acmee: no tenant or account 'acmee'" in res.output
    assert seed not in res.output
