"""Benchmark the real stack against a floor of trivial Pulumi resources.

For each tenant count N: write an environment with N tenants (each: an account, its four users, the
exports to the platform, three streams, two consumers, one KV bucket), then drive the real Pulumi
CLI on a copy of the project with a file backend in a temp dir, on a local nats-server the stack
starts on free loopback ports:

    up, no-op preview, no-op up, one-tenant change (preview + up), refresh, destroy

Each step records wall time, the peak RSS summed over the CLI's process tree (the nats-server it
starts is not counted), the peak RSS of the Python program and of the dynamic-provider process,
the largest single-process RSS from ``/usr/bin/time -v`` when present, and resources per second.

With ``--floor`` the same steps run on a tiny program with the same number of component and
no-op dynamic resources (``benchmarks/floor_program``), so results read as a ratio to what Pulumi
itself costs.

    .venv/bin/python benchmarks/run.py --tenants 10,100,1000 --floor --out benchmarks/results

With ``--shard-stacks SIZE`` each size runs as a sharded estate instead (``platform.shard_stacks``,
shards of about SIZE tenants, through the estate driver: ``benchmarks/sharded.py``, whose steps
include onboarding one tenant), with ``--floor`` the floor through the same stacks, and
``--peer`` / ``--raw-floor`` beside the estate's first ``up``: the one run per size that reaches
10,000 tenants on one machine.

    .venv/bin/python benchmarks/run.py --tenants 100,1000,10000 --shard-stacks 20 --floor --peer --raw-floor
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.svg import PALETTE, Panel, Series, loglog  # noqa: E402
from components.providers import nats_process  # noqa: E402
from tests.support.pulumi_cli import PulumiProject, missing_toolchain, toolchain_bin  # noqa: E402

STACK = "bench"
DATA_DIR = ".state/bench/nats"
PAGE = os.sysconf("SC_PAGE_SIZE")
TIME_BIN = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
TENANT_MEM_MIB = 1    # the bench tier's max_memory
TENANT_FILE_MIB = 16  # the bench tier's max_bytes


# --------------------------------------------------------------------------- environment


def tenant_id(i: int) -> str:
    return f"t{i:05d}"


def environment(n: int, client: int, monitor: int, leaf: int, changed: Optional[int] = None,
                room_for: Optional[int] = None) -> str:
    """N tenants; tenant ``changed`` (if any) gets a lower max_connections than its tier; the
    servers' JetStream holds ``room_for`` tenants (default N), so onboarding need not resize them."""
    tenants = []
    for i in range(n):
        quotas = "  quotas: {max_connections: 49}\n" if i == changed else ""
        tenants.append(
            f"- id: {tenant_id(i)}\n"
            "  tier: bench\n"
            f"{quotas}"
            "  domains:\n"
            "    orders:\n"
            "      live:\n"
            "        consumers:\n"
            "          - {name: worker, kind: pull, max_deliver: 3, dead_letter: true}\n"
            "      replay:\n"
            "        consumers:\n"
            "          - {name: replayer, kind: pull}\n"
            "  kv_buckets:\n"
            "    - {name: settings, history: 3}\n"
        )
    shards = max(1, -(-n // 1000))  # ~1,400 tenants fit one platform JWT with 63-char ids; short ids here
    # nats-server reserves each account's JetStream max_memory / max_bytes against the server's
    # limits when it enables JetStream for the account: the server must hold all N tenants.
    room = room_for or n
    server_mem_mib = max(256, room * TENANT_MEM_MIB + 64)
    server_file_mib = max(10 * 1024, room * TENANT_FILE_MIB + 1024)
    return textwrap.dedent(f"""\
        version: 1
        servers:
          mode: local
          host: 127.0.0.1
          client_port: {client}
          monitor_port: {monitor}
          leafnode_port: {leaf}
          data_dir: {DATA_DIR}
        jetstream:
          max_memory: {server_mem_mib}MiB
          max_file: {server_file_mib}MiB
        tiers:
          bench:
            max_streams: 6
            max_consumers: 4
            max_bytes: {TENANT_FILE_MIB}MiB
            max_memory: {TENANT_MEM_MIB}MiB
            max_connections: 50
            retention_days: 7
            max_ack_pending: 500
        tenants:
        """) + "".join(tenants) + textwrap.dedent(f"""\
        platform:
          shards: {shards}
          consumers:
            - name: log-archiver
              class: logs
              filter: "*.logs.>"
        leafnodes:
          - customer: edge-1
            tenant: {tenant_id(0)}
        """)


# --------------------------------------------------------------------------- measuring


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, comm) for every process we can read."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.find("(") + 1:raw.rfind(")")]
        rest = raw[raw.rfind(")") + 2:].split()
        table[int(name)] = (int(rest[1]), comm)
    return table


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class TreeSampler(threading.Thread):
    """Polls /proc for the descendants of one process and keeps peak RSS figures."""

    def __init__(self, root_pid: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.root_pid, self.interval = root_pid, interval
        self.stop_event = threading.Event()
        self.peak_tree = self.peak_program = self.peak_provider = self.peak_server = 0
        self.peak_single, self.peak_single_cmd = 0, ""   # the largest process but the server
        self.samples = 0
        self._kind: dict[int, str] = {}

    def _classify(self, pid: int, comm: str) -> str:
        if pid not in self._kind:
            cmd = _cmdline(pid)
            if comm == "nats-server":
                kind = "server"
            elif "pulumi-language-python-exec" in cmd:
                kind = "program"
            elif "pulumi.dynamic" in cmd:
                kind = "provider"
            else:
                kind = "other"
            self._kind[pid] = kind
        return self._kind[pid]

    def run(self) -> None:
        while not self.stop_event.is_set():
            table = _proc_table()
            children: dict[int, list[int]] = {}
            for pid, (ppid, _) in table.items():
                children.setdefault(ppid, []).append(pid)
            todo, tree = [self.root_pid], 0
            program = provider = server = 0
            while todo:
                pid = todo.pop()
                todo.extend(children.get(pid, ()))
                if pid not in table:
                    continue
                rss = _rss(pid)
                kind = self._classify(pid, table[pid][1])
                if kind == "server":
                    server += rss
                    continue
                tree += rss
                if rss > self.peak_single:
                    self.peak_single, self.peak_single_cmd = rss, _cmdline(pid)[:120]
                if kind == "program":
                    program += rss
                elif kind == "provider":
                    provider += rss
            self.peak_tree = max(self.peak_tree, tree)
            self.peak_program = max(self.peak_program, program)
            self.peak_provider = max(self.peak_provider, provider)
            self.peak_server = max(self.peak_server, server)
            self.samples += 1
            self.stop_event.wait(self.interval)


@dataclass
class Step:
    step: str
    ok: bool
    returncode: int
    wall_s: float
    peak_tree_rss_mb: float
    peak_program_rss_mb: float
    peak_provider_rss_mb: float
    max_single_rss_mb: Optional[float]
    resources: int = 0
    resources_per_s: Optional[float] = None
    changed: Optional[int] = None
    changed_urns: list[str] = field(default_factory=list)
    error: str = ""
    #: (seconds since start, resource operations finished so far), sampled every ~15 s
    progress: list[tuple[float, int]] = field(default_factory=list)


def run_step(proj: PulumiProject, name: str, args: list[str], timeout: float, log_dir: str) -> tuple[Step, str]:
    """Run one CLI command, sampling its process tree; return the step and the CLI's stdout."""
    cmd = ["pulumi", *args, "--non-interactive", "--color", "never"]
    time_file = os.path.join(log_dir, f"{name}.time")
    if TIME_BIN:
        cmd = [TIME_BIN, "-v", "-o", time_file, *cmd]
    out_path, err_path = (os.path.join(log_dir, f"{name}.{s}") for s in ("stdout", "stderr"))
    start = time.monotonic()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(cmd, cwd=proj.project_dir, env=proj.env(), stdout=out, stderr=err,
                                start_new_session=True)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        progress: list[tuple[float, int]] = []
        deadline = start + timeout
        try:
            while True:
                try:
                    rc = proc.wait(timeout=max(0.1, min(15.0, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    progress.append((round(time.monotonic() - start, 1), _finished_ops(out_path)))
                    if time.monotonic() >= deadline:
                        raise
            error = ""
        except subprocess.TimeoutExpired:
            _interrupt(proc)
            rc, error = -1, f"timed out after {timeout:.0f}s"
        except BaseException:
            # The benchmark itself is interrupted: do not leave the CLI running on its own.
            _interrupt(proc)
            sampler.stop_event.set()
            raise
    wall = time.monotonic() - start
    sampler.stop_event.set()
    sampler.join()
    stdout = open(out_path, encoding="utf-8", errors="replace").read()
    stderr = open(err_path, encoding="utf-8", errors="replace").read()
    if rc != 0 and not error:
        error = _error_summary(stdout + stderr)
    single = None
    if TIME_BIN and os.path.exists(time_file):
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(time_file).read())
        single = round(int(m.group(1)) / 1024, 1) if m else None
    mb = 1024 * 1024
    step = Step(name, rc == 0, rc, round(wall, 2), round(sampler.peak_tree / mb, 1),
                round(sampler.peak_program / mb, 1), round(sampler.peak_provider / mb, 1), single, error=error,
                progress=progress)
    return step, stdout


_DONE = re.compile(r" (created|updated|deleted|replaced|refreshed|read) \(\d")


def _finished_ops(path: str) -> int:
    """Resource operations the CLI has reported as finished so far (its progress lines)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return sum(1 for line in f if _DONE.search(line))
    except OSError:
        return 0


def _interrupt(proc: subprocess.Popen) -> None:
    """Interrupt the CLI like Ctrl-C (it cancels cleanly and unlocks the stack), then kill its group."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        # Plugins run in process groups of their own inside the CLI's session: kill the session.
        for pid, sid in _sessions().items():
            if sid == proc.pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        proc.wait()
    except ProcessLookupError:
        pass


def _sessions() -> dict[int, int]:
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as f:
                    out[int(name)] = int(f.read().rsplit(")", 1)[1].split()[3])
            except (OSError, IndexError, ValueError):
                pass
    return out


def _error_summary(text: str, limit: int = 1500) -> str:
    lines = [ln for ln in text.splitlines() if re.search(r"error|Error|Exception|Traceback|failed", ln)]
    return ("\n".join(lines[-15:]) or text[-limit:])[-limit:]


def count_resources(proj: PulumiProject) -> dict[str, int]:
    state = json.loads(proj.export_state())
    resources = state.get("deployment", {}).get("resources") or []
    counts = {"total": 0, "custom": 0, "component": 0}
    for r in resources:
        t = r.get("type", "")
        if t == "pulumi:pulumi:Stack" or t.startswith("pulumi:providers:"):
            continue
        counts["total"] += 1
        counts["custom" if r.get("custom") else "component"] += 1
    return counts


def changed_steps(preview_json: str) -> list[str]:
    data = json.loads(preview_json or "{}")
    return [s.get("urn", "") for s in data.get("steps") or [] if s.get("op") not in ("same", "read", None)]


# --------------------------------------------------------------------------- one run


class Run:
    """One project (real or floor) in its own temp dir, measured step by step."""

    def __init__(self, kind: str, n: int, workdir: str, timeout: float, log_dir: str):
        self.kind, self.n, self.timeout = kind, n, timeout
        self.proj = PulumiProject(workdir, stack=STACK)
        self.log_dir = log_dir
        os.makedirs(log_dir, exist_ok=True)
        self.steps: list[Step] = []
        self.resources = 0
        self.counts: dict[str, int] = {}
        self.ok = False
        self.change_ok = False
        self.on_step = lambda: None  # called after every step (to save partial results)

    def step(self, name: str, *args: str, timeout: Optional[float] = None) -> tuple[Step, str]:
        t0 = time.strftime("%H:%M:%S")
        st, out = run_step(self.proj, name, list(args), timeout or self.timeout, self.log_dir)
        st.resources = self.resources
        if self.resources and st.wall_s:
            st.resources_per_s = round(self.resources / st.wall_s, 1)
        self.steps.append(st)
        print(f"  [{t0}] {self.kind} N={self.n} {name}: {'ok' if st.ok else 'FAILED'} {st.wall_s}s "
              f"tree {st.peak_tree_rss_mb} MiB program {st.peak_program_rss_mb} MiB"
              + (f"  error: {st.error.splitlines()[-1] if st.error else ''}" if not st.ok else ""), flush=True)
        self.on_step()
        return st, out


def stack(proj: PulumiProject) -> list[str]:
    return ["--stack", proj.stack]


def lifecycle(run: Run, write_changed) -> bool:
    """up, no-op preview, no-op up, one change (preview + up), refresh, destroy. False on a failure."""
    p = run.proj
    ok = True
    up, _ = run.step("up", "up", *stack(p), "--yes", "--skip-preview")
    for attempt in (1, 2):
        if up.ok:
            break
        # What a user does after a failed up: run it again. All are recorded; the run is not "ok".
        ok = False
        up, _ = run.step(f"up_retry{attempt}", "up", *stack(p), "--yes", "--skip-preview")
    if not up.ok:
        # Keep whatever was created cleaned up: destroy anyway.
        run.step("destroy", "destroy", *stack(p), "--yes", "--skip-preview")
        return False
    counts = count_resources(p)
    run.resources = counts["total"]
    run.counts = counts
    up.resources = run.resources
    up.resources_per_s = round(run.resources / up.wall_s, 1)
    for name, args in (("preview_noop", ["preview", *stack(p), "--expect-no-changes"]),
                       ("up_noop", ["up", *stack(p), "--yes", "--skip-preview", "--expect-no-changes"])):
        st, _ = run.step(name, *args)
        ok &= st.ok
    write_changed()
    st, out = run.step("preview_change", "preview", *stack(p), "--json")
    if st.ok:
        st.changed_urns = changed_steps(out)
        st.changed = len(st.changed_urns)
    ok &= st.ok
    st, _ = run.step("up_change", "up", *stack(p), "--yes", "--skip-preview")
    ok &= st.ok
    st, _ = run.step("refresh", "refresh", *stack(p), "--yes", "--skip-preview", "--expect-no-changes")
    ok &= st.ok
    st, _ = run.step("destroy", "destroy", *stack(p), "--yes", "--skip-preview")
    ok &= st.ok
    return ok


def stop_server(proj: PulumiProject) -> None:
    pid_file = os.path.join(proj.project_dir, DATA_DIR, "nats.pid")
    if os.path.exists(pid_file):
        pid = int(open(pid_file).read().strip() or 0)
        if pid:
            nats_process.stop(pid)


def real_run(n: int, timeout: float, keep: bool, log_root: str, hook=None) -> Run:
    workdir = tempfile.mkdtemp(prefix=f"nt-bench-real-{n}-")
    run = Run("real", n, workdir, timeout, os.path.join(log_root, f"real-{n}"))
    if hook:
        run.on_step = lambda: hook(run)
    ports = [nats_process.free_port() for _ in range(3)]
    run.proj.write_environment(environment(n, *ports))
    run.proj.init()
    try:
        run.ok = lifecycle(run, lambda: run.proj.write_environment(environment(n, *ports, changed=0)))
        run.change_ok = change_is_only_first_account({"steps": [asdict(s) for s in run.steps]})
    finally:
        stop_server(run.proj)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return run


def change_is_only_first_account(real: dict[str, Any]) -> bool:
    """The one-tenant change previewed as exactly one changing resource: the first tenant's account."""
    chg = next((s for s in real.get("steps", []) if s["step"] == "preview_change"), None)
    urns = (chg or {}).get("changed_urns") or []
    return len(urns) == 1 and urns[0].endswith(f"::{tenant_id(0)}-account")


def floor_run(n: int, counts: dict[str, int], timeout: float, keep: bool, log_root: str, hook=None) -> Run:
    workdir = tempfile.mkdtemp(prefix=f"nt-bench-floor-{n}-")
    run = Run("floor", n, workdir, timeout, os.path.join(log_root, f"floor-{n}"))
    if hook:
        run.on_step = lambda: hook(run)
    p = run.proj
    # Replace the copied program with the floor program (same Pulumi.yaml runtime, same venv).
    shutil.rmtree(os.path.join(p.project_dir, "components"), ignore_errors=True)
    for name in ("__main__.py", "noop.py"):
        shutil.copy(os.path.join(ROOT, "benchmarks", "floor_program", name), p.project_dir)
    p.init(config={"floor:components": str(max(1, counts["component"])),
                   "floor:resources": str(counts["custom"])})
    try:
        run.ok = lifecycle(run, lambda: p.run("config", "set", "--stack", p.stack, "floor:changed", "0"))
        chg = next((s for s in run.steps if s.step == "preview_change"), None)
        run.change_ok = bool(chg and chg.changed == 1)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return run


# --------------------------------------------------------------------------- report

COLUMNS = ("step", "wall_s", "resources_per_s", "peak_tree_rss_mb", "peak_program_rss_mb", "peak_provider_rss_mb",
           "max_single_rss_mb")


def markdown(results: list[dict[str, Any]]) -> str:
    lines = ["# Benchmark results", "",
             f"Machine: {os.cpu_count()} CPUs, {platform.platform()}; Python {platform.python_version()}; "
             f"`{results[0]['pulumi_version'] if results else ''}`.", "",
             "Wall time in seconds; RSS in MiB (tree: the CLI and every child except the nats-server; "
             "program: the Python program; provider: the dynamic-provider process; single: the largest "
             "process per `/usr/bin/time -v`). `floor` runs the same number of component and no-op "
             "dynamic resources; `x floor` is real wall time / floor wall time.", ""]
    for r in results:
        if "sharded" in r:
            lines += sharded_section(r, results)
            continue
        real, floor = r["real"], r.get("floor")
        status = " (in progress: steps so far)" if real.get("partial") or (floor or {}).get("partial") else ""
        lines.append(f"## {r['tenants']} tenants{status}: {real.get('resources', '?')} resources "
                     f"({real.get('counts', {}).get('custom', '?')} custom, "
                     f"{real.get('counts', {}).get('component', '?')} components)")
        lines.append("")
        head = ["step", "wall s", "res/s", "tree MiB", "program MiB", "provider MiB", "single MiB"]
        if floor:
            head += ["floor wall s", "floor tree MiB", "x floor"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        fsteps = {s["step"]: s for s in (floor or {}).get("steps", [])}
        for s in real["steps"]:
            row = [s["step"] + ("" if s["ok"] else " (FAILED)")] + [
                "" if s.get(c) is None else str(s[c]) for c in COLUMNS[1:]]
            if floor:
                f = fsteps.get(s["step"])
                ratio = round(s["wall_s"] / f["wall_s"], 1) if f and f["wall_s"] else ""
                row += [str(f["wall_s"]) if f else "", str(f["peak_tree_rss_mb"]) if f else "", str(ratio)]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        chg = next((s for s in real["steps"] if s["step"] == "preview_change"), None)
        if chg:
            lines.append(f"One-tenant change (max_connections of {tenant_id(0)}): preview reports "
                         f"{chg.get('changed')} changing resource(s): "
                         f"{', '.join(u.rsplit('::', 1)[-1] for u in chg.get('changed_urns', [])) or '-'}"
                         f" ({'as expected' if real.get('change_ok') else 'NOT only the account'}).")
        up = next((s for s in real["steps"] if s["step"] == "up" and s["ok"]), None)
        lines += peer_and_raw_lines(r, up)
        for s in real["steps"]:
            if not s["ok"]:
                lines.append(f"\n`{s['step']}` failed:\n\n```\n{s['error']}\n```")
        lines.append("")
    return "\n".join(lines)


def sharded_section(r: dict[str, Any], results: list[dict[str, Any]]) -> list[str]:
    """One size run in shard stacks: its steps (``benchmarks/sharded.py``), onboarding against the
    smallest sharded size of the run, and the peer and raw floor beside its first ``up``."""
    from benchmarks.sharded import onboarding_s

    sh = r["sharded"]
    status = " (in progress: steps so far)" if sh.get("partial") else ""
    lines = [f"## {r['tenants']:,} tenants in {sh['shards']} shard stacks of about {sh['shard_size']} "
             f"(+ the estate stack), {sh['parallel']} at a time{status}", "",
             "| step | wall s | stacks run | largest process MiB | tree MiB |", "|---|---|---|---|---|"]
    for s in sh["steps"]:
        lines.append(f"| {s['step']}{'' if s['ok'] else ' (FAILED)'} | {s['wall_s']} | {len(s['stacks_run'])} | "
                     f"{s['peak_single_rss_mb']} | {s['peak_tree_rss_mb']} |")
    by = {s["step"]: s for s in sh["steps"]}
    if "noop-preview-all" in by and "floor-noop-preview-all" in by:
        real, fl = by["noop-preview-all"]["wall_s"], by["floor-noop-preview-all"]["wall_s"]
        lines.append(f"\nNo-op preview of every stack: {real} s, the floor through the same stacks {fl} s: "
                     f"{real / fl:.2f}x")
    if "onboard-preview" in by and "onboard-up" in by:
        base = next(b["sharded"] for b in results if "sharded" in b)   # the smallest size of the run
        versus = (f" ({onboarding_s(sh) / onboarding_s(base):.2f}x the {base['tenants']:,}-tenant estate's)"
                  if base is not sh and onboarding_s(base) else "")
        lines.append(f"\nOnboarding one tenant: preview {by['onboard-preview']['wall_s']} s + up "
                     f"{by['onboard-up']['wall_s']} s = {onboarding_s(sh):.1f} s{versus}")
    lines += peer_and_raw_lines(r, by.get("up") if by.get("up", {}).get("ok") else None)
    for s in sh["steps"]:
        if not s["ok"]:
            lines.append(f"\n`{s['step']}` failed:\n\n```\n{s['tail']}\n```")
    lines.append("")
    return lines


def peer_and_raw_lines(r: dict[str, Any], up: Optional[dict[str, Any]]) -> list[str]:
    """The natscli peer and the raw server floor of one size, beside the stack's (or estate's) ``up``."""
    lines: list[str] = []
    whose = "estate's first" if "sharded" in r else "stack's"
    peer = r.get("peer")
    if peer:
        failed = "" if peer["ok"] else f" (FAILED: {'; '.join(peer['failures'])})"
        speed = f"{up.get('resources_per_s')} resources/s" if up and up.get("resources_per_s") else \
            f"{up['wall_s']} s" if up else ""
        versus_up = f"; the {whose} `up`: {speed} (accounts, users and keys included)." if up else "."
        lines.append(f"\nnatscli peer (a plain script, one `nats` command per object, accounts made beforehand): "
                     f"{peer['objects']} streams, consumers and KV buckets in {peer['wall_s']} s = "
                     f"{peer['objects_per_s']} objects/s{failed}{versus_up}")
    raw = r.get("raw_floor")
    if raw:
        lines.append(f"\nRaw server floor (benchmarks/server_scale.py: the same accounts and objects by nats-py "
                     f"directly, {raw['parallel']} accounts at a time): {raw['wall_s']} s = sign {raw['sign_s']} s "
                     f"+ push {raw['push_s']} s ({raw['accounts_per_s']} accounts/s) + {raw['objects']} objects "
                     f"{raw['objects_s']} s ({raw['objects_per_s']} objects/s){'' if raw['ok'] else ' (FAILED)'}"
                     + (f"; the {whose} `up`: {up['wall_s']} s ({round(up['wall_s'] / raw['wall_s'], 1)}x)."
                        if up and raw["wall_s"] else "."))
    return lines


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tenants", default="10,100", help="comma-separated tenant counts (default 10,100)")
    ap.add_argument("--floor", action="store_true", help="also measure the floor program at the same counts")
    ap.add_argument("--peer", action="store_true",
                    help="also make the same JetStream objects with a plain natscli script "
                         "(benchmarks/natscli_peer.py)")
    ap.add_argument("--raw-floor", action="store_true",
                    help="also make the same accounts and objects with nats-py directly (benchmarks/server_scale.py)")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"), help="results directory")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per CLI step (default 3600)")
    ap.add_argument("--keep", action="store_true", help="keep the temp project dirs")
    ap.add_argument("--floor-only", metavar="RESULTS_JSON",
                    help="measure only the floor, at the resource counts of the real runs in RESULTS_JSON "
                         "(an earlier run's results file), and write them together as a new result")
    ap.add_argument("--skip-checkpoints", action="store_true",
                    help="set PULUMI_SKIP_CHECKPOINTS=true (state saved once per command, not after every step)")
    ap.add_argument("--shard-stacks", type=int, default=0, metavar="SIZE",
                    help="run the estate in shard stacks of about SIZE tenants through the estate driver "
                         "(benchmarks/sharded.py: onboarding one tenant among the steps; --floor the floor "
                         "through the same stacks) instead of one stack")
    ap.add_argument("--quick", action="store_true",
                    help="with --shard-stacks: leave out the steps that run every stack (no-op preview, refresh)")
    ap.add_argument("--parallel", type=int, default=0, help="with --shard-stacks: stacks at a time (default: CPUs)")
    args = ap.parse_args(argv)
    if args.shard_stacks and args.floor_only:
        print("cannot run: --floor-only measures one-stack runs; give --floor with --shard-stacks", file=sys.stderr)
        return 2
    reason = missing_toolchain()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    counts = [int(x) for x in args.tenants.split(",") if x.strip()]
    if args.skip_checkpoints:
        os.environ["PULUMI_SKIP_CHECKPOINTS"] = "true"  # PulumiProject.env() copies os.environ
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    earlier: dict[int, dict[str, Any]] = {}
    if args.floor_only:
        with open(args.floor_only) as f:
            earlier = {int(r["tenants"]): r for r in json.load(f)}
        missing = [n for n in counts if not earlier.get(n, {}).get("real", {}).get("counts")]
        if missing:
            print(f"cannot run: {args.floor_only} has no finished real run for {missing} tenants", file=sys.stderr)
            return 2
    tag = ("_".join(str(n) for n in counts) + (f"-shards-of-{args.shard_stacks}" if args.shard_stacks else "")
           + ("-skip-checkpoints" if args.skip_checkpoints else "")
           + ("-floor-added" if args.floor_only else ""))
    log_root = os.path.join(args.out, f"logs-{tag}")
    version = subprocess.run([os.path.join(toolchain_bin(), "pulumi"), "version"],
                             capture_output=True, text=True).stdout.strip()
    results: list[dict[str, Any]] = []
    all_ok = True

    def save(partial: Optional[dict[str, Any]] = None) -> None:
        rows = results + ([partial] if partial else [])
        with open(os.path.join(args.out, f"results-{tag}.json"), "w") as f:
            json.dump(rows, f, indent=2)
        with open(os.path.join(args.out, f"results-{tag}.md"), "w") as f:
            f.write(markdown(rows))

    def as_dict(run: Run) -> dict[str, Any]:
        return {"ok": run.ok, "change_ok": run.change_ok, "resources": run.resources, "counts": run.counts,
                "steps": [asdict(s) for s in run.steps]}

    for n in counts:
        print(f"== {n} tenants", flush=True)
        if args.floor_only:
            # The real run comes from the earlier results file, unchanged; only the floor is measured.
            entry: dict[str, Any] = {**earlier[n], "floor_added": time.strftime("%Y-%m-%d"),
                                     "load_avg_at_floor_start": os.getloadavg()}
            entry["real"]["change_ok"] = change_is_only_first_account(entry["real"])
            if any(st["step"] == "destroy" for st in entry["real"].get("steps", [])):
                entry["real"]["partial"] = False  # saved step by step, but every step ran
        else:
            entry = {"tenants": n, "pulumi_version": f"pulumi {version}",
                     "skip_checkpoints": args.skip_checkpoints, "load_avg_at_start": os.getloadavg()}

        def hook(run: Run, entry: dict[str, Any] = entry) -> None:
            # Saved after every step, so a long run that is stopped still leaves what it measured.
            entry[run.kind] = {**as_dict(run), "partial": True}
            save(entry)

        if args.shard_stacks:
            from benchmarks.sharded import run_size

            def shard_hook(result: dict[str, Any], entry: dict[str, Any] = entry) -> None:
                entry["sharded"] = {**result, "partial": True}
                save(entry)

            entry["sharded"] = run_size(n, args.shard_stacks, args.parallel or os.cpu_count() or 1, args.timeout,
                                        args.quick, args.floor, shard_hook)
            all_ok &= all(st["ok"] for st in entry["sharded"]["steps"])
            real_counts = {}
        elif args.floor_only:
            real_counts = entry["real"]["counts"]
        else:
            real = real_run(n, args.timeout, args.keep, log_root, hook)
            entry["real"] = as_dict(real)
            all_ok &= real.ok and real.change_ok
            real_counts = real.counts
            save(entry)  # the real run is complete (with its change check) before the floor starts
        if (args.floor or args.floor_only) and real_counts:
            floor = floor_run(n, real_counts, args.timeout, args.keep, log_root, hook)
            entry["floor"] = as_dict(floor)
            all_ok &= floor.ok
        if args.peer and not args.floor_only:
            from benchmarks.natscli_peer import peer_run

            entry["peer"] = peer_run(n)
            all_ok &= entry["peer"]["ok"]
        if args.raw_floor and not args.floor_only:
            from benchmarks.server_scale import raw_floor

            entry["raw_floor"] = raw_floor(n)
            all_ok &= entry["raw_floor"]["ok"]
        results.append(entry)
        save()
    with open(os.path.join(args.out, f"results-{tag}.svg"), "w") as f:
        if args.shard_stacks:
            from benchmarks.sharded import svg_plot as sharded_plot

            f.write(sharded_plot([r["sharded"] for r in results]))
        else:
            f.write(svg_plot(results))
    print(f"results: {os.path.join(args.out, f'results-{tag}.md')}")
    return 0 if all_ok else 1


def svg_plot(results: list[dict[str, Any]]) -> str:
    """Wall time per step against resources, log-log, real (solid) and floor (dashed)."""
    series: list[Series] = []
    steps = [s["step"] for s in (results[0]["real"]["steps"] if results else [])
             if not s["step"].startswith("up_retry")]
    for k, step in enumerate(steps):
        for kind, dashed in (("real", False), ("floor", True)):
            pts = []
            for r in results:
                run = r.get(kind) or {}
                st = next((s for s in run.get("steps", []) if s["step"] == step and s["ok"]), None)
                if st and r.get("real", {}).get("resources"):
                    pts.append((float(r["real"]["resources"]), float(st["wall_s"])))
            if pts:
                series.append(Series(f"{kind} {step}", PALETTE[k % len(PALETTE)], pts, dashed))
    return loglog([Panel("resources (log)", "wall time, s (log)", series)], panel_height=480)


if __name__ == "__main__":
    sys.exit(main())
