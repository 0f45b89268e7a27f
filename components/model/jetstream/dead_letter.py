"""Dead-letter streams: capture the server's advisories for messages a consumer gave up on.

JetStream keeps no copy of a dead message; it publishes an advisory naming the stream sequence
when a message hits ``max_deliver`` (``…CONSUMER.MAX_DELIVERIES.<stream>.<consumer>``) or is
terminated with ``+TERM`` (``…CONSUMER.MSG_TERMINATED.<stream>.<consumer>``). A stream on those
subjects records them; the message itself is then fetched with STREAM.MSG.GET by that sequence for
as long as the source stream retains it (so the source's own retention bounds the DLQ's usefulness).
"""
from __future__ import annotations

import json
from typing import Any, Optional, Union

from components.model.jetstream.stream import validate_and_normalize_stream

ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER"
MAX_DELIVERIES_TYPE = "io.nats.jetstream.advisory.v1.max_deliver"
TERMINATED_TYPE = "io.nats.jetstream.advisory.v1.terminated"


def dead_letter_subjects(stream: str, consumer: str, terminated: bool = True) -> list[str]:
    subjects = [f"{ADVISORY}.MAX_DELIVERIES.{stream}.{consumer}"]
    if terminated:
        subjects.append(f"{ADVISORY}.MSG_TERMINATED.{stream}.{consumer}")
    return subjects


def dead_letter_stream_name(stream: str, consumer: str) -> str:
    return f"DLQ_{stream}_{consumer}"[:255]


def dead_letter_stream_inputs(stream: str, consumer: str, name: Optional[str] = None,
                              max_age: Union[str, int] = "168h", storage: str = "file",
                              terminated: bool = True) -> dict[str, Any]:
    """User-facing stream inputs (for the Stream resource) of a DLQ for one consumer."""
    return {
        "name": name or dead_letter_stream_name(stream, consumer),
        "subjects": dead_letter_subjects(stream, consumer, terminated),
        "max_age": max_age,
        "storage": storage,
        "description": f"dead letters of consumer {consumer} on stream {stream}",
    }


def dead_letter_stream_config(stream: str, consumer: str, name: Optional[str] = None,
                              max_age: Union[str, int] = "168h", storage: str = "file",
                              terminated: bool = True, where: str = "dead letters") -> dict[str, Any]:
    """Canonical stream config of the DLQ (validated like any stream)."""
    inputs = dead_letter_stream_inputs(stream, consumer, name, max_age, storage, terminated)
    return validate_and_normalize_stream(inputs, where)


def dead_message_ref(advisory: Union[bytes, str]) -> tuple[str, int]:
    """(source stream, stream sequence) of the dead message an advisory points at."""
    data = json.loads(advisory)
    if data.get("type") not in (MAX_DELIVERIES_TYPE, TERMINATED_TYPE):
        raise ValueError(f"not a dead-letter advisory: type {data.get('type')!r}")
    return str(data["stream"]), int(data["stream_seq"])
