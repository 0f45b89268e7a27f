"""A tenant's dead-letter stream, as the stack plans it, receives the max-deliveries and terminated
advisories of its dead-letter consumers; the dead message is fetched by its stream sequence."""
from __future__ import annotations

import asyncio
import base64

from components.model.environment.load import load_environment_text
from components.model.jetstream_plan import tenant_jetstream
from components.nats_io import jetstream as jsc
from components.providers.consumer import ConsumerProvider
from components.providers.stream import StreamProvider
from tests.server.jetstream.conftest import api_call, conn, with_nats
from tests.support.dead_letters import dead_message_ref

S = StreamProvider()
C = ConsumerProvider()

ENVIRONMENT = """\
version: 1
servers: {mode: local, client_port: 24222, monitor_port: 28222, leafnode_port: 27422}
tiers:
  small: {max_streams: 4, max_consumers: 2, max_bytes: 64MiB, max_memory: 1MiB, max_connections: 8,
          retention_days: 1, max_ack_pending: 100}
tenants:
  - id: acme
    tier: small
    domains: {orders: {live: {consumers: [{name: worker, dead_letter: true, max_deliver: 2}]}}}
"""


def test_dead_letter_after_max_deliver_and_term(server):
    env = load_environment_text(ENVIRONMENT, "environments/test.yaml", stack="test")
    tenant = env.tenants[0]
    plan = tenant_jetstream(tenant)
    assert [s.name for s in plan.streams][-1] == tenant.dead_letter_stream
    made = [S.create(S.check({}, {**s.inputs, **conn(server)}).inputs) for s in plan.streams]
    [consumer] = plan.consumers
    c = C.create(C.check({}, {**consumer.inputs, **conn(server)}).inputs)
    source, durable = consumer.stream, consumer.inputs["name"]
    subject = next(s for s in plan.streams if s.name == source).inputs["subjects"][0].replace(">", "job")

    async def work(nc):
        js = nc.jetstream()
        await js.publish(subject, b"poison")
        await js.publish(subject, b"bad")
        sub = await js.pull_subscribe_bind(durable, stream=source)
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
            info = await js.stream_info(tenant.dead_letter_stream)
            if info.state.messages >= 2:
                return info.state.messages
            await asyncio.sleep(0.1)
        return info.state.messages

    assert with_nats(server, work) == 2

    async def fetch(api: jsc.JetStreamApi):
        out = []
        for seq in (1, 2):
            adv = await api.stream_msg_get(tenant.dead_letter_stream, seq)
            stream, stream_seq = dead_message_ref(base64.b64decode(adv["data"]))
            dead = await api.stream_msg_get(stream, stream_seq)
            out.append((adv["subject"].split(".")[4], base64.b64decode(dead["data"])))
        return sorted(out)

    assert api_call(server, fetch) == [("MAX_DELIVERIES", b"poison"), ("MSG_TERMINATED", b"bad")]
    C.delete(c.id, c.outs)
    for m in reversed(made):
        S.delete(m.id, m.outs)
