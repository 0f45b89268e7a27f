"""The server settings that grow with the estate: the one place that decides them.

Every number here is derived from one measurement: one nats-server 2.15.1 on a 2-core machine
holding 100, 1,000 and 10,000 benchmark tenants (``benchmarks/server_scale.py``, results in
``benchmarks/results/scale/server-scale.md``, discussed in ``docs/scale.md``). A benchmark tenant
is one account with 6 JetStream objects: 3 streams, 1 KV bucket (a stream too) and 2 consumers.

=========================  =======  =======  ========
measured                     100     1,000    10,000
=========================  =======  =======  ========
stop after SIGTERM, s         2.48     26.0     223.0
start until ``/healthz``, s   1.95     27.92    756.51
server RSS, MiB               65.8    468.1   5,478.0
=========================  =======  =======  ========

(RSS: the largest of before and after the restart.) From these:

- **stop** is linear, at most 26 ms per tenant (24.8, 26.0 and 22.3 ms at the three sizes);
  budget: ``2 × 26 ms × n``.
- **start** is not linear: 19.5, 27.9 and 75.7 ms per tenant (the server restores the accounts'
  JetStream one after another, and each restore costs more as accounts accumulate).
  ``22.6 ms × n + 5.3 µs × n²`` goes through the 1,000 and 10,000 points and predicts 2.3 s at
  100 (measured 1.95 s); budget: twice that. Beyond 10,000 it is an extrapolation.
- **memory** is about linear, at most 0.55 MiB per tenant (0.47 at 1,000, 0.55 at 10,000 after the
  restart); budget: ``256 MiB + jetstream.max_memory + 1.5 × 0.55 MiB × n``, in steps of 512 MiB,
  at least 1 GiB. The 256 MiB are headroom for client buffers and monitoring responses (an empty
  server is 15 MiB); ``jetstream.max_memory`` is what memory-storage streams may hold in RAM; 1.5,
  not 2, because the measured RSS already includes the Go collector's slack, and ``GOMEMLIMIT`` at
  90 % of the limit makes the runtime collect harder before the kernel would kill the pod.
- **lame duck**: on Kubernetes the pod's ``preStop`` hook signals lame duck mode, in which the
  server (checked on 2.15.1) hands off its Raft leaders (a 1 s wait), stops JetStream (the measured
  stop), ignores the SIGTERM that follows the hook, waits ``lame_duck_grace_period`` and then
  closes its clients spread over the rest of ``lame_duck_duration``, so the peers are not hit by
  every reconnect at once. Duration: ``max(30 s, n / 100 per s)``, 30 s being the server's minimum:
  each second of the spread evicts the clients of about 100 tenants. That rate is a choice, not a
  measurement (reconnects were not measured); it keeps the reconnects well below the slowest
  measured account push rate (378 accounts/s, a JWT check and a resolver write each). Grace
  period: 10 s, the server's default.

``n`` is not the tenant count itself but its **size class**: the estate's load (tenants plus the
other accounts, or its JetStream objects over 6 when tenants carry more objects than a benchmark
tenant) rounded up to 1, 1.5, 2, 3, 5 or 7 × 10^k, at least 100. Why: these settings sit in the
StatefulSet's pod template, and changing the template restarts every server, one after the other.
With classes, onboarding restarts the servers only when the estate crosses into the next class
(at most 1.67 times the previous one), never for each tenant; the price is at most that much more
memory and time budgeted than the load needs.

Floors keep small estates where they were before these rules: the startup probe's 900 s (10 s ×
90), the dev server's 20 s start timeout and 90 s to join running peers; the termination grace
period is rounded up to 30 s steps, 60 s at the least (Kubernetes' default of 30 s leaves no time
for the shortest lame duck duration the server accepts).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from components.model.environment.model import Environment

MIB = 1024 ** 2
GIB = 1024 ** 3

#: A benchmark tenant's JetStream objects: 3 streams, 1 KV bucket, 2 consumers.
BENCH_OBJECTS_PER_TENANT = 6
#: Mantissas of the size classes, and the smallest class.
CLASS_STEPS = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
MIN_CLASS = 100

#: Measured (see the module docstring).
STOP_S_PER_TENANT = 0.026
START_S_PER_TENANT = 0.0226
START_S_PER_TENANT_SQUARED = 5.3e-6
RSS_PER_TENANT = int(0.55 * MIB)

#: Safety factors on the measured costs.
TIME_SAFETY = 2.0
MEMORY_SAFETY = 1.5

#: Lame duck mode (nats-server: ``lame_duck_duration`` at least 30 s; grace period default 10 s).
LAME_DUCK_MIN_S = 30
LAME_DUCK_TENANTS_PER_S = 100
LAME_DUCK_GRACE_S = 10
#: What lame duck mode spends besides stopping JetStream and spreading the evictions: the 1 s wait
#: after handing off Raft leaders, the hook's exec and the final shutdown.
STOP_SLACK_S = 15
TERMINATION_STEP_S = 30
TERMINATION_MIN_S = 60

#: The startup probe: period as before, and today's 90 failures (900 s) as the floor.
STARTUP_PERIOD_S = 10
STARTUP_MIN_FAILURES = 90

MEMORY_BASE = 256 * MIB
MEMORY_STEP = 512 * MIB
MEMORY_MIN = 1 * GIB
#: ``GOMEMLIMIT`` as a share of the container's memory limit.
GOMEMLIMIT_SHARE = (9, 10)

#: The dev server's start timeouts before these rules: alone (or the first members of a new
#: cluster, which only wait for their own JetStream), and joining running peers.
LOCAL_START_MIN_S = 20
LOCAL_JOIN_MIN_S = 90
#: The dev servers' stop: the seconds ``nats_process.stop`` waits after SIGTERM before a SIGKILL,
#: which would cut JetStream's flush short (a 1,000-tenant server took 26 s to stop).
LOCAL_STOP_MIN_S = 10


@dataclass(frozen=True)
class EstateSize:
    """What the servers hold: tenants, accounts and JetStream objects.

    ``accounts``: tenants, declared accounts and the platform's ingest accounts (the system account
    is left out, as in the benchmark's count); ``objects``: their JetStream streams (KV buckets and
    object stores included) and consumers.
    """

    tenants: int
    accounts: int
    objects: int

    @property
    def load(self) -> int:
        """In benchmark tenants: the accounts, or the objects over 6 when there are more of those."""
        return max(self.accounts, math.ceil(self.objects / BENCH_OBJECTS_PER_TENANT))


def estate_size(env: Environment) -> EstateSize:
    """What ``env``'s servers hold, counted from ``env`` as given.

    The stack's part of a sharded environment counts only the tenants of that part
    (``shard_stacks.stack_part``).
    """
    tenant_objects = sum(len(t.stream_names) + len(t.consumer_names) + len(t.kv_buckets) + len(t.object_stores)
                         for t in env.tenants)
    account_objects = sum(len(a.streams) + sum(len(s.consumers) for s in a.streams) + len(a.kv_buckets)
                          + len(a.object_stores) for a in env.accounts)
    platform_streams = len({c.stream for c in env.platform.consumers})
    platform_objects = env.platform.shards * (platform_streams + len(env.platform.consumers))
    accounts = len(env.tenants) + len(env.accounts) + env.platform.shards
    return EstateSize(tenants=len(env.tenants), accounts=accounts,
                      objects=tenant_objects + account_objects + platform_objects)


def size_class(load: int) -> int:
    """The smallest 1, 1.5, 2, 3, 5 or 7 × 10^k that is at least ``load`` (and at least 100)."""
    if load <= MIN_CLASS:
        return MIN_CLASS
    scale = 10 ** (len(str(load)) - 1)
    for step in (*CLASS_STEPS, 10.0):
        if step * scale >= load:
            return int(step * scale)
    raise AssertionError("unreachable: 10 × scale exceeds load")


def _round_up(value: float, step: int) -> int:
    return int(math.ceil(value / step) * step)


@dataclass(frozen=True)
class ServerBudget:
    """The settings for one size class; times in whole seconds, memory in bytes."""

    size_class: int
    stop_s: int                     # JetStream's stop, budgeted
    start_s: int                    # until the full ``/healthz``, budgeted
    lame_duck_duration_s: int
    lame_duck_grace_period_s: int
    termination_grace_period_s: int
    startup_period_s: int
    startup_failure_threshold: int
    memory: int                     # the container's request and limit, unless the environment sets it
    local_start_timeout_s: int      # dev server alone, or a first member waiting for its own JetStream
    local_join_timeout_s: int       # dev cluster member joining running peers (streams to catch up)
    local_stop_timeout_s: int       # dev server: SIGTERM, then this long before SIGKILL

    @property
    def gomemlimit(self) -> int:
        return gomemlimit(self.memory)


def gomemlimit(memory: int) -> int:
    """``GOMEMLIMIT`` for a container limited to ``memory`` bytes."""
    num, den = GOMEMLIMIT_SHARE
    return memory * num // den


def budget_for(n: int, jetstream_max_memory: int) -> ServerBudget:
    """The settings for size class ``n`` (see ``size_class``) and the servers' JetStream memory."""
    stop = math.ceil(TIME_SAFETY * STOP_S_PER_TENANT * n)
    start = math.ceil(TIME_SAFETY * (START_S_PER_TENANT * n + START_S_PER_TENANT_SQUARED * n * n))
    lame_duck = max(LAME_DUCK_MIN_S, math.ceil(n / LAME_DUCK_TENANTS_PER_S))
    grace = max(TERMINATION_MIN_S, _round_up(stop + lame_duck + STOP_SLACK_S, TERMINATION_STEP_S))
    memory = max(MEMORY_MIN, _round_up(MEMORY_BASE + jetstream_max_memory + MEMORY_SAFETY * RSS_PER_TENANT * n,
                                       MEMORY_STEP))
    return ServerBudget(
        size_class=n, stop_s=stop, start_s=start, lame_duck_duration_s=lame_duck,
        lame_duck_grace_period_s=LAME_DUCK_GRACE_S, termination_grace_period_s=grace,
        startup_period_s=STARTUP_PERIOD_S,
        startup_failure_threshold=max(STARTUP_MIN_FAILURES, math.ceil(start / STARTUP_PERIOD_S)),
        memory=memory, local_start_timeout_s=max(LOCAL_START_MIN_S, start),
        local_join_timeout_s=max(LOCAL_JOIN_MIN_S, start), local_stop_timeout_s=max(LOCAL_STOP_MIN_S, stop))


def server_budget(env: Environment) -> ServerBudget:
    """The settings ``env``'s servers need (its size class, and its ``jetstream.max_memory``).

    The estate stack of a sharded environment holds no tenants itself; its part carries the whole
    estate's class (``servers_size_class``), since its servers hold every shard's tenants."""
    n = env.servers_size_class or size_class(estate_size(env).load)
    return budget_for(n, env.jetstream.max_memory)


def go_duration(seconds: int) -> str:
    """Whole seconds as a Go duration (``"30s"``), as the server's config reads them."""
    return f"{seconds}s"
