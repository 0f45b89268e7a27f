"""Bookkeeping of rotated keys: what stays valid during a grace period, and what is due to go (pure).

NATS has no way to revoke something in the future: a revocation entry in an account JWT refuses
every JWT of that user issued up to its timestamp *now*, and a signing key removed from an account
JWT stops vouching for its users *now*. A grace period is therefore kept by us: a replaced key is
recorded with the time it may be withdrawn (``retire_at``), stays valid until then, and is
withdrawn by the first ``pulumi up`` after that time (the provider's diff reports it as a change,
so ``pulumi preview`` lists it first).

Two kinds of rotation use this:
- a user's key (a new generation in the environment file): the old key is revoked in the account
  JWT once its grace period has passed;
- an account signing key: the account JWT keeps listing the old key beside the new one until its
  grace period has passed, so users the old key signed keep connecting while they are re-issued.
"""
from __future__ import annotations

from typing import Iterable, Mapping


def retire(retiring: Mapping[str, int], previous: Iterable[str], current: Iterable[str], now: float,
           grace_s: float) -> dict[str, int]:
    """The retiring keys after a change from ``previous`` to ``current`` keys.

    Keys that were in use and are no longer get ``retire_at = now + grace`` (a zero grace means they
    are withdrawn by this change). A key brought back into use leaves the list. Keys already retiring
    keep their own time: rotating twice within a grace period does not extend the first one.
    """
    current_set = set(current)
    out = {k: int(t) for k, t in retiring.items() if k not in current_set}
    for key in previous:
        if key not in current_set and key not in out and grace_s > 0:
            out[key] = int(now + grace_s)
    return {k: out[k] for k in sorted(out)}


def due(retiring: Mapping[str, int], now: float) -> list[str]:
    """Keys whose grace period has passed: to be withdrawn now."""
    return sorted(k for k, t in retiring.items() if int(t) <= now)


def still_valid(retiring: Mapping[str, int], now: float) -> dict[str, int]:
    """Keys still inside their grace period."""
    return {k: int(t) for k, t in sorted(retiring.items()) if int(t) > now}


def withdraw_now(previous: Iterable[str], current: Iterable[str], retiring: Mapping[str, int],
                 now: float) -> list[str]:
    """Keys to withdraw in this change: replaced with no grace period, or past their grace period.

    ``retiring`` is the result of :func:`retire` for the same change."""
    current_set = set(current)
    immediate = {k for k in previous if k not in current_set and k not in retiring}
    return sorted(immediate | set(due(retiring, now)))
