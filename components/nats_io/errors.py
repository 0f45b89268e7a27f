"""The exceptions of the NATS adapter, all under ``NatsTenancyError``.

``JetStreamApiError`` has one subclass per server error the code branches on, so a caller writes
``except StreamNotFound:`` instead of comparing ``err_code`` numbers. ``api_error`` builds the
right class from the API's error JSON (``{"code": …, "err_code": …, "description": …}``); an
err_code without a class of its own stays a plain ``JetStreamApiError``. The numbers are the
server's ``ErrorIdentifier`` values (nats-server ``server/errors.json``); each class names its
constant.

Every class keeps ``RuntimeError`` (``ValueError`` for settings) as a second base, so ``except``
clauses written against those still catch them.
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping, Optional, Sequence

from components.model.errors import NatsTenancyError


class NatsIoError(NatsTenancyError, RuntimeError):
    """A NATS exchange failed: no connection, no answer, or an answer that refuses the request."""


class NatsSettingsError(NatsTenancyError, ValueError):
    """A setting of the adapter (an environment variable) is unusable."""


class TlsSettingsError(NatsSettingsError):
    """The TLS variables are incomplete or name files that cannot be used."""


class NatsConnectError(NatsIoError):
    """No server of ``servers`` could be reached (or it refused the connection).

    ``detail`` is what went wrong, as ``Type: message`` parts: the client's asynchronous errors
    (an authorization violation shows there) and the exception that ended the attempt."""

    def __init__(self, servers: Sequence[str], detail: str, message: Optional[str] = None):
        self.servers = list(servers)
        self.detail = detail
        super().__init__(message or f"cannot reach NATS at {', '.join(self.servers)}: {detail}")


class JetStreamConnectError(NatsConnectError):
    """The connection for JetStream API requests could not be opened."""


class RequestTimeout(NatsIoError, TimeoutError):
    """A request got no reply in time (outside the JetStream API, which raises ``JetStreamApiTimeout``)."""


class NoResponders(NatsIoError):
    """A request reached no subscriber: the server answered with status 503 at once."""


class PayloadTooLarge(NatsIoError):
    """The message exceeds the server's ``max_payload``; nothing was sent."""


class ResolverError(NatsIoError):
    """The resolver refused a request, did not answer, or no server could be reached."""

    def __init__(self, message: str, replies: Sequence[dict[str, Any]] = ()):
        super().__init__(message)
        self.replies = list(replies)


# -- the JetStream API ------------------------------------------------------------------------

class JetStreamApiError(NatsIoError):
    """An error reply from the JetStream API, with a message that names the tenant account.

    ``code`` is the HTTP-like status (400, 404, 503…), ``err_code`` the server's error identifier."""

    #: The err_code a subclass stands for (0 on the base class and on classes for local conditions).
    ERR_CODE: ClassVar[int] = 0

    def __init__(self, code: int, err_code: int, description: str, account_label: str = "", context: str = ""):
        self.code = code
        self.err_code = err_code
        self.description = description
        self.account_label = account_label
        super().__init__(self._message(context))

    @property
    def who(self) -> str:
        return f"account {self.account_label!r}" if self.account_label else "the account"

    @property
    def detail(self) -> str:
        """The server's description and err_code, for messages of callers that add their own context."""
        return f"{self.description} (err_code {self.err_code})"

    def _message(self, context: str) -> str:
        head = f"{context}: " if context else ""
        return f"{head}{self.description} (err_code {self.err_code}, {self.who})"

    def with_limits(self, limits: Mapping[str, Any]) -> "JetStreamApiError":
        """Add the account's configured value for the limit that was hit (only limit errors know one)."""
        return self


class JetStreamApiTimeout(JetStreamApiError, TimeoutError):
    """No reply within the API timeout. The request may still have been applied: the server answers
    late when it is busy, so a create that timed out is checked with an INFO request (``jetstream``)."""


class JetStreamNotEnabledForAccount(JetStreamApiError):
    """JSNotEnabledForAccountErr 10039: the account has no JetStream. Also raised (with code 503)
    when nobody answers on ``$JS.API`` at all, which is how a server without JetStream for the
    account, or one still (re-)applying the account's JWT, looks from the client."""

    ERR_CODE = 10039

    def _message(self, context: str) -> str:
        head = f"{context}: " if context else ""
        return f"{head}JetStream is not enabled for {self.who} ({self.description}, err_code {self.err_code})"


class StreamNotFound(JetStreamApiError):
    """JSStreamNotFoundErr 10059: no stream of that name in the account."""

    ERR_CODE = 10059


class StreamNameInUse(JetStreamApiError):
    """JSStreamNameExistErr 10058: a create named a stream that exists with a different
    configuration (a create with the identical configuration succeeds and returns the stream)."""

    ERR_CODE = 10058


class SubjectsOverlap(JetStreamApiError):
    """JSStreamSubjectOverlapErr 10065: the stream's subjects overlap those of another stream of
    the account; the server lets no subject be captured by two streams."""

    ERR_CODE = 10065

    def _message(self, context: str) -> str:
        head = f"{context}: " if context else ""
        return (f"{head}{self.description} in {self.who}: another stream already captures these subjects "
                f"(err_code {self.err_code}); change subjects so that no two streams overlap")


