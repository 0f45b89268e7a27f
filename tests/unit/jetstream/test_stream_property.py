"""Property: the canonical form is a fixed point of every normalization, so diffs stay empty."""
from __future__ import annotations

from hypothesis import given, settings

from components.model.jetstream.consumer import (
    consumer_wire_config,
    normalize_server_consumer,
    validate_and_normalize_consumer,
)
from components.model.jetstream.diff import diff_consumer, diff_stream
from components.model.jetstream.stream import normalize_server_stream, stream_wire_config, validate_and_normalize_stream
from tests.unit.jetstream.strategies import consumer_inputs, stream_inputs


@settings(max_examples=300, deadline=None)
@given(stream_inputs())
def test_canonical_is_a_fixed_point(inputs):
    c = validate_and_normalize_stream(inputs, "prop")
    assert normalize_server_stream(c) == c
    assert normalize_server_stream(stream_wire_config(c)) == c
    assert validate_and_normalize_stream(c, "prop") == c
    assert diff_stream(c, normalize_server_stream(c)) == []
    assert all(type(v) is int for k, v in c.items()
               if k.startswith("max_") or k in ("duplicate_window", "num_replicas"))


@settings(max_examples=300, deadline=None)
@given(consumer_inputs("S", "c"))
def test_consumer_canonical_is_a_fixed_point(inputs):
    c = validate_and_normalize_consumer(inputs, "prop")
    assert normalize_server_consumer(consumer_wire_config(c), "S") == c
    assert validate_and_normalize_consumer(c, "prop") == c
    assert diff_consumer(c, normalize_server_consumer(consumer_wire_config(c), "S")) == []
