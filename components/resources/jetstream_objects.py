"""The JetStream objects of one account: streams, consumers, KV buckets, object stores, dead letters.

Every resource connects as the account's provisioning user (``creds``, a secret), so each object is
created in the right account and the server enforces the account's JetStream quotas. Consumers
depend on their stream, so offboarding deletes consumers before streams.
"""
from __future__ import annotations

from typing import Any, Optional

import pulumi

from components.model import jetstream_plan as plan
from components.model.environment.model import Environment
from components.providers.consumer import Consumer
from components.providers.kv_bucket import KvBucket
from components.providers.object_store import ObjectStore
from components.providers.stream import Stream


def _connection(url: pulumi.Input[str], creds: pulumi.Input[str], label: str) -> dict[str, Any]:
    return {"server_url": url, "creds": pulumi.Output.secret(creds), "account_label": label,
            "prevent_destroy": False}


class JetStreamObjects(pulumi.ComponentResource):
    """The objects of one account's ``JetStreamPlan`` (``jetstream_plan.tenant_jetstream`` or
    ``account_jetstream``) as resources. ``type_token`` keeps each kind of owner's URNs
    (``TenantJetStream`` for tenants, ``AccountJetStream`` for declared accounts)."""

    def __init__(self, name: str, js: plan.JetStreamPlan, url: pulumi.Input[str], creds: pulumi.Input[str],
                 label: str, opts: Optional[pulumi.ResourceOptions] = None,
                 type_token: str = "nats-tenancy:index:TenantJetStream"):
        super().__init__(type_token, name, None, opts)
        conn = _connection(url, creds, label)
        child = pulumi.ResourceOptions(parent=self)
        self.streams: dict[str, Stream] = {}
        for st in js.streams:   # origins first, so a stream waits for the streams it sources
            deps = [self.streams[o] for o in st.after if o in self.streams]
            self.streams[st.name] = Stream(st.name, {**dict(st.inputs), **conn},
                                           opts=pulumi.ResourceOptions(parent=self, depends_on=deps))
        self.consumers = {
            c.name: Consumer(c.name, {**dict(c.inputs), **conn},
                             opts=pulumi.ResourceOptions(parent=self, depends_on=[self.streams[c.stream]]))
            for c in js.consumers
        }
        self.kv = {bucket: KvBucket(bucket, {**dict(inputs), **conn}, opts=child) for bucket, inputs in js.kv_buckets}
        self.object_stores = {bucket: ObjectStore(bucket, {**dict(inputs), **conn}, opts=child)
                              for bucket, inputs in js.object_stores}
        self.register_outputs({})


class PlatformStreams(pulumi.ComponentResource):
    """The ingest streams and durable consumers of one platform shard."""

    def __init__(self, name: str, env: Environment, url: pulumi.Input[str], creds: pulumi.Input[str],
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("nats-tenancy:index:PlatformJetStream", name, None, opts)
        conn = _connection(url, creds, name)
        child = pulumi.ResourceOptions(parent=self)
        self.streams = {s["name"]: Stream(f"{name}-{s['name']}", {**s, **conn}, opts=child)
                        for s in plan.platform_stream_inputs(env)}
        self.consumers = {
            pc.durable: Consumer(f"{name}-{pc.durable}", {**plan.platform_consumer_inputs(pc), **conn},
                                 opts=pulumi.ResourceOptions(parent=self, depends_on=[self.streams[pc.stream]]))
            for pc in env.platform.consumers
        }
        self.register_outputs({})
