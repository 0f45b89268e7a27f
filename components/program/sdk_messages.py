"""The Pulumi SDK's own debug messages: the program drops them unless ``NATS_TENANCY_SDK_DEBUG`` asks.

Why: the Python SDK (3.259) sends each of its debug messages ("registering resource …",
"resource registration successful …", about four per resource) to the engine as a blocking gRPC
call on the program's event loop, whether or not the CLI shows debug output, and the program cannot
tell which (``--debug`` and ``-v`` change nothing the language host hands it). A no-op preview of a
20-tenant shard stack made 1,476 of them, about 1 ms each: a third of the program's profiled time,
and 11 % of the preview's wall time (4.33 s against 3.87 s) and 5 % of a first ``up``'s CPU
(docs/scale.md, section 3).

Only debug severity is dropped, from the call on (the SDK registers the stack resource before the
program's first line, with its messages), and only the SDK's: the program logs nothing at that level itself,
and info, warnings and errors reach the engine as before. ``NATS_TENANCY_SDK_DEBUG=1`` (or true,
yes, on) keeps them, to read with ``pulumi preview --debug`` or in the CLI's ``-v`` logs.
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Optional

import pulumi.log

ENV = "NATS_TENANCY_SDK_DEBUG"


def keep_requested(environ: Optional[Mapping[str, str]] = None) -> bool:
    """True when ``NATS_TENANCY_SDK_DEBUG`` is 1/true/yes/on."""
    env = os.environ if environ is None else environ
    return (env.get(ENV) or "").strip().lower() in ("1", "true", "yes", "on")


def drop_sdk_debug_messages(environ: Optional[Mapping[str, str]] = None) -> bool:
    """Make ``pulumi.log.debug`` send nothing (the SDK calls it through the module, so every caller
    sees the change) unless ``keep_requested``; True when dropped. Call before any resource."""
    if keep_requested(environ):
        return False
    pulumi.log.debug = _dropped
    return True


def _dropped(msg: str, resource: Any = None, stream_id: Optional[int] = None,
             ephemeral: Optional[bool] = None) -> None:
    """``pulumi.log.debug``'s signature; sends nothing."""
