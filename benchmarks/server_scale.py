"""nats-server at scale: N tenant accounts and their JetStream objects on one operator-mode server.

The server runs the config the dev stack renders (``hub_conf.local_member_conf`` →
``server_conf.render_server_conf``: operator mode, the ``full`` resolver, JetStream sized for N
tenants as ``benchmarks/run.py`` sizes it). The tenants are the benchmark environment's
(``run.environment``): every tenant's account JWT, provisioning user and JetStream objects come
from the stack's own plan (``tenant_plan.plan_tenant``) and the same wire configs the providers
send, so the server sees what an ``up`` would make, without Pulumi:

1. ``sign``: account JWTs and provisioning creds (client side only; not a server cost);
2. ``push``: every account JWT through ``$SYS.REQ.CLAIMS.UPDATE`` on one system-user connection,
   ``--push-window`` requests in flight; accounts/s per batch;
3. ``objects``: per account, as its provisioning user, 3 streams, 2 consumers and 1 KV bucket (a
   fourth stream) in plan order, ``--parallel`` accounts at a time; objects/s per batch;
4. server RSS, ``/jsz`` totals and response sizes;
5. ``restart`` (unless ``--no-restart``): SIGTERM, start again with the resolver directory and the
   store full; time until ``/healthz``, ``/healthz?js-enabled-only=true``, ``/jsz`` reports every
   stream and consumer, and a sample of accounts answers ``STREAM.NAMES`` with all four streams.

    .venv/bin/python benchmarks/server_scale.py --tenants 100,1000 --out benchmarks/results/scale

``raw_floor(n)`` is steps 1–3 alone: the raw server floor ``run.py --raw-floor`` puts beside the
stack's ``up``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.svg import PALETTE, Panel, Series, loglog  # noqa: E402
from components.model.environment.load import load_environment_text  # noqa: E402
from components.model.environment.model import Environment  # noqa: E402
from components.model.identity.keys import KeyPair, new_account_key  # noqa: E402
from components.model.jetstream.consumer import consumer_wire_config, validate_and_normalize_consumer  # noqa: E402
from components.model.jetstream.kv import kv_stream_config, validate_and_normalize_kv  # noqa: E402
from components.model.jetstream.stream import stream_wire_config, validate_and_normalize_stream  # noqa: E402
from components.model.render.hub_conf import local_member_conf  # noqa: E402
from components.model.render.server_conf import render_server_conf  # noqa: E402
from components.model.tenant_plan import plan_tenant  # noqa: E402
from components.nats_io.jetstream import JetStreamApi  # noqa: E402
from components.providers import nats_process  # noqa: E402
from tests.support.operator_mode import OperatorSetup  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1 << 20


# --------------------------------------------------------------------------- the tenants


@dataclass
class TenantWork:
    """One tenant's account and the JetStream API bodies its provisioning user sends, in order."""

    tenant: str
    account: KeyPair
    account_jwt: str
    creds: str
    #: (kind, stream or "", wire body) — streams, then consumers, then KV bucket streams
    objects: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    #: every object was created (a timed-out request may still have been applied by the server)
    complete: bool = False
    failed: bool = False


def bench_environment(n: int, ports: tuple[int, int, int]) -> Environment:
    """The benchmark environment of ``run.py`` for N tenants (same tier, server sizing, objects)."""
    from benchmarks.run import environment

    return load_environment_text(environment(n, *ports), "bench.yaml", stack="bench")


def plan_work(env: Environment, setup: OperatorSetup) -> list[TenantWork]:
    """Account JWTs, provisioning creds and wire bodies for every tenant, from the stack's plan."""
    work = []
    for tenant in env.tenants:
        plan = plan_tenant(tenant)
        assert plan.account is not None
        key = new_account_key()
        item = TenantWork(tenant.id, key, setup.account_jwt(plan.account, key),
                          setup.user_creds(key, plan.users["provisioning"]))
        js = plan.jetstream
        for s in js.streams:
            item.objects.append(("stream", "", stream_wire_config(validate_and_normalize_stream(s.inputs, s.name))))
        for c in js.consumers:
            canonical = validate_and_normalize_consumer({"stream": c.stream, **c.inputs}, c.name)
            item.objects.append(("consumer", c.stream, consumer_wire_config(canonical)))
        for name, inputs in js.kv_buckets:
            kv = validate_and_normalize_kv(inputs, name)
            item.objects.append(("kv", "", stream_wire_config(kv_stream_config(kv, name))))
        work.append(item)
    return work


