"""A DLQ stream receives the max-deliveries advisory; the dead message is fetched by stream_seq."""
from __future__ import annotations

import asyncio
import base64

from components.model.jetstream.dead_letter import dead_letter_stream_inputs, dead_message_ref
from components.providers import jetstream_client as jsc
from components.providers.consumer import ConsumerProvider
from components.providers.stream import StreamProvider
from tests.server.jetstream.conftest import api_call, conn, unique, with_nats

S = StreamProvider()
C = ConsumerProvider()


def test_dead_letter_after_max_deliver_and_term(server):
    src = unique("WORK")
    s = S.create(S.check({}, {"name": src, "subjects": [f"{src}.>"], **conn(server)}).inputs)
    dlq_inputs = S.check({}, {**dead_letter_stream_inputs(src, "worker"), **conn(server)})
    assert dlq_inputs.failures == []
    dlq = S.create(dlq_inputs.inputs)
    c = C.create(C.check({}, {"stream": src, "name": "worker", "max_deliver": 2, "ack_wait": "1s", **conn(server)}).inputs)

    async def work(nc):
        js = nc.jetstream()
        await js.publish(f"{src}.job", b"poison")
        await js.publish(f"{src}.job", b"bad")
        sub = await js.pull_subscribe_bind("worker", stream=src)
        for _ in range(6):
            try:
                msgs = await sub.fetch(2, timeout=0.5)
            except asyncio.TimeoutError:
                continue
            for m in msgs:
                if m.data == b"bad":
                    await m.term()
                else:
                    await m.nak()
        for _ in range(50):
            info = await js.stream_info(dlq.id)
            if info.state.messages >= 2:
                return info.state.messages
            await asyncio.sleep(0.1)
        return info.state.messages

    assert with_nats(server, work) == 2

    async def fetch(api: jsc.JetStreamApi):
        out = []
        for seq in (1, 2):
            adv = await api.stream_msg_get(dlq.id, seq)
            stream, stream_seq = dead_message_ref(base64.b64decode(adv["data"]))
            dead = await api.stream_msg_get(stream, stream_seq)
            out.append((adv["subject"].split(".")[4], base64.b64decode(dead["data"])))
        return sorted(out)
    assert api_call(server, fetch) == [("MAX_DELIVERIES", b"poison"), ("MSG_TERMINATED", b"bad")]
    C.delete(c.id, c.outs)
    S.delete(dlq.id, dlq.outs)
    S.delete(s.id, s.outs)
