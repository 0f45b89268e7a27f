"""The JetStream objects of one account: streams, consumers, KV buckets, object stores, dead letters.

Every resource connects as the account's provisioning user (``creds``, a secret), so each object is
created in the right account and the server enforces the account's JetStream quotas. Consumers
depend on their stream, so offboarding deletes consumers before streams.
"""
from __future__ import annotations

from typing import Any, Optional

import pulumi

from components.model import jetstream_plan as plan
from components.model.spec_model import Environment, JsStream, KvSpec, NamedAccount, ObjectStoreSpec, Tenant
from components.providers.consumer import Consumer
from components.providers.kv_bucket import KvBucket
from components.providers.object_store import ObjectStore
from components.providers.stream import Stream


def _connection(url: pulumi.Input[str], creds: pulumi.Input[str], label: str) -> dict[str, Any]:
    return {"server_url": url, "creds": pulumi.Output.secret(creds), "account_label": label,
            "prevent_destroy": False}


class JetStreamObjects(pulumi.ComponentResource):
    def __init__(self, name: str, tenant: Tenant, url: pulumi.Input[str], creds: pulumi.Input[str],
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("nats-tenancy:index:TenantJetStream", name, None, opts)
        conn = _connection(url, creds, tenant.id)
        child = pulumi.ResourceOptions(parent=self)
        self.streams: dict[str, Stream] = {}
        # Streams without sources first: a replay stream sources its live stream, so it depends on it.
        for sc in sorted(tenant.streams, key=lambda s: bool(s.sources)):
            deps = [self.streams[src] for src in sc.sources if src in self.streams]
            self.streams[sc.name] = Stream(sc.name, {**plan.stream_inputs(sc), **conn},
                                           opts=pulumi.ResourceOptions(parent=self, depends_on=deps))
        if tenant.dead_letter_stream:
            self.streams[tenant.dead_letter_stream] = Stream(
                tenant.dead_letter_stream, {**plan.dead_letter_inputs(tenant), **conn}, opts=child)
        self.consumers = {
            c.durable: Consumer(c.durable, {**plan.consumer_inputs(c), **conn},
                                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.streams[c.stream]]))
            for c in tenant.consumers
        }
        declared_objects(self, tenant.js_streams, tenant.kv_buckets, tenant.object_stores, conn)
        self.register_outputs({})


def declared_objects(owner: pulumi.ComponentResource, js_streams: tuple[JsStream, ...], kv_buckets: tuple[KvSpec, ...],
                     object_stores: tuple[ObjectStoreSpec, ...], conn: dict[str, Any]) -> None:
    """Streams declared with their own fields, their consumers, KV buckets and object stores of one
    account, as children of ``owner`` (which gets ``streams``/``consumers``/``kv``/``object_stores``)."""
    child = pulumi.ResourceOptions(parent=owner)
    streams: dict[str, Stream] = getattr(owner, "streams", {})
    consumers: dict[str, Consumer] = getattr(owner, "consumers", {})
    # A stream that sources or mirrors another of the account waits for it.
    for st in sorted(js_streams, key=lambda s: bool(s.inputs.get("sources") or s.inputs.get("mirror"))):
        origins = [src.get("name") for src in (st.inputs.get("sources") or [])] + (
            [st.inputs["mirror"].get("name")] if st.inputs.get("mirror") else [])
        deps = [streams[o] for o in origins if o in streams]
        streams[st.name] = Stream(st.name, {**dict(st.inputs), **conn},
                                  opts=pulumi.ResourceOptions(parent=owner, depends_on=deps))
    for st in js_streams:
        for c in st.consumers:
            consumers[c.name] = Consumer(c.name, {**dict(c.inputs), **conn},
                                         opts=pulumi.ResourceOptions(parent=owner, depends_on=[streams[st.name]]))
    owner.streams, owner.consumers = streams, consumers  # type: ignore[attr-defined]
    owner.kv = {kv.bucket: KvBucket(kv.bucket, {**plan.kv_inputs(kv), **conn}, opts=child)  # type: ignore[attr-defined]
                for kv in kv_buckets}
    owner.object_stores = {  # type: ignore[attr-defined]
        o.bucket: ObjectStore(o.bucket, {**plan.object_store_inputs(o), **conn}, opts=child) for o in object_stores}


class AccountJetStreamObjects(pulumi.ComponentResource):
    """The declared streams, consumers and buckets of a named account (``accounts:``)."""

    def __init__(self, name: str, account: NamedAccount, url: pulumi.Input[str], creds: pulumi.Input[str],
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("nats-tenancy:index:AccountJetStream", name, None, opts)
        declared_objects(self, account.streams, account.kv_buckets, account.object_stores,
                         _connection(url, creds, account.name))
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
