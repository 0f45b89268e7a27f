"""Property on a real server: consumers created from generated inputs read back with an empty diff."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.providers.consumer import ConsumerProvider
from components.providers.stream import StreamProvider
from tests.server.jetstream.conftest import as_engine, conn, unique
from tests.unit.jetstream.strategies import consumer_inputs

C = ConsumerProvider()
S = StreamProvider()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_create_read_diff_is_empty(server, data):
    stream = unique("CRT")
    s = S.create(S.check({}, {"name": stream, "subjects": [f"{stream}.>"], **conn(server)}).inputs)
    try:
        inputs = data.draw(consumer_inputs(stream, unique("c")))
        checked = C.check({}, {**inputs, **conn(server)})
        assert checked.failures == [], [f.reason for f in checked.failures]
        engine_inputs = as_engine(checked.inputs)
        made = C.create(engine_inputs)
        read = C.read(made.id, as_engine(made.outs))
        assert read.id == made.id
        assert not C.diff(made.id, as_engine(read.outs), engine_inputs).changes, read.outs["config"]
        assert C.create(engine_inputs).id == made.id
    finally:
        S.delete(s.id, s.outs)
