"""The message a dead-letter advisory names, as a test reads it back.

The product keeps one dead-letter stream per tenant (``jetstream_plan.dead_letter_inputs``) on the
advisory subjects ``environment.model.dead_letter_subjects`` gives each consumer with
``dead_letter: true``. JetStream keeps no copy of a dead message: the advisory carries its stream
sequence, and the message is read from the source stream with STREAM.MSG.GET for as long as that
stream retains it.
"""
from __future__ import annotations

import json
from typing import Union

MAX_DELIVERIES_TYPE = "io.nats.jetstream.advisory.v1.max_deliver"
TERMINATED_TYPE = "io.nats.jetstream.advisory.v1.terminated"


def dead_message_ref(advisory: Union[bytes, str]) -> tuple[str, int]:
    """The (source stream, stream sequence) of the message a dead-letter advisory points at."""
    data = json.loads(advisory)
    if data.get("type") not in (MAX_DELIVERIES_TYPE, TERMINATED_TYPE):
        raise ValueError(f"not a dead-letter advisory: type {data.get('type')!r}")
    return str(data["stream"]), int(data["stream_seq"])
