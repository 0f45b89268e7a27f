"""Pulumi dynamic provider for a JetStream object store bucket (the ``OBJ_<bucket>`` stream), built
on the stream provider so that it matches what nats-py ``create_object_store`` creates."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi
from pulumi.dynamic import Resource

from components.model.jetstream.object_store import (
    STREAM_TO_INPUT,
    normalize_server_object_store,
    object_store_stream_config,
    validate_and_normalize_object_store,
)
from components.providers.stream import COMPUTED_FIELDS, StreamProvider


class ObjectStoreProvider(StreamProvider):
    kind = "object store"
    validate = staticmethod(validate_and_normalize_object_store)

    def to_stream_config(self, canonical_inputs: Mapping[str, Any]) -> dict[str, Any]:
        return object_store_stream_config(canonical_inputs)

    def stream_name(self, canonical_inputs: Mapping[str, Any]) -> str:
        return f"OBJ_{canonical_inputs['bucket']}"

    def outputs_from_server(self, config: dict[str, Any]) -> dict[str, Any]:
        return normalize_server_object_store(config)

    def input_names(self, stream_fields: list[str], user: Mapping[str, Any]) -> list[str]:
        return sorted({STREAM_TO_INPUT.get(f, f) for f in stream_fields})


class ObjectStore(Resource, module="nats", name="ObjectStore"):
    """An object store bucket. ``props``: bucket, description, ttl, max_bytes, storage, replicas,
    plus server_url, creds, account_label, prevent_destroy. The id is ``OBJ_<bucket>``."""

    config: pulumi.Output[dict]

    def __init__(self, resource_name: str, props: Mapping[str, Any], opts: Optional[pulumi.ResourceOptions] = None):
        secret = pulumi.ResourceOptions(additional_secret_outputs=["creds"])
        full = {**dict(props), **{k: None for k in COMPUTED_FIELDS}}
        super().__init__(ObjectStoreProvider(), resource_name, full, pulumi.ResourceOptions.merge(secret, opts))
