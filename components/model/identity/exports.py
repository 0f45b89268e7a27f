"""Stream and service exports and imports between accounts.

Server rules: a stream import without ``local_subject`` keeps the exporter's subject (the deprecated
``to`` is a prefix, never emitted here); ``local_subject`` and ``subject`` both end in ``>`` or
neither. ``name`` costs bytes in every JWT, so imports leave it out unless given: the platform
account holds three imports per tenant under a 1 MiB cap.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Optional

ExportType = Literal["stream", "service"]
RESPONSE_TYPES = ("Singleton", "Stream", "Chunked")


@dataclass(frozen=True)
class Export:
    """A stream or service ``subject`` other accounts may import; ``token_req`` makes it private.

    The claims name defaults to the subject; every other setting is left out of the claims while
    unset, so an export costs the account JWT only the bytes it needs.
    """

    subject: str
    type: ExportType = "stream"
    name: Optional[str] = None
    token_req: bool = False
    response_type: Optional[str] = None  # services only: Singleton (default) | Stream | Chunked
    response_threshold_ns: Optional[int] = None
    account_token_position: Optional[int] = None
    advertise: bool = False
    description: Optional[str] = None

    def to_claims(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name or self.subject, "subject": self.subject, "type": self.type}
        if self.token_req:
            out["token_req"] = True
        if self.response_type:
            out["response_type"] = self.response_type
        if self.response_threshold_ns:
            out["response_threshold"] = self.response_threshold_ns
        if self.account_token_position:
            out["account_token_position"] = self.account_token_position
        if self.advertise:
            out["advertise"] = True
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Import:
    """An import of ``subject`` exported by ``account``; without ``local_subject`` it is kept as is."""

    subject: str
    account: str
    type: ExportType = "stream"
    name: Optional[str] = None
    local_subject: Optional[str] = None
    token: Optional[str] = None
    share: bool = False

    def to_claims(self) -> dict[str, Any]:
        out: dict[str, Any] = {"subject": self.subject, "account": self.account, "type": self.type}
        if self.name:
            out["name"] = self.name
        if self.local_subject:
            out["local_subject"] = self.local_subject
        if self.token:
            out["token"] = self.token
        if self.share:
            out["share"] = True
        return out
