"""Typed JetStream resources: ``Stream``, ``Consumer``, ``KeyValue``, ``ObjectStore``.

Each is the project's dynamic resource of that kind (same type token, same provider, so the same
check, diff, replace rules, drift on ``pulumi refresh`` and data guards as the environment-file
program), built from an Args dataclass and a ``JetStreamConnection`` instead of a props mapping.

    conn = tenant.jetstream_connection
    orders = Stream("orders", StreamArgs(name="ORDERS", subjects=["acme.events.orders.>"], max_age="24h"), conn)
    Consumer("worker", ConsumerArgs(stream=orders.name, name="worker", max_deliver=3), conn,
             opts=pulumi.ResourceOptions(depends_on=[orders]))
"""
from __future__ import annotations

from typing import Any, Optional

import pulumi

from components.api._props import to_props
from components.api.bucket_args import KeyValueArgs, ObjectStoreArgs
from components.api.connection import JetStreamConnection
from components.api.consumer_args import ConsumerArgs
from components.api.stream_args import StreamArgs
from components.providers import consumer as consumer_provider
from components.providers import kv_bucket, object_store, stream


def _props(args: Any, connection: JetStreamConnection) -> dict[str, Any]:
    return {**to_props(args), **connection.props()}


class Stream(stream.Stream, module="nats", name="Stream"):
    """A JetStream stream. Outputs: the inputs (canonical), ``config`` as the server holds it,
    ``created``, ``messages``, ``bytes``; the id is the stream name."""

    name: pulumi.Output[str]

    def __init__(self, resource_name: str, args: StreamArgs, connection: JetStreamConnection,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(resource_name, _props(args, connection), opts)


class Consumer(consumer_provider.Consumer, module="nats", name="Consumer"):
    """A durable JetStream consumer; the id is ``<stream>/<name>``. Give it ``depends_on`` its stream
    (or pass the stream's ``name`` output as ``stream``) so it is made after and deleted before it."""

    name: pulumi.Output[str]
    num_pending: pulumi.Output[int]

    def __init__(self, resource_name: str, args: ConsumerArgs, connection: JetStreamConnection,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(resource_name, _props(args, connection), opts)


class KeyValue(kv_bucket.KvBucket, module="nats", name="KvBucket"):
    """A key-value bucket; the id is its stream's name ``KV_<bucket>``."""

    bucket: pulumi.Output[str]

    def __init__(self, resource_name: str, args: KeyValueArgs, connection: JetStreamConnection,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(resource_name, _props(args, connection), opts)


class ObjectStore(object_store.ObjectStore, module="nats", name="ObjectStore"):
    """An object store bucket; the id is its stream's name ``OBJ_<bucket>``."""

    bucket: pulumi.Output[str]

    def __init__(self, resource_name: str, args: ObjectStoreArgs, connection: JetStreamConnection,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(resource_name, _props(args, connection), opts)
