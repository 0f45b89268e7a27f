"""Pulumi dynamic provider for a JetStream key-value bucket (the ``KV_<bucket>`` stream).

Reuses the stream provider: the inputs are KV settings, compared and sent as the stream config
nats-py itself would create, so applications calling ``create_key_value`` with the same settings
get the bucket instead of a 10058 conflict. ``replicas`` is updated in place (the server can change
a stream's replica count), unlike tools that replace the bucket and lose its data.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi
from pulumi.dynamic import Resource

from components.model.jetstream.kv import (
    STREAM_TO_INPUT,
    kv_stream_config,
    normalize_server_kv,
    validate_and_normalize_kv,
)
from components.providers.stream import COMPUTED_FIELDS, StreamProvider


class KvBucketProvider(StreamProvider):
    kind = "key-value bucket"
    validate = staticmethod(validate_and_normalize_kv)

    def to_stream_config(self, canonical_inputs: Mapping[str, Any]) -> dict[str, Any]:
        return kv_stream_config(canonical_inputs)

    def stream_name(self, canonical_inputs: Mapping[str, Any]) -> str:
        return f"KV_{canonical_inputs['bucket']}"

    def outputs_from_server(self, config: dict[str, Any]) -> dict[str, Any]:
        return normalize_server_kv(config)

    def input_names(self, stream_fields: list[str], user: Mapping[str, Any]) -> list[str]:
        return sorted({STREAM_TO_INPUT.get(f, f) for f in stream_fields})


class KvBucket(Resource, module="nats", name="KvBucket"):
    """A key-value bucket. ``props``: bucket, description, history, ttl, max_bytes, max_value_size,
    storage, replicas, direct, limit_marker_ttl, plus server_url, creds, account_label,
    prevent_destroy. The id is the stream name ``KV_<bucket>``."""

    config: pulumi.Output[dict]

    def __init__(self, resource_name: str, props: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions] = None):
        secret = pulumi.ResourceOptions(additional_secret_outputs=["creds"])
        full = {**dict(props), **{k: None for k in COMPUTED_FIELDS}}
        super().__init__(KvBucketProvider(), resource_name, full, pulumi.ResourceOptions.merge(secret, opts))
