"""The adapter's exceptions: one tree under NatsTenancyError, one class per server error the code
branches on, chosen from the API's error JSON; the JetStream API timeout setting."""
from __future__ import annotations

import pytest

from components.model.errors import NatsTenancyError
from components.nats_io import errors
from components.nats_io.errors import (
    ConsumerAlreadyExists,
    ConsumerNotFound,
    JetStreamApiError,
    JetStreamLimitError,
    JetStreamNotEnabledForAccount,
    MaxStreamsReached,
    NoMessageFound,
    RestoreNameInUse,
    StorageExceeded,
    StreamCreateFailed,
    StreamNameInUse,
    StreamNotFound,
    SubjectsOverlap,
    api_error,
)
from components.nats_io.jetstream import DEFAULT_TIMEOUT, TIMEOUT_ENV, timeout_from_env

# (class, err_code, the server's ErrorIdentifier) from nats-server server/errors.json
SERVER_CODES = [
    (StreamNotFound, 10059, "JSStreamNotFoundErr"),
    (StreamNameInUse, 10058, "JSStreamNameExistErr"),
    (SubjectsOverlap, 10065, "JSStreamSubjectOverlapErr"),
    (StreamCreateFailed, 10049, "JSStreamCreateErrF"),
    (RestoreNameInUse, 10130, "JSStreamNameExistRestoreFailedErr"),
    (ConsumerNotFound, 10014, "JSConsumerNotFoundErr"),
    (ConsumerAlreadyExists, 10148, "JSConsumerAlreadyExists"),
    (NoMessageFound, 10037, "JSNoMessageFoundErr"),
    (JetStreamNotEnabledForAccount, 10039, "JSNotEnabledForAccountErr"),
    (MaxStreamsReached, 10027, "JSMaximumStreamsLimitErr"),
    (errors.MaxConsumersReached, 10026, "JSMaximumConsumersLimitErr"),
    (StorageExceeded, 10047, "JSStorageResourcesExceededErr"),
    (errors.MemoryExceeded, 10028, "JSMemoryResourcesExceededErr"),
    (errors.AccountResourcesExceeded, 10002, "JSAccountResourcesExceededErr"),
    (errors.InsufficientResources, 10023, "JSInsufficientResourcesErr"),
    (errors.MaxStreamBytesExceeded, 10122, "JSStreamMaxStreamBytesExceeded"),
    (errors.NoTierLimits, 10120, "JSNoLimitsErr"),
]


@pytest.mark.parametrize("cls, err_code, identifier", SERVER_CODES, ids=[c[2] for c in SERVER_CODES])
def test_the_factory_picks_the_class_of_the_err_code(cls, err_code, identifier) -> None:
    exc = api_error({"code": 400, "err_code": err_code, "description": "d"}, "acme", "creating stream S")
    assert type(exc) is cls and cls.ERR_CODE == err_code and identifier in (cls.__doc__ or "")
    assert (exc.code, exc.err_code, exc.description, exc.account_label) == (400, err_code, "d", "acme")
    assert str(exc).startswith("creating stream S: ")


def test_an_unknown_err_code_stays_a_plain_api_error() -> None:
    assert type(api_error({"code": 500, "err_code": 10077, "description": "message store failed"})) is JetStreamApiError
    exc = api_error({"code": 400, "err_code": 10025, "description": "invalid JSON"})
    assert type(exc) is JetStreamApiError
    assert str(exc) == "invalid JSON (err_code 10025, the account)" and exc.detail == "invalid JSON (err_code 10025)"


def test_messages_say_the_rule() -> None:
    overlap = api_error({"code": 400, "err_code": 10065, "description": "subjects overlap with an existing stream"},
                        "acme")
    assert "another stream already captures these subjects" in str(overlap) and "account 'acme'" in str(overlap)
    off = api_error({"code": 400, "err_code": 10039, "description": "jetstream not enabled for account"}, "t")
    assert str(off).startswith("JetStream is not enabled for account 't'")
    limit = api_error({"code": 400, "err_code": 10027, "description": "maximum number of streams reached"}, "t")
    assert isinstance(limit, JetStreamLimitError)
    assert "has reached its JetStream limit on maximum number of streams" in str(limit)
    assert "the configured max_streams is 1" in str(limit.with_limits({"max_streams": 1}))
    unlimited = api_error({"code": 400, "err_code": 10047, "description": "insufficient storage"}, "t")
    assert "the account sets no max_storage" in str(unlimited.with_limits({"max_storage": -1}))


def test_every_adapter_exception_is_a_nats_tenancy_error_and_keeps_its_builtin_base() -> None:
    found = [obj for obj in vars(errors).values()
             if isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__ == errors.__name__]
    assert len(found) > 20
    for cls in found:
        assert issubclass(cls, NatsTenancyError), cls
        assert issubclass(cls, (RuntimeError, ValueError)), cls
    assert issubclass(errors.JetStreamApiTimeout, TimeoutError) and issubclass(errors.TlsSettingsError, ValueError)


def test_the_other_exceptions_outside_the_model_are_in_the_tree() -> None:
    from components.ops.backup import BackupError
    from components.ops.lag_probe import LagError
    from components.providers.local_exporter import ExporterError
    from components.providers.nats_process import LocalProcessError, NatsServerError

    for cls in (BackupError, LagError, ExporterError, LocalProcessError, NatsServerError):
        assert issubclass(cls, NatsTenancyError) and issubclass(cls, RuntimeError), cls


def test_api_timeout_from_the_environment() -> None:
    assert timeout_from_env({}) == DEFAULT_TIMEOUT == 10.0
    assert timeout_from_env({TIMEOUT_ENV: " 2.5 "}) == 2.5
    assert timeout_from_env({TIMEOUT_ENV: ""}) == DEFAULT_TIMEOUT
    for bad in ("0", "-1", "ten", "inf", "nan"):
        with pytest.raises(errors.NatsSettingsError, match=TIMEOUT_ENV):
            timeout_from_env({TIMEOUT_ENV: bad})


def test_the_timeout_is_read_when_the_adapter_is_imported() -> None:
    import os
    import subprocess
    import sys

    code = "from components.nats_io import jetstream; print(jetstream.TIMEOUT)"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60,
                         env={**os.environ, TIMEOUT_ENV: "42"})
    assert out.returncode == 0 and out.stdout.strip() == "42.0", out.stderr


def test_what_the_providers_refuse_is_one_class_of_the_tree() -> None:
    import ast
    import pathlib

    from components.providers.errors import ChangeRefused

    assert issubclass(ChangeRefused, NatsTenancyError) and issubclass(ChangeRefused, RuntimeError)
    for path in pathlib.Path("components/providers").glob("*.py"):
        raised = [node.exc.func.id for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                  if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                  and isinstance(node.exc.func, ast.Name)]
        assert "RuntimeError" not in raised, f"{path}: raise ChangeRefused (or a class of the tree), not RuntimeError"