# --------------------------------------------------------------------------- the server


@dataclass
class Server:
    """A nats-server started from the rendered config; stopped by its own PID."""

    config_path: str
    log_path: str
    monitor_url: str
    url: str
    pid: int = 0

    def start(self) -> None:
        self.pid = nats_process.start_detached(self.config_path, self.log_path)

    def stop(self, timeout: float = 600.0) -> float:
        """SIGTERM and wait (a server with many streams flushes each one); seconds taken."""
        t0 = time.monotonic()
        if self.pid and nats_process.pid_alive(self.pid) and nats_process.pid_is_nats_server(self.pid):
            os.kill(self.pid, signal.SIGTERM)
            while nats_process.pid_alive(self.pid) and time.monotonic() - t0 < timeout:
                _reap(self.pid)
                time.sleep(0.05)
            if nats_process.pid_alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)
            _reap(self.pid)
        self.pid = 0
        return time.monotonic() - t0

    def rss_mib(self) -> float:
        try:
            with open(f"/proc/{self.pid}/statm", encoding="ascii") as f:
                return round(int(f.read().split()[1]) * PAGE / MIB, 1)
        except (OSError, IndexError, ValueError):
            return 0.0

    def get(self, path: str, timeout: float = 30.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.monitor_url + path, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, OSError):
            return 0, b""


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def server_config(env: Environment, setup: OperatorSetup, data_dir: str, extra_resolver: str = "") -> str:
    """The dev stack's rendered config; ``extra_resolver`` lines go inside the resolver block
    (knobs the renderer has no field for yet, e.g. ``limit: 20000``)."""
    conf = local_member_conf(env, 0, data_dir=data_dir, operator_jwt=setup.operator_jwt,
                             system_account=setup.system_account.public_key,
                             system_account_jwt=setup.system_account_jwt)
    text = render_server_conf(conf)
    if extra_resolver:
        marker = "  type: full\n"
        assert text.count(marker) == 1
        text = text.replace(marker, marker + "".join(f"  {ln.strip()}\n" for ln in extra_resolver.split(";")))
    return text


def start_server(env: Environment, setup: OperatorSetup, workdir: str, extra_resolver: str = "") -> Server:
    data_dir = os.path.join(workdir, "server")
    os.makedirs(data_dir, exist_ok=True)
    config_path = os.path.join(workdir, "nats.conf")
    with open(config_path, "w", encoding="utf-8") as f:
        f.write(server_config(env, setup, data_dir, extra_resolver))
    nats_process.check_config_file(config_path)
    s = env.servers
    server = Server(config_path, os.path.join(workdir, "nats.log"),
                    f"http://{s.host}:{s.monitor_port}", f"nats://{s.host}:{s.client_port}")
    server.start()
    nats_process.wait_healthy(server.monitor_url, server.pid, server.log_path, timeout=120)
    setup.servers.append(server.url)
    return server


# --------------------------------------------------------------------------- the timed phases


async def _connect(url: str, creds: str) -> Any:
    import nats
    from nats.aio.client import RawCredentials

    return await nats.connect(url, user_credentials=RawCredentials(creds), allow_reconnect=False,
                              connect_timeout=10, max_reconnect_attempts=0)


