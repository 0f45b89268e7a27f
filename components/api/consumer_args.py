"""``ConsumerArgs``: ``stream`` plus the fields of ``consumer_fields.CONSUMER_CATALOGUE``.

Every consumer is durable under its ``name`` (``durable_name`` is always the name, so it is not a
field here). ``None`` leaves a field to the catalogue's default; "a change" in each field's text
says whether the server updates an existing consumer in place or it is replaced (deleted and made
again: it starts over from its ``deliver_policy``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Optional, Sequence

import pulumi

from components.api.stream_args import Duration, Size

DeliverPolicy = Literal["all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject"]


@dataclass(frozen=True)
class ConsumerArgs:
    """A durable JetStream consumer's configuration (server field names)."""

    stream: pulumi.Input[str]
    """The stream it reads. Default: required; a change: replace."""
    name: pulumi.Input[str]
    """Consumer name; also its durable_name (every consumer here is durable). Default: required; a change: replace."""
    description: Optional[pulumi.Input[str]] = None
    """Free text. Default: ""; a change: in place."""
    deliver_policy: Optional[DeliverPolicy] = None
    """Where delivery starts; by_start_sequence/by_start_time need opt_start_seq/opt_start_time, last_per_subject a
    filter. Default: all; a change: replace."""
    opt_start_seq: Optional[int] = None
    """First stream sequence for by_start_sequence. Default: 0; a change: replace."""
    opt_start_time: Optional[str] = None
    """First message time for by_start_time (kept in UTC). Default: ""; a change: replace."""
    ack_policy: Optional[Literal["none", "all", "explicit"]] = None
    """Acks expected; explicit here, as nats-py and the nats CLI default (the server's none loses messages on a crash).
    Default: explicit; a change: replace."""
    ack_wait: Optional[Duration] = None
    """Redelivery after this long without an ack. Default: 30s, or backoff[0]; a change: in place."""
    max_deliver: Optional[int] = None
    """Deliveries per message before the max-deliveries advisory (dead letter). Default: -1 (unlimited); a change: in
    place."""
    backoff: Optional[Sequence[Duration]] = None
    """Redelivery delays per attempt; needs acks and max_deliver above its length. Default: []; a change: in place."""
    filter_subject: Optional[pulumi.Input[str]] = None
    """Only this subject (or use filter_subjects). Default: ""; a change: in place."""
    filter_subjects: Optional[Sequence[pulumi.Input[str]]] = None
    """Only these subjects. Default: []; a change: in place."""
    replay_policy: Optional[Literal["instant", "original"]] = None
    """Deliver as fast as possible or at the original pace. Default: instant; a change: replace."""
    sample_freq: Optional[str] = None
    """Share of acks sampled as advisories, e.g. 50%. Default: ""; a change: in place."""
    max_ack_pending: Optional[int] = None
    """Unacked messages in flight before delivery stops. Default: 1000 with acks; a change: in place."""
    headers_only: Optional[bool] = None
    """Deliver headers and size, not bodies. Default: false; a change: in place."""
    inactive_threshold: Optional[Duration] = None
    """Delete the consumer after this long without interest. Default: 0 (never); a change: in place."""
    num_replicas: Optional[int] = None
    """Replicas of its state. Default: 0 (as the stream); a change: in place."""
    mem_storage: Optional[bool] = None
    """Keep its state in memory. Default: false; a change: replace."""
    metadata: Optional[Mapping[str, str]] = None
    """Free key/values. Default: {}; a change: in place."""
    deliver_subject: Optional[pulumi.Input[str]] = None
    """Push consumer: where messages are sent; empty makes a pull consumer. Default: "" (pull); a change: replace
    between push and pull, else in place."""
    deliver_group: Optional[pulumi.Input[str]] = None
    """Push only: the queue group that shares the messages (a queue push consumer). Default: ""; a change: in place."""
    flow_control: Optional[bool] = None
    """Push only: flow-control messages; needs idle_heartbeat. Default: false; a change: replace."""
    idle_heartbeat: Optional[Duration] = None
    """Push only: heartbeat when idle, so clients notice a stalled consumer. Default: 0 (off); a change: replace."""
    rate_limit_bps: Optional[int] = None
    """Push only: bits per second. Default: 0 (off); a change: in place."""
    max_waiting: Optional[int] = None
    """Pull only: pending pull requests. Default: 512 (pull); a change: replace."""
    max_batch: Optional[int] = None
    """Pull only: largest batch. Default: 0 (no cap); a change: in place."""
    max_expires: Optional[Duration] = None
    """Pull only: longest request expiry. Default: 0 (no cap); a change: in place."""
    max_bytes: Optional[Size] = None
    """Pull only: largest request in bytes. Default: 0 (no cap); a change: in place."""
    priority_groups: Optional[Sequence[str]] = None
    """Pull only: group names (1-16 of A-Z a-z 0-9 - _ / =); need a priority_policy. Default: []; a change: in place."""
    priority_policy: Optional[Literal["none", "overflow", "pinned_client", "prioritized"]] = None
    """Pull only: how the groups share messages (overflow, pinned_client, prioritized). Default: none; a change: in
    place."""
    priority_timeout: Optional[Duration] = None
    """pinned_client only: unpin an idle client after this long. Default: 2m with pinned_client; a change: in place."""
    pause_until: Optional[str] = None
    """Deliver nothing before this time (kept in UTC). Default: ""; a change: replace."""
