"""How a JetStream resource reaches its account: a server URL and the creds of a user of that account.

Why per account: a stream lives in the account of the user that creates it, and the server holds it
to that account's JetStream quotas. ``Account.jetstream_connection`` and ``Tenant.jetstream_connection`` give the
connection of their provisioning user (the JetStream API of its account and nothing else).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi


@dataclass(frozen=True)
class JetStreamConnection:
    server_url: pulumi.Input[str]
    """Client URL of the servers; a cluster's URLs comma-separated (``nats://127.0.0.1:4222``)."""
    creds: pulumi.Input[str]
    """Creds text (JWT and seed) of a user allowed the account's JetStream API; kept secret."""
    account_label: str = ""
    """The account's name in error messages and previews (``account acme: stream ORDERS``)."""
    prevent_destroy: bool = False
    """Refuse deleting the object, and any change that needs a replacement (it would delete the data)."""

    def props(self) -> dict[str, Any]:
        """The connection inputs of the dynamic providers, the creds as a secret."""
        return {"server_url": self.server_url, "creds": pulumi.Output.secret(self.creds),
                "account_label": self.account_label, "prevent_destroy": self.prevent_destroy}