async def push_accounts(url: str, system_creds: str, work: list[TenantWork], window: int,
                        batch: int) -> dict[str, Any]:
    """Every account JWT through ``$SYS.REQ.CLAIMS.UPDATE``, ``window`` requests in flight.

    One server: one reply per push (every ``full``-resolver server answers; see nats-jwt notes)."""
    nc = await _connect(url, system_creds)
    sem = asyncio.Semaphore(window)
    failures: list[str] = []
    batches: list[dict[str, Any]] = []

    async def one(item: TenantWork) -> None:
        async with sem:
            msg = await nc.request("$SYS.REQ.CLAIMS.UPDATE", item.account_jwt.encode(), timeout=30)
            reply = json.loads(msg.data)
            if (reply.get("data") or {}).get("code") != 200:
                failures.append(f"{item.tenant}: {reply.get('error') or reply}")

    started = time.monotonic()
    try:
        for b0 in range(0, len(work), batch):
            t0 = time.monotonic()
            chunk = work[b0:b0 + batch]
            await asyncio.gather(*(one(item) for item in chunk))
            wall = time.monotonic() - t0
            batches.append({"accounts_before": b0, "accounts": len(chunk), "wall_s": round(wall, 2),
                            "accounts_per_s": round(len(chunk) / wall, 1)})
    finally:
        await nc.close()
    wall = time.monotonic() - started
    return {"accounts": len(work), "wall_s": round(wall, 2), "accounts_per_s": round(len(work) / wall, 1),
            "window": window, "failures": len(failures), "first_failures": failures[:5], "batches": batches}


async def create_objects(url: str, work: list[TenantWork], parallel: int, batch: int) -> dict[str, Any]:
    """Each account's objects as its provisioning user, one connection per account, ``parallel``
    accounts at a time; the requests the providers send (``JetStreamApi``, retries included)."""
    sem = asyncio.Semaphore(parallel)
    failures: list[str] = []
    batches: list[dict[str, Any]] = []
    counts = {"stream": 0, "consumer": 0, "kv": 0}
    for item in work:
        item.complete = False

    async def one(item: TenantWork) -> None:
        async with sem:
            try:
                nc = await _connect(url, item.creds)
            except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
                failures.append(f"{item.tenant}: connect: {exc}")
                return
            api = JetStreamApi(nc, item.tenant)
            try:
                for kind, stream, body in item.objects:
                    try:
                        if kind == "consumer":
                            await api.consumer_create(stream, body)
                        else:
                            await api.stream_create(body)
                        counts[kind] += 1
                    except Exception as exc:  # noqa: BLE001
                        item.failed = True
                        failures.append(f"{item.tenant}: {kind} {body.get('name') or body.get('durable_name')}: {exc}")
            finally:
                item.complete = not item.failed
                await nc.close()

    started = time.monotonic()
    for b0 in range(0, len(work), batch):
        t0 = time.monotonic()
        chunk = work[b0:b0 + batch]
        before = sum(counts.values())
        await asyncio.gather(*(one(item) for item in chunk))
        wall = time.monotonic() - t0
        made = sum(counts.values()) - before
        batches.append({"accounts_before": b0, "accounts": len(chunk), "objects": made, "wall_s": round(wall, 2),
                        "objects_per_s": round(made / wall, 1)})
        print(f"    objects: accounts {b0}..{b0 + len(chunk)}: {made} in {wall:.1f}s "
              f"({made / wall:.0f}/s){'; failures so far: ' + str(len(failures)) if failures else ''}", flush=True)
    wall = time.monotonic() - started
    total = sum(counts.values())
    return {"objects": total, **{f"{k}s": v for k, v in counts.items()}, "wall_s": round(wall, 2),
            "objects_per_s": round(total / wall, 1), "parallel": parallel,
            "failures": len(failures), "first_failures": failures[:5], "batches": batches}


def jsz_report(server: Server) -> dict[str, Any]:
    """``/jsz`` totals and the byte size of its plain and ``?accounts=true`` answers."""
    out: dict[str, Any] = {}
    t0 = time.monotonic()
    code, body = server.get("/jsz")
    out["jsz_ms"] = round((time.monotonic() - t0) * 1000, 1)
    out["jsz_bytes"] = len(body)
    if code == 200:
        jsz = json.loads(body)
        out.update({k: jsz.get(k) for k in ("accounts", "streams", "consumers", "ha_assets")})
        out["reserved_memory_mib"] = round((jsz.get("reserved_memory") or 0) / MIB, 1)
        out["reserved_storage_mib"] = round((jsz.get("reserved_storage") or 0) / MIB, 1)
        out["store_used_mib"] = round((jsz.get("storage") or 0) / MIB, 1)
    t0 = time.monotonic()
    code, body = server.get("/jsz?accounts=true", timeout=120)
    out["jsz_accounts_ms"] = round((time.monotonic() - t0) * 1000, 1)
    out["jsz_accounts_bytes"] = len(body)
    return out


