"""Operator signing keys against the real server: what an operator rotation can and cannot do live.

These facts decide the operator procedure in ``docs/runbooks/rotation.md``: the server does not
reload a changed operator JWT (it keeps the one it started with and logs why), so adding or
removing an operator signing key needs a restart of each server, while accounts can be re-signed by
another trusted key at any time through the resolver.
"""
from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time

from components.model.identity import roles
from components.model.identity.account import AccountSpec, account_claims
from components.model.identity.jwt_codec import issue
from components.model.identity.keys import KeyPair, new_account_key, new_operator_key
from components.model.identity.operator import operator_claims
from components.model.render.server_conf import render_server_conf
from tests.support.creds_checks import try_connect
from tests.support.nats_server import RunningServer, make_server
from tests.support.operator_mode import OperatorSetup


def _operator_jwt(setup: OperatorSetup, keys: list[KeyPair]) -> str:
    return issue(operator_claims("op", setup.operator.public_key, setup.system_account.public_key,
                                 signing_keys=[k.public_key for k in keys]), setup.operator.seed)


def _write_operator(server: RunningServer, token: str) -> None:
    server.conf = dataclasses.replace(server.conf, operator_jwt=token)
    with open(server.config_path, "w", encoding="utf-8") as f:
        f.write(render_server_conf(server.conf))


def _wait_for_log(server: RunningServer, text: str, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in server.log():
            return True
        time.sleep(0.1)
    return False


def test_operator_signing_key_rotation_needs_a_restart_and_accounts_follow_through_the_resolver(tmp_path) -> None:
    setup = OperatorSetup.build()
    old_key, new_key = new_operator_key(), new_operator_key()
    setup.operator_jwt = _operator_jwt(setup, [old_key])
    workdir = str(tmp_path)
    server = make_server(workdir, **setup.conf_overrides(workdir))
    server.start()
    setup.servers.append(server.url)
    try:
        account = new_account_key()
        spec = AccountSpec(name="t1")
        setup.push(issue(account_claims(spec, account.public_key), old_key.seed), old_key)
        creds = setup.user_creds(account, roles.tenant_service_user("t1"))
        assert asyncio.run(try_connect(server.url, creds)) == "ok"

        # 1. A reload with a new signing key is refused: the running server keeps its operator.
        _write_operator(server, _operator_jwt(setup, [old_key, new_key]))
        assert server.pid is not None
        os.kill(server.pid, signal.SIGHUP)
        assert _wait_for_log(server, "config reload not supported for TrustedOperators")

        # 2. After a restart the server trusts both keys; re-signing the account with the new key
        #    through the resolver keeps its users connected.
        server.restart()
        setup.push(issue(account_claims(spec, account.public_key), new_key.seed, iat=int(time.time()) + 1), new_key)
        assert asyncio.run(try_connect(server.url, creds)) == "ok"

        # 3. Drop the old key (another restart): the account signed with the new key still works,
        #    while an account signed only by the old key is no longer trusted.
        stale = new_account_key()
        stale_spec = AccountSpec(name="t2")
        setup.push(issue(account_claims(stale_spec, stale.public_key), old_key.seed), old_key)
        stale_creds = setup.user_creds(stale, roles.tenant_service_user("t2"))
        assert asyncio.run(try_connect(server.url, stale_creds)) == "ok"
        _write_operator(server, _operator_jwt(setup, [new_key]))
        server.restart()
        assert asyncio.run(try_connect(server.url, creds)) == "ok"
        assert "Authorization Violation" in asyncio.run(try_connect(server.url, stale_creds))
    finally:
        server.stop()
