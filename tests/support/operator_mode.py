"""A real nats-server in operator mode with the ``full`` resolver, built with the identity library.

    setup, server = OperatorSetup.create(str(tmp_path))
    account, jwt = setup.add_account(AccountSpec(name="acme"))     # pushed live
    creds = setup.user_creds(account, tenant_service_user("acme"))
    ...
    server.stop()

Keys are generated at run time; nothing here is a fixed secret. ``conf_overrides`` gives the
operator-mode ServerConf fields for tests that start several servers with one operator.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from components.model.identity.account import NO_JETSTREAM, AccountLimits, AccountSpec, account_claims
from components.model.identity.creds import format_user_creds
from components.model.identity.jwt_codec import issue
from components.model.identity.keys import KeyPair, new_account_key, new_operator_key, new_user_key
from components.model.identity.operator import operator_claims
from components.model.identity.roles import system_user
from components.model.identity.user import UserSpec, user_claims
from components.model.render.server_conf import ResolverConf
from components.nats_io import resolver
from tests.support.nats_server import RunningServer, make_server


@dataclass
class OperatorSetup:
    operator: KeyPair
    system_account: KeyPair
    system_user: KeyPair
    operator_jwt: str
    system_account_jwt: str
    system_creds: str
    servers: list[str] = field(default_factory=list)
    #: last iat used per account: re-issues must never go back in time (resolver keeps the newer).
    _iat: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, name: str = "test-operator") -> "OperatorSetup":
        operator, sys_acc, sys_user = new_operator_key(), new_account_key(), new_user_key()
        op_jwt = issue(operator_claims(name, operator.public_key, sys_acc.public_key), operator.seed)
        sys_spec = AccountSpec(name="SYS", limits=AccountLimits(jetstream=NO_JETSTREAM))
        sys_jwt = issue(account_claims(sys_spec, sys_acc.public_key), operator.seed)
        user_jwt = issue(user_claims(system_user(), sys_user.public_key, sys_acc.public_key, False), sys_acc.seed)
        return cls(operator, sys_acc, sys_user, op_jwt, sys_jwt, format_user_creds(user_jwt, sys_user.seed))

    @classmethod
    def create(cls, workdir: str, name: str = "test", jetstream: bool = True,
               **overrides: Any) -> tuple["OperatorSetup", RunningServer]:
        """Build an operator and start one server trusting it; returns both (stop the server yourself)."""
        setup = cls.build()
        server = make_server(workdir, name=name, jetstream=jetstream, **setup.conf_overrides(workdir), **overrides)
        server.start()
        setup.servers.append(server.url)
        return setup, server

    def conf_overrides(self, workdir: str) -> dict[str, Any]:
        return {
            "operator_jwt": self.operator_jwt,
            "system_account": self.system_account.public_key,
            "resolver": ResolverConf(dir=os.path.join(workdir, "jwt"),
                                     preload={self.system_account.public_key: self.system_account_jwt}),
        }

    def _next_iat(self, account_pub: str) -> int:
        iat = max(int(time.time()), self._iat.get(account_pub, 0) + 1)
        self._iat[account_pub] = iat
        return iat

    def account_jwt(self, spec: AccountSpec, account: KeyPair) -> str:
        return issue(account_claims(spec, account.public_key), self.operator.seed,
                     iat=self._next_iat(account.public_key))

    def add_account(self, spec: AccountSpec, account: Optional[KeyPair] = None,
                    push: bool = True) -> tuple[KeyPair, str]:
        """Sign ``spec`` (with a new key unless ``account`` is given) and push it to the servers."""
        account = account or new_account_key()
        token = self.account_jwt(spec, account)
        if push:
            self.push(token)
        return account, token

    update_account = add_account

    def push(self, account_jwt: str, *signing_keys: KeyPair) -> list[dict[str, Any]]:
        """Push to every server; ``signing_keys``: operator signing keys trusted besides the operator."""
        return resolver.push_account_jwt(self.servers, self.system_creds, account_jwt,
                                                expect_servers=len(self.servers),
                                                trusted_issuers=[self.operator.public_key,
                                                                 *(k.public_key for k in signing_keys)])

    def delete_accounts(self, *accounts: KeyPair) -> list[dict[str, Any]]:
        return resolver.delete_accounts(self.servers, self.system_creds, self.operator.seed,
                                               [a.public_key for a in accounts], expect_servers=len(self.servers))

    def user_creds(self, account: KeyPair, user: UserSpec, signing_key: Optional[KeyPair] = None,
                   scoped: bool = False, user_key: Optional[KeyPair] = None, iat: Optional[int] = None) -> str:
        """Creds text for a new user of ``account`` (signed by ``signing_key`` when given)."""
        user_key = user_key or new_user_key()
        claims = user_claims(user, user_key.public_key, account.public_key,
                             issuer_is_signing_key=signing_key is not None, scoped=scoped)
        token = issue(claims, (signing_key or account).seed, iat=iat)
        return format_user_creds(token, user_key.seed)


# --- client helpers for server tests ---------------------------------------------------------

class Client:
    """A nats-py connection that records async errors (publish permission violations only show there)."""

    def __init__(self, nc: Any, errors: list[str]):
        self.nc = nc
        self.errors = errors

    async def close(self) -> None:
        if not self.nc.is_closed:
            await self.nc.close()

    async def wait_error(self, text: str, timeout: float = 2.0) -> str:
        """The first recorded error containing ``text``; fails after ``timeout``."""
        import asyncio

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for err in self.errors:
                if text.lower() in err.lower():
                    return err
            await asyncio.sleep(0.02)
        raise AssertionError(f"no error containing {text!r} within {timeout}s; errors: {self.errors}")


async def connect(url: str, creds: str, **kwargs: Any) -> Client:
    import nats
    from nats.aio.client import RawCredentials

    errors: list[str] = []

    async def on_error(e: Exception) -> None:
        errors.append(f"{type(e).__name__}: {e}")

    nc = await nats.connect(url, user_credentials=RawCredentials(creds), allow_reconnect=False,
                            max_reconnect_attempts=1, reconnect_time_wait=0.1, connect_timeout=2, error_cb=on_error,
                            **kwargs)
    return Client(nc, errors)


async def connect_refused(url: str, creds: str) -> str:
    """Connect and expect the server to refuse; returns the error text seen (raises if it connected)."""
    import nats
    from nats.aio.client import RawCredentials

    errors: list[str] = []

    async def on_error(e: Exception) -> None:
        errors.append(f"{type(e).__name__}: {e}")

    try:
        nc = await nats.connect(url, user_credentials=RawCredentials(creds), allow_reconnect=False,
                                max_reconnect_attempts=1, reconnect_time_wait=0.1, connect_timeout=2, error_cb=on_error)
    except Exception as e:  # noqa: BLE001 - any refusal is what we expect; the text is asserted by callers
        return " | ".join(errors + [f"{type(e).__name__}: {e}"])
    await nc.close()
    raise AssertionError(f"connection to {url} was accepted; errors seen: {errors}")