async def _sample_ready(url: str, sample: list[TenantWork], streams_each: int) -> int:
    """How many sampled accounts answer STREAM.NAMES with all their streams."""
    ready = 0
    for item in sample:
        try:
            nc = await _connect(url, item.creds)
        except Exception:  # noqa: BLE001 - not ready yet
            continue
        try:
            msg = await nc.request("$JS.API.STREAM.NAMES", b"", timeout=5)
            names = json.loads(msg.data).get("streams") or []
            ready += len(names) == streams_each
        except Exception:  # noqa: BLE001
            pass
        finally:
            await nc.close()
    return ready


def restart(server: Server, work: list[TenantWork], expect: dict[str, int], sample_size: int,
            timeout: float) -> dict[str, Any]:
    """Stop, start with the full resolver directory and store, time each readiness signal."""
    rss_before = server.rss_mib()
    stop_s = server.stop()
    t0 = time.monotonic()
    server.start()
    marks: dict[str, Optional[float]] = {"healthz_s": None, "js_enabled_s": None, "jsz_complete_s": None,
                                         "sample_ready_s": None}
    rng = random.Random(17)
    # Accounts whose objects were all created: one that saw a refusal or timeout may lack a stream.
    whole = [item for item in work if item.complete]
    sample = rng.sample(whole, min(sample_size, len(whole)))
    streams_each = sum(1 for kind, _, _ in work[0].objects if kind != "consumer") if work else 0
    polls = 0
    while time.monotonic() - t0 < timeout and None in marks.values():
        if not nats_process.pid_alive(server.pid):
            raise RuntimeError("nats-server exited during restart" + nats_process.log_tail(server.log_path))
        now = lambda: round(time.monotonic() - t0, 2)  # noqa: E731
        if marks["healthz_s"] is None and server.get("/healthz", timeout=5)[0] == 200:
            marks["healthz_s"] = now()
        if marks["js_enabled_s"] is None and server.get("/healthz?js-enabled-only=true", timeout=5)[0] == 200:
            marks["js_enabled_s"] = now()
        if marks["js_enabled_s"] is not None and marks["jsz_complete_s"] is None:
            code, body = server.get("/jsz", timeout=30)
            if code == 200:
                jsz = json.loads(body)
                if jsz.get("streams", 0) >= expect["streams"] and jsz.get("consumers", 0) >= expect["consumers"]:
                    marks["jsz_complete_s"] = now()
        if marks["jsz_complete_s"] is not None and marks["sample_ready_s"] is None:
            if asyncio.run(_sample_ready(server.url, sample, streams_each)) == len(sample):
                marks["sample_ready_s"] = now()
        polls += 1
        time.sleep(0.2)
    return {"rss_before_mib": rss_before, "stop_s": round(stop_s, 2), **marks, "sampled_accounts": len(sample),
            "rss_after_mib": server.rss_mib(), "polls": polls}


# --------------------------------------------------------------------------- one size


@dataclass
class Options:
    push_window: int = 32
    parallel: int = 8
    batches: int = 10
    sample: int = 50
    restart: bool = True
    restart_timeout: float = 1800.0
    extra_resolver: str = ""
    keep: bool = False


