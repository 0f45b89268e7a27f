"""Benchmark a sharded estate (``platform.shard_stacks``) through ``python -m components.ops.estate``.

For each tenant count N (the environment of ``benchmarks/run.py``: each tenant an account, its users,
3 streams, 2 consumers, 1 KV bucket) with shards of about ``--shard-size`` tenants, on a local
nats-server the estate stack starts:

    first up, no-op up (the record), no-op preview of every stack (--all),
    onboarding one tenant (preview + up), one-tenant change (preview + up), offboarding it (up),
    refresh (every stack), destroy

Each step records wall time, the peak RSS of the largest single process and the peak summed over
the command's process tree (``run.TreeSampler``: the nats-server is the estate's, not counted), and
which stacks ran. Onboarding at each N
reads against the smallest N of the run (the cost of a change should not follow the estate).

    .venv/bin/python benchmarks/sharded.py --tenants 100,1000 --shard-size 25 --out benchmarks/results/sharded
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.run import DATA_DIR, STACK, TreeSampler, environment, tenant_id  # noqa: E402
from components.providers import nats_process  # noqa: E402
from tests.support.pulumi_cli import PulumiProject, missing_toolchain  # noqa: E402

MB = 1024 * 1024


@dataclass
class Step:
    step: str
    ok: bool
    wall_s: float
    peak_single_rss_mb: float
    peak_tree_rss_mb: float
    peak_single_process: str
    stacks_run: list[str] = field(default_factory=list)
    tail: str = ""


def estate_step(proj: PulumiProject, name: str, args: list[str], timeout: float) -> Step:
    cmd = [os.path.join(proj.project_dir, ".venv", "bin", "python"), "-m", "components.ops.estate", *args,
           "--stack", proj.stack]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=proj.project_dir, env=proj.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        out += f"\ntimed out after {timeout:.0f}s"
    wall = time.monotonic() - start
    sampler.stop_event.set()
    sampler.join()
    ran = sorted(set(re.findall(r"^(\S+): \w+ done in", out, re.M)))
    step = Step(name, proc.returncode == 0, round(wall, 2), round(sampler.peak_single / MB, 1),
                round(sampler.peak_tree / MB, 1), sampler.peak_single_cmd, ran,
                "" if proc.returncode == 0 else out[-3000:])
    print(f"  {name}: {'ok' if step.ok else 'FAILED'} {step.wall_s:.1f}s, {len(ran)} stack(s), "
          f"largest process {step.peak_single_rss_mb:.0f} MiB", flush=True)
    if not step.ok:
        print(step.tail, flush=True)
    return step


def sharded_environment(n: int, ports: list[int], shards: int, room_for: int, changed: Optional[int] = None,
                        offboarded: Optional[int] = None) -> str:
    """``run.environment`` in ``shards`` shard stacks (a fixed count: changing it moves tenants
    between stacks), on servers sized for ``room_for`` tenants (fixed too: an operator does not
    resize the servers for one tenant); ``offboarded``: the tenant whose WORM-protected streams may go."""
    text = environment(n, *ports, changed=changed, room_for=room_for)
    if offboarded is not None:
        t = tenant_id(offboarded).upper()
        text += f"data_protection:\n  allow_data_loss: [{t}_ORDERS_LIVE, {t}_ORDERS_REPLAY]\n"
    head, _, _ = text.partition("platform:\n")
    _, _, tail = text.partition("platform:\n")
    tail = re.sub(r"^  shards: \d+\n", f"  shards: {shards}\n  shard_stacks: true\n", tail, count=1)
    return f"{head}platform:\n{tail}"


def run_size(n: int, shard_size: int, parallel: int, timeout: float, quick: bool = False) -> dict[str, Any]:
    """Every step at ``n`` tenants (``quick``: without the two steps that run every stack, the
    no-op preview with ``--all`` and the refresh)."""
    workdir = tempfile.mkdtemp(prefix=f"nt-bench-sharded-{n}-")
    proj = PulumiProject(workdir, stack=STACK)
    ports = [nats_process.free_port() for _ in range(3)]
    shards = max(1, -(-n // shard_size))
    room = n + 10
    steps: list[Step] = []
    par = ["--parallel", str(parallel)]
    print(f"{n} tenants, {shards} shard stacks", flush=True)
    try:
        proj.write_environment(sharded_environment(n, ports, shards, room))
        steps.append(estate_step(proj, "up", ["up", *par], timeout))
        steps.append(estate_step(proj, "noop-up", ["up", *par], timeout))
        if not quick:
            steps.append(estate_step(proj, "noop-preview-all", ["preview", "--all", *par], timeout))
        proj.write_environment(sharded_environment(n + 1, ports, shards, room))   # onboarding t{n}
        steps.append(estate_step(proj, "onboard-preview", ["preview", *par], timeout))
        steps.append(estate_step(proj, "onboard-up", ["up", *par], timeout))
        proj.write_environment(sharded_environment(n + 1, ports, shards, room, changed=n))
        steps.append(estate_step(proj, "change-preview", ["preview", *par], timeout))
        steps.append(estate_step(proj, "change-up", ["up", *par], timeout))
        proj.write_environment(sharded_environment(n, ports, shards, room, offboarded=n))   # offboarding t{n}
        steps.append(estate_step(proj, "offboard-up", ["up", *par], timeout))
        if not quick:
            steps.append(estate_step(proj, "refresh", ["refresh", *par], timeout))
        steps.append(estate_step(proj, "destroy", ["destroy", *par], timeout))
    finally:
        pid_file = os.path.join(proj.project_dir, DATA_DIR, "nats.pid")
        if os.path.exists(pid_file):
            pid = int(open(pid_file).read().strip() or 0)
            if pid:
                nats_process.stop(pid)
        shutil.rmtree(workdir, ignore_errors=True)
    return {"tenants": n, "shards": shards, "shard_size": shard_size, "parallel": parallel,
            "onboarded": tenant_id(n), "steps": [asdict(s) for s in steps]}


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [f"# Sharded estate: {platform.node()}, {os.cpu_count()} CPUs, "
             f"{time.strftime('%Y-%m-%d')}", "",
             "Wall seconds per step (stacks run); largest single process RSS in MiB.", ""]
    names = [s["step"] for s in results[0]["steps"]]
    lines.append("| tenants | shards | " + " | ".join(names) + " | largest process MiB |")
    lines.append("|---" * (len(names) + 3) + "|")
    for r in results:
        by = {s["step"]: s for s in r["steps"]}
        cells = [f"{by[n]['wall_s']:.1f} ({len(by[n]['stacks_run'])})" + ("" if by[n]["ok"] else " FAILED")
                 if n in by else "-" for n in names]
        peak = max(s["peak_single_rss_mb"] for s in r["steps"])
        lines.append(f"| {r['tenants']:,} | {r['shards']} | " + " | ".join(cells) + f" | {peak:.0f} |")
    base = results[0]
    base_on = _onboard(base)
    lines += ["", "Onboarding one tenant (preview + up) against the smallest estate of the run:", ""]
    for r in results:
        on = _onboard(r)
        ratio = f"{on / base_on:.2f}x" if base_on else "-"
        lines.append(f"- {r['tenants']:,} tenants: {on:.1f} s ({ratio} of {base['tenants']:,})")
    return "\n".join(lines) + "\n"


def _onboard(r: dict[str, Any]) -> float:
    by = {s["step"]: s["wall_s"] for s in r["steps"]}
    return by.get("onboard-preview", 0.0) + by.get("onboard-up", 0.0)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tenants", default="100,1000")
    ap.add_argument("--shard-size", type=int, default=25)
    ap.add_argument("--parallel", type=int, default=0, help="shard stacks at a time (default: CPU count)")
    ap.add_argument("--timeout", type=float, default=7200)
    ap.add_argument("--quick", action="store_true", help="leave out the steps that run every stack")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "sharded"))
    args = ap.parse_args(argv)
    reason = missing_toolchain()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    parallel = args.parallel or os.cpu_count() or 1
    results = []
    os.makedirs(args.out, exist_ok=True)
    sizes = [int(x) for x in args.tenants.split(",")]
    for n in sizes:
        results.append(run_size(n, args.shard_size, parallel, args.timeout, args.quick))
        label = "_".join(str(r["tenants"]) for r in results)
        with open(os.path.join(args.out, f"sharded-{label}.json"), "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
        with open(os.path.join(args.out, f"sharded-{label}.md"), "w", encoding="utf-8") as f:
            f.write(markdown(results))
    print(markdown(results))
    return 0 if all(s["ok"] for r in results for s in r["steps"]) else 1


if __name__ == "__main__":
    sys.exit(main())
