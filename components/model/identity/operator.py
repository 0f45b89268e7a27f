"""Operator claims and the operator-signed generic claims used to delete accounts.

Server rules:
- the operator JWT is self-signed (``iss == sub``) and is not reloadable: changing it restarts servers;
- ``system_account`` must match the server config's ``system_account``;
- with ``strict_signing_key_usage`` the identity key may no longer sign accounts, so the servers
  refuse account JWTs it signs ("operator requires issuer to be a signing key");
- ``account_server_url`` needs a scheme (``http://``/``https://``/``nats://``).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from components.model.errors import Problems
from components.model.identity.keys import is_public_key


def operator_claims(
    name: str,
    operator_pub: str,
    system_account: str,
    signing_keys: Sequence[str] = (),
    account_server_url: Optional[str] = None,
    strict_signing_key_usage: bool = False,
    source: str = "operator",
) -> dict[str, Any]:
    """Claims (without iss/iat/jti) of an operator JWT; raises SpecError listing every problem."""
    problems = Problems(source)
    if not name:
        problems.add("name", "operator name is empty", "give the operator a name")
    if not is_public_key(operator_pub, "O"):
        problems.add("operator_pub", f"{operator_pub!r} is not an operator public key", "an O… nkey")
    if not is_public_key(system_account, "A"):
        problems.add("system_account", f"{system_account!r} is not an account public key", "an A… nkey")
    for i, key in enumerate(signing_keys):
        if not is_public_key(key, "O"):
            problems.add(f"signing_keys[{i}]", f"{key!r} is not an operator public key",
                         "operator signing keys are O… nkeys")
    if strict_signing_key_usage and not signing_keys:
        problems.add("strict_signing_key_usage", "strict usage without signing keys would refuse every account",
                     "add at least one signing key")
    if account_server_url is not None and "://" not in account_server_url:
        problems.add("account_server_url", f"{account_server_url!r} has no scheme", "e.g. https://host/jwt/v1")
    problems.raise_if_any()

    nats: dict[str, Any] = {"type": "operator", "version": 2, "system_account": system_account}
    if signing_keys:
        nats["signing_keys"] = sorted(set(signing_keys))
    if account_server_url:
        nats["account_server_url"] = account_server_url
    if strict_signing_key_usage:
        nats["strict_signing_key_usage"] = True
    return {"sub": operator_pub, "name": name, "nats": nats}


def delete_accounts_claims(operator_pub: str, account_pubs: Sequence[str]) -> dict[str, Any]:
    """Generic claims for ``$SYS.REQ.CLAIMS.DELETE``: ``sub`` is the operator, ``nats.accounts`` the keys.

    No ``nats.type`` makes it a generic claim; ``version: 2`` is needed or the server checks the
    signature the v1 way and rejects it. Sign with the operator identity key (``sub == iss``).
    """
    problems = Problems("delete accounts")
    if not is_public_key(operator_pub, "O"):
        problems.add("operator_pub", f"{operator_pub!r} is not an operator public key", "an O… nkey")
    if not account_pubs:
        problems.add("account_pubs", "no accounts to delete", "name at least one account public key")
    for i, key in enumerate(account_pubs):
        if not is_public_key(key, "A"):
            problems.add(f"account_pubs[{i}]", f"{key!r} is not an account public key", "an A… nkey")
    problems.raise_if_any()
    return {"sub": operator_pub, "nats": {"accounts": sorted(set(account_pubs)), "version": 2}}