def measure(n: int, opts: Options) -> dict[str, Any]:
    """Every phase for N tenants on a fresh server in a temp dir; the server is stopped at the end."""
    workdir = tempfile.mkdtemp(prefix=f"nt-server-scale-{n}-")
    ports = (nats_process.free_port(), nats_process.free_port(), nats_process.free_port())
    result: dict[str, Any] = {"tenants": n, "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
                              "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                              "server_version": nats_process.server_version(),
                              "open_files_limit": open_files_limit()}
    server: Optional[Server] = None
    try:
        t0 = time.monotonic()
        env = bench_environment(n, ports)
        setup = OperatorSetup.build()
        work = plan_work(env, setup)
        result["sign_s"] = round(time.monotonic() - t0, 2)
        result["jetstream_limits"] = {"max_memory_mib": env.jetstream.max_memory // MIB,
                                      "max_file_mib": env.jetstream.max_file // MIB}
        result["objects_per_tenant"] = len(work[0].objects) if work else 0
        server = start_server(env, setup, workdir, opts.extra_resolver)
        result["extra_resolver"] = opts.extra_resolver
        result["rss_empty_mib"] = server.rss_mib()
        batch = max(1, -(-n // opts.batches))
        print(f"  [{time.strftime('%H:%M:%S')}] N={n}: signed in {result['sign_s']}s; pushing", flush=True)
        result["push"] = asyncio.run(push_accounts(server.url, setup.system_creds, work, opts.push_window, batch))
        result["rss_after_push_mib"] = server.rss_mib()
        print(f"  [{time.strftime('%H:%M:%S')}] push: {result['push']['accounts_per_s']} accounts/s, "
              f"failures {result['push']['failures']} {result['push']['first_failures'][:1]}", flush=True)
        result["objects"] = asyncio.run(create_objects(server.url, work, opts.parallel, batch))
        result["rss_after_objects_mib"] = server.rss_mib()
        result["jsz"] = jsz_report(server)
        result["resolver_files"] = _count_files(os.path.join(workdir, "server", "resolver"))
        result["store_files"] = _count_files(os.path.join(workdir, "server", "jetstream"))
        result["open_fds"] = _open_fds(server.pid)
        print(f"  [{time.strftime('%H:%M:%S')}] objects: {result['objects']['objects_per_s']}/s; "
              f"RSS {result['rss_after_objects_mib']} MiB; jsz {result['jsz'].get('streams')} streams", flush=True)
        if opts.restart:
            expect = {"streams": result["jsz"].get("streams") or 0, "consumers": result["jsz"].get("consumers") or 0}
            result["restart"] = restart(server, work, expect, opts.sample, opts.restart_timeout)
            result["open_fds_after_restart"] = _open_fds(server.pid)
            print(f"  [{time.strftime('%H:%M:%S')}] restart: {result['restart']}", flush=True)
        result["log_warnings"] = _log_warnings(server.log_path)
        result["ok"] = bool(result["push"]["failures"] == 0 and result["objects"]["failures"] == 0
                            and (not opts.restart or result["restart"]["sample_ready_s"] is not None))
    finally:
        if server is not None:
            server.stop()
        if not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def raw_floor(n: int, parallel: int = 8, push_window: int = 32) -> dict[str, Any]:
    """The raw server floor of ``run.py``: the stack's accounts and objects made by nats-py directly."""
    r = measure(n, Options(parallel=parallel, push_window=push_window, restart=False))
    wall = r["sign_s"] + r["push"]["wall_s"] + r["objects"]["wall_s"]
    return {"tenants": n, "ok": r["ok"], "sign_s": r["sign_s"], "push_s": r["push"]["wall_s"],
            "objects_s": r["objects"]["wall_s"], "objects": r["objects"]["objects"],
            "accounts_per_s": r["push"]["accounts_per_s"], "objects_per_s": r["objects"]["objects_per_s"],
            "wall_s": round(wall, 2), "parallel": parallel, "push_window": push_window,
            "server_rss_mib": r["rss_after_objects_mib"]}


def raise_open_files(limit: int) -> None:
    """Raise the soft and hard RLIMIT_NOFILE of this process (the server inherits it; the Go
    runtime lifts its soft limit to the hard one). Raising the hard limit needs root."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, limit), max(hard, limit)))
    except (ValueError, OSError):  # no CAP_SYS_RESOURCE (a container): the hard limit stays
        print(f"cannot raise the open-files limit above {hard}; keeping it", file=sys.stderr)


def open_files_limit() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def _count_files(path: str) -> int:
    return sum(len(files) for _, _, files in os.walk(path))


def _open_fds(pid: int) -> Optional[int]:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def _log_warnings(path: str, limit: int = 8) -> list[str]:
    """Distinct warning and error lines of the server log (timestamps dropped)."""
    seen: dict[str, int] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if "[WRN]" in line or "[ERR]" in line:
                    key = re.split(r"\[(?:WRN|ERR)\] ", line, maxsplit=1)[-1].strip()[:160]
                    seen[key] = seen.get(key, 0) + 1
    except OSError:
        return []
    return [f"{v}x {k}" for k, v in sorted(seen.items(), key=lambda kv: -kv[1])[:limit]]


# --------------------------------------------------------------------------- report


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["# nats-server at scale", "",
             f"Machine: {os.cpu_count()} CPUs, {platform.platform()}; nats-server "
             f"{rows[0].get('server_version', '') if rows else ''}. One server, the dev stack's rendered config "
             "(operator mode, `full` resolver). Per tenant: an account (JetStream limits of the bench tier: "
             "1 MiB memory, 16 MiB file, 6 streams, 4 consumers), 3 streams, 2 consumers, 1 KV bucket. "
             "`benchmarks/server_scale.py`.", "",
             "| tenants | streams | consumers | push accounts/s | objects/s | objects s | server RSS MiB "
             "(empty / pushed / objects) | restart: healthz / JS enabled / all streams / sample ready s | "
             "RSS after restart MiB | /jsz bytes | /jsz?accounts bytes | store files | load avg |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        j, rs = r.get("jsz", {}), r.get("restart") or {}
        lines.append("| " + " | ".join(str(x) for x in (
            r["tenants"], j.get("streams"), j.get("consumers"), r["push"]["accounts_per_s"],
            r["objects"]["objects_per_s"], r["objects"]["wall_s"],
            f"{r['rss_empty_mib']} / {r['rss_after_push_mib']} / {r['rss_after_objects_mib']}",
            " / ".join(str(rs.get(k)) for k in ("healthz_s", "js_enabled_s", "jsz_complete_s", "sample_ready_s"))
            if rs else "-", rs.get("rss_after_mib", "-"), j.get("jsz_bytes"), j.get("jsz_accounts_bytes"),
            r.get("store_files"), r["load_avg_at_start"][0])) + " |")
    lines.append("")
    for r in rows:
        lines.append(f"## {r['tenants']} tenants{'' if r.get('ok') else ' (NOT ok)'}")
        lines.append("")
        if r.get("note"):
            lines.append(f"- {r['note']}")
        lines.append(f"- JetStream limits: max_memory {r['jetstream_limits']['max_memory_mib']} MiB, "
                     f"max_file {r['jetstream_limits']['max_file_mib']} MiB; `/jsz` reserved (streams' max_bytes): "
                     f"{r['jsz'].get('reserved_memory_mib')} MiB memory, "
                     f"{r['jsz'].get('reserved_storage_mib')} MiB file"
                     + (f"; extra resolver settings: `{r['extra_resolver']}`" if r.get("extra_resolver") else ""))
        lines.append(f"- plan and signing (client side): {r['sign_s']} s; push: {r['push']['wall_s']} s "
                     f"({r['push']['window']} in flight), failures {r['push']['failures']}; objects: "
                     f"{r['objects']['objects']} in {r['objects']['wall_s']} s ({r['objects']['parallel']} accounts "
                     f"at a time), failures {r['objects']['failures']}")
        for key in ("push", "objects"):
            for f in r[key]["first_failures"][:2]:
                lines.append(f"  - {key} failure: `{f[:300]}`")
        push_rates = ", ".join(str(b["accounts_per_s"]) for b in r["push"]["batches"])
        lines.append("- per batch, push accounts/s: " + (push_rates or "not recorded"))
        lines.append("- per batch, objects/s: " + ", ".join(str(b["objects_per_s"]) for b in r["objects"]["batches"]))
        rs = r.get("restart")
        if rs:
            lines.append(f"- restart: stop {rs['stop_s']} s; then healthz {rs['healthz_s']} s, JetStream enabled "
                         f"{rs['js_enabled_s']} s, /jsz complete {rs['jsz_complete_s']} s, {rs['sampled_accounts']} "
                         f"sampled accounts with all streams {rs['sample_ready_s']} s; RSS {rs['rss_before_mib']} → "
                         f"{rs['rss_after_mib']} MiB; open fds {r.get('open_fds')} → {r.get('open_fds_after_restart')}")
        lines.append(f"- /jsz: {r['jsz'].get('jsz_bytes')} bytes in {r['jsz'].get('jsz_ms')} ms; "
                     f"/jsz?accounts=true: {r['jsz'].get('jsz_accounts_bytes')} bytes in "
                     f"{r['jsz'].get('jsz_accounts_ms')} ms; "
                     f"resolver files {r.get('resolver_files')}, store files {r.get('store_files')}")
        if r.get("log_warnings"):
            lines.append("- server log warnings/errors: " + "; ".join(f"`{w}`" for w in r["log_warnings"][:4]))
        lines.append(f"- load average at start {r['load_avg_at_start']} (2 CPUs shared with other work)")
        lines.append("")
    return "\n".join(lines)


def svg_plot(rows: list[dict[str, Any]]) -> str:
    """Rates, RSS and restart time against tenants, log-log."""
    series = [
        ("push accounts/s", [(r["tenants"], r["push"]["accounts_per_s"]) for r in rows]),
        ("objects/s", [(r["tenants"], r["objects"]["objects_per_s"]) for r in rows]),
        ("server RSS MiB", [(r["tenants"], r["rss_after_objects_mib"]) for r in rows]),
        ("restart until all streams, s",
         [(r["tenants"], (r.get("restart") or {}).get("sample_ready_s")) for r in rows]),
        ("objects wall s", [(r["tenants"], r["objects"]["wall_s"]) for r in rows]),
    ]
    drawn = [Series(label, PALETTE[k], [(float(x), float(y)) for x, y in pts if y])
             for k, (label, pts) in enumerate(series)]
    return loglog([Panel("tenants (log)", "", drawn)], width=720, panel_height=420, legend_width=210)


def save(out_dir: str, rows: list[dict[str, Any]]) -> None:
    """Merge ``rows`` into ``server-scale.json`` (one row per tenant count) and redraw md and svg."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "server-scale.json")
    merged: dict[int, dict[str, Any]] = {}
    if os.path.exists(path):
        with open(path) as f:
            merged = {int(r["tenants"]): r for r in json.load(f)}
    merged.update({int(r["tenants"]): r for r in rows})
    ordered = [merged[k] for k in sorted(merged)]
    with open(path, "w") as f:
        json.dump(ordered, f, indent=2)
    with open(os.path.join(out_dir, "server-scale.md"), "w") as f:
        f.write(markdown(ordered))
    with open(os.path.join(out_dir, "server-scale.svg"), "w") as f:
        f.write(svg_plot(ordered))


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tenants", default="100,1000", help="comma-separated tenant counts")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "scale"))
    ap.add_argument("--push-window", type=int, default=32, help="claim updates in flight (default 32)")
    ap.add_argument("--parallel", type=int, default=8, help="accounts making their objects at once (default 8)")
    ap.add_argument("--batches", type=int, default=10, help="batches to report rates per (default 10)")
    ap.add_argument("--sample", type=int, default=50, help="accounts checked after a restart (default 50)")
    ap.add_argument("--no-restart", action="store_true")
    ap.add_argument("--resolver-extra", default="",
                    help="settings added to the resolver block, ';'-separated (e.g. 'limit: 20000')")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--nofile", type=int, default=0,
                    help="raise RLIMIT_NOFILE to this for the server (it keeps ~1 file open per stream "
                         "until a restart)")
    args = ap.parse_args(argv)
    if args.nofile:
        raise_open_files(args.nofile)
    opts = Options(push_window=args.push_window, parallel=args.parallel, batches=args.batches, sample=args.sample,
                   restart=not args.no_restart, extra_resolver=args.resolver_extra, keep=args.keep)
    ok = True
    for n in [int(x) for x in args.tenants.split(",") if x.strip()]:
        print(f"== {n} tenants", flush=True)
        row = measure(n, opts)
        save(args.out, [row])
        ok &= row["ok"]
    print(f"results: {os.path.join(args.out, 'server-scale.md')}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
