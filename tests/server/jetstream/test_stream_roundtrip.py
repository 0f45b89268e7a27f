"""Property on a real server: create from generated inputs, read back, and the diff is empty."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.providers.stream import StreamProvider
from tests.server.jetstream.conftest import as_engine, conn, unique
from tests.unit.jetstream.strategies import stream_inputs

P = StreamProvider()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_create_read_diff_is_empty(server, data):
    inputs = data.draw(stream_inputs(name=unique("RT")))
    checked = P.check({}, {**inputs, **conn(server)})
    assert checked.failures == [], [f.reason for f in checked.failures]
    engine_inputs = as_engine(checked.inputs)
    made = P.create(engine_inputs)
    try:
        read = P.read(made.id, as_engine(made.outs))
        assert read.id == made.id
        d = P.diff(made.id, as_engine(read.outs), engine_inputs)
        assert not d.changes, (read.outs["config"], checked.inputs)
        assert P.create(engine_inputs).id == made.id  # adopting the same config again
    finally:
        P.delete(made.id, made.outs)