class StreamCreateFailed(JetStreamApiError):
    """JSStreamCreateErrF 10049: the server could not create the stream; nats-server 2.15.1 answers
    "error creating store for stream" while the account's JWT is being (re-)applied. (Not 10077,
    JSStreamStoreFailedF, which is a failure to store a message.)"""

    ERR_CODE = 10049


class RestoreNameInUse(JetStreamApiError):
    """JSStreamNameExistRestoreFailedErr 10130: a restore names a stream that exists; the server
    never restores over one."""

    ERR_CODE = 10130


class ConsumerNotFound(JetStreamApiError):
    """JSConsumerNotFoundErr 10014: no consumer of that name on the stream."""

    ERR_CODE = 10014


class ConsumerAlreadyExists(JetStreamApiError):
    """JSConsumerAlreadyExists 10148: ``action: "create"`` for a consumer that exists with another
    configuration (the identical configuration succeeds)."""

    ERR_CODE = 10148


class NoMessageFound(JetStreamApiError):
    """JSNoMessageFoundErr 10037: no message at that sequence (deleted, expired or never stored)."""

    ERR_CODE = 10037


class JetStreamLimitError(JetStreamApiError):
    """A JetStream limit of the account (or of the server) refused the request.

    ``LIMIT`` names the limit in messages; ``LIMIT_KEY`` is its key in ``$JS.API.INFO`` "limits",
    or None when the account has no setting for it."""

    LIMIT: ClassVar[str] = "resource limits"
    LIMIT_KEY: ClassVar[Optional[str]] = None

    def _message(self, context: str) -> str:
        head = f"{context}: " if context else ""
        return (f"{head}{self.who} has reached its JetStream limit on {self.LIMIT}: {self.description} "
                f"(err_code {self.err_code})")

    def with_limits(self, limits: Mapping[str, Any]) -> "JetStreamApiError":
        key = self.LIMIT_KEY
        if key and key in limits:
            value = limits[key]
            if isinstance(value, int) and value < 0:
                note = f"the account sets no {key}, so the server's own capacity is exhausted"
            else:
                note = f"the configured {key} is {value}"
            self.args = (f"{self.args[0]}; {note}",)
        return self


class MaxStreamsReached(JetStreamLimitError):
    """JSMaximumStreamsLimitErr 10027."""

    ERR_CODE, LIMIT, LIMIT_KEY = 10027, "maximum number of streams", "max_streams"


class MaxConsumersReached(JetStreamLimitError):
    """JSMaximumConsumersLimitErr 10026."""

    ERR_CODE, LIMIT, LIMIT_KEY = 10026, "maximum number of consumers", "max_consumers"


class StorageExceeded(JetStreamLimitError):
    """JSStorageResourcesExceededErr 10047: file storage (the account's max_storage, or the disk)."""

    ERR_CODE, LIMIT, LIMIT_KEY = 10047, "file storage", "max_storage"


class MemoryExceeded(JetStreamLimitError):
    """JSMemoryResourcesExceededErr 10028: memory storage (the account's max_memory, or the server's)."""

    ERR_CODE, LIMIT, LIMIT_KEY = 10028, "memory storage", "max_memory"


class AccountResourcesExceeded(JetStreamLimitError):
    """JSAccountResourcesExceededErr 10002."""

    ERR_CODE, LIMIT, LIMIT_KEY = 10002, "resource limits", None


class InsufficientResources(JetStreamLimitError):
    """JSInsufficientResourcesErr 10023: the server itself has no room left."""

    ERR_CODE, LIMIT, LIMIT_KEY = 10023, "server resources", None


class MaxStreamBytesExceeded(JetStreamLimitError):
    """JSStreamMaxStreamBytesExceeded 10122: the stream's max_bytes is above the account's max_stream_bytes."""

    ERR_CODE, LIMIT, LIMIT_KEY = 10122, "maximum bytes per stream", "storage_max_stream_bytes"


class NoTierLimits(JetStreamLimitError):
    """JSNoLimitsErr 10120: no JetStream default or tiered limit applies (e.g. no R3 tier for a replicated stream)."""

    ERR_CODE, LIMIT, LIMIT_KEY = 10120, "JetStream tier", None


_BY_ERR_CODE: dict[int, type[JetStreamApiError]] = {
    cls.ERR_CODE: cls for cls in (
        JetStreamNotEnabledForAccount, StreamNotFound, StreamNameInUse, SubjectsOverlap, StreamCreateFailed,
        RestoreNameInUse, ConsumerNotFound, ConsumerAlreadyExists, NoMessageFound,
        MaxStreamsReached, MaxConsumersReached, StorageExceeded, MemoryExceeded, AccountResourcesExceeded,
        InsufficientResources, MaxStreamBytesExceeded, NoTierLimits,
    )
}


def error_class(err_code: int) -> type[JetStreamApiError]:
    """The class for a server err_code (``JetStreamApiError`` when the code has none of its own)."""
    return _BY_ERR_CODE.get(err_code, JetStreamApiError)


def api_error(error: Mapping[str, Any], account_label: str = "", context: str = "") -> JetStreamApiError:
    """The exception for the ``error`` object of a JetStream API reply."""
    err_code = int(error.get("err_code") or 0)
    return error_class(err_code)(int(error.get("code") or 0), err_code, str(error.get("description") or ""),
                                 account_label, context)
