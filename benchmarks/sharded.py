"""Benchmark a sharded estate (``platform.shard_stacks``) through ``python -m components.ops.estate``.

For each tenant count N (the environment of ``benchmarks/run.py``: each tenant an account, its users,
3 streams, 2 consumers, 1 KV bucket) with shards of about ``--shard-size`` tenants, on a local
nats-server the estate stack starts:

    first up, no-op up (the record), no-op preview of every stack (--all),
    onboarding one tenant (preview + up), one-tenant change (preview + up), offboarding it (up),
    refresh (every stack), destroy

With ``--floor``, after the real no-op preview of every stack, the floor (``benchmarks/floor_program``:
components and no-op dynamic resources, as many in each stack as the real stack holds) is made in
the same number of stacks and previewed the same way (the estate's stack, then the shards,
``--parallel`` at a time), so the whole-estate preview reads as a ratio to Pulumi's own cost for the
same resources through the same stacks.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.run import DATA_DIR, STACK, TreeSampler, count_resources, environment, tenant_id  # noqa: E402
from benchmarks.svg import PALETTE, Panel, Series, loglog  # noqa: E402
from components.ops.estate import default_parallel  # noqa: E402
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
                "" if proc.returncode == 0 else failures(out) + out[-1500:])
    print(f"  {name}: {'ok' if step.ok else 'FAILED'} {step.wall_s:.1f}s, {len(ran)} stack(s), "
          f"largest process {step.peak_single_rss_mb:.0f} MiB", flush=True)
    if not step.ok:
        print(step.tail, flush=True)
    return step


def failures(out: str) -> str:
    """Every failed stack's block of the driver's output (its ``FAILED`` line and the indented
    tail of its CLI output under it), wherever it fell in a long run's output."""
    blocks = re.findall(r"^\S+: \w+ FAILED after .*\n(?:  .*\n?)*", out, re.M)
    return "".join(block[-2000:] for block in blocks)


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


def _stack_counts(proj: PulumiProject, stacks: list[str]) -> dict[str, dict[str, int]]:
    """The resources each stack holds (``run.count_resources``)."""
    out = {}
    for name in stacks:
        view = PulumiProject.__new__(PulumiProject)
        view.__dict__.update(proj.__dict__)
        view.stack = name
        out[name] = count_resources(view)
    return out


def _timed_over_stacks(floor: PulumiProject, stacks: list[str], parallel: int, action: list[str],
                       timeout: float) -> tuple[bool, float]:
    """``action`` on the first stack (the estate's), then on the others ``parallel`` at a time."""
    def one(name: str) -> bool:
        res = floor.run(*action[:1], "--stack", name, *action[1:], check=False, timeout=timeout)
        return res.returncode == 0

    start = time.monotonic()
    ok = one(stacks[0])
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        ok = all(pool.map(one, stacks[1:])) and ok
    return ok, round(time.monotonic() - start, 2)


def floor_steps(counts: dict[str, dict[str, int]], parallel: int, timeout: float) -> list[Step]:
    """The floor in as many stacks as the real estate, each with the real stack's counts: ``up``,
    then a no-op preview of every stack (the step to compare with ``noop-preview-all``)."""
    workdir = tempfile.mkdtemp(prefix="nt-bench-sharded-floor-")
    floor = PulumiProject(workdir, stack=STACK)
    shutil.rmtree(os.path.join(floor.project_dir, "components"), ignore_errors=True)
    for name in ("__main__.py", "noop.py"):
        shutil.copy(os.path.join(ROOT, "benchmarks", "floor_program", name), floor.project_dir)
    stacks = list(counts)
    floor.extra_env["PULUMI_SKIP_CHECKPOINTS"] = "true"   # as the driver runs the shards
    steps = []
    try:
        for name in stacks:
            floor.run("stack", "init", name, "--secrets-provider", "passphrase")
            floor.run("config", "set", "--stack", name, "floor:components", str(max(1, counts[name]["component"])))
            floor.run("config", "set", "--stack", name, "floor:resources", str(counts[name]["custom"]))
        for step, action in (("floor-up", ["up", "--yes", "--skip-preview"]),
                             ("floor-noop-preview-all", ["preview", "--expect-no-changes"])):
            ok, wall = _timed_over_stacks(floor, stacks, parallel, action, timeout)
            steps.append(Step(step, ok, wall, 0.0, 0.0, "", stacks))
            print(f"  {step}: {'ok' if ok else 'FAILED'} {wall:.1f}s, {len(stacks)} stack(s)", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return steps


def run_size(n: int, shard_size: int, parallel: int, timeout: float, quick: bool = False,
             floor: bool = False, on_step: Optional[Callable[[dict[str, Any]], None]] = None) -> dict[str, Any]:
    """Every step at ``n`` tenants (``quick``: without the two steps that run every stack, the
    no-op preview with ``--all`` and the refresh; ``floor``: the floor beside the no-op preview).
    ``on_step`` gets the size's result so far after every step, so a run cut short keeps the steps
    it finished (a 10,000-tenant run takes hours)."""
    workdir = tempfile.mkdtemp(prefix=f"nt-bench-sharded-{n}-")
    proj = PulumiProject(workdir, stack=STACK)
    ports = [nats_process.free_port() for _ in range(3)]
    shards = max(1, -(-n // shard_size))
    room = n + 10
    steps: list[Step] = []

    def record(*done: Step) -> None:
        steps.extend(done)
        if on_step:
            on_step(_size_result(n, shards, shard_size, parallel, steps))

    par = ["--parallel", str(parallel)]
    print(f"{n} tenants, {shards} shard stacks", flush=True)
    try:
        proj.write_environment(sharded_environment(n, ports, shards, room))
        record(estate_step(proj, "up", ["up", *par], timeout))
        record(estate_step(proj, "noop-up", ["up", *par], timeout))
        if not quick:
            record(estate_step(proj, "noop-preview-all", ["preview", "--all", *par], timeout))
        if floor:
            stacks = [STACK] + [f"{STACK}-shard-{k}" for k in range(shards)]
            counts = _stack_counts(proj, stacks)
            record(*floor_steps(counts, parallel, timeout))
        proj.write_environment(sharded_environment(n + 1, ports, shards, room))   # onboarding t{n}
        record(estate_step(proj, "onboard-preview", ["preview", *par], timeout))
        record(estate_step(proj, "onboard-up", ["up", *par], timeout))
        proj.write_environment(sharded_environment(n + 1, ports, shards, room, changed=n))
        record(estate_step(proj, "change-preview", ["preview", *par], timeout))
        record(estate_step(proj, "change-up", ["up", *par], timeout))
        proj.write_environment(sharded_environment(n, ports, shards, room, offboarded=n))   # offboarding t{n}
        record(estate_step(proj, "offboard-up", ["up", *par], timeout))
        if not quick:
            record(estate_step(proj, "refresh", ["refresh", *par], timeout))
        record(estate_step(proj, "destroy", ["destroy", *par], timeout))
    finally:
        pid_file = os.path.join(proj.project_dir, DATA_DIR, "nats.pid")
        if os.path.exists(pid_file):
            pid = int(open(pid_file).read().strip() or 0)
            if pid:
                nats_process.stop(pid)
        shutil.rmtree(workdir, ignore_errors=True)
    return _size_result(n, shards, shard_size, parallel, steps)


def _size_result(n: int, shards: int, shard_size: int, parallel: int, steps: list[Step]) -> dict[str, Any]:
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
    base_on = onboarding_s(base)
    for r in results:
        by = {s["step"]: s for s in r["steps"]}
        if "floor-noop-preview-all" in by and "noop-preview-all" in by:
            real, fl = by["noop-preview-all"]["wall_s"], by["floor-noop-preview-all"]["wall_s"]
            lines.append(f"\n{r['tenants']:,} tenants: no-op preview of every stack {real:.1f} s, floor "
                         f"{fl:.1f} s through the same {r['shards'] + 1} stacks: {real / fl:.2f}x the floor")
    lines += ["", "Onboarding one tenant (preview + up) against the smallest estate of the run:", ""]
    for r in results:
        on = onboarding_s(r)
        ratio = f"{on / base_on:.2f}x" if base_on else "-"
        lines.append(f"- {r['tenants']:,} tenants: {on:.1f} s ({ratio} of {base['tenants']:,})")
    return "\n".join(lines) + "\n"


def onboarding_s(r: dict[str, Any]) -> float:
    by = {s["step"]: s["wall_s"] for s in r["steps"]}
    return by.get("onboard-preview", 0.0) + by.get("onboard-up", 0.0)


def svg_plot(results: list[dict[str, Any]]) -> str:
    """Two panels against tenants, log-log: wall time per step, and the largest single process's
    RSS per step (the bound the design promises: a shard's, not the estate's)."""
    names = list(dict.fromkeys(s["step"] for r in results for s in r["steps"]))

    def panel(key: str, label: str) -> Panel:
        return Panel("tenants (log)", label, [
            Series(name, PALETTE[k % len(PALETTE)], [(float(r["tenants"]), float(s[key])) for r in results
                                                     for s in r["steps"] if s["step"] == name and s["ok"]],
                   dashed=k >= len(PALETTE))
            for k, name in enumerate(names)])

    return loglog([panel("wall_s", "wall time, s (log)"),
                   panel("peak_single_rss_mb", "largest process RSS, MiB (log)")])


def write_results(out: str, prefix: str, results: list[dict[str, Any]], table: str) -> None:
    """``<prefix>-<sizes>.json``, ``.md`` (the summary table) and ``.svg`` (``svg_plot``) in ``out``."""
    os.makedirs(out, exist_ok=True)
    label = "_".join(str(r["tenants"]) for r in results)
    with open(os.path.join(out, f"{prefix}-{label}.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(out, f"{prefix}-{label}.md"), "w", encoding="utf-8") as f:
        f.write(table)
    with open(os.path.join(out, f"{prefix}-{label}.svg"), "w", encoding="utf-8") as f:
        f.write(svg_plot(results))


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tenants", default="100,1000")
    ap.add_argument("--shard-size", type=int, default=25)
    ap.add_argument("--parallel", type=int, default=0,
                    help="shard stacks at a time (default: the driver's, twice the CPU count)")
    ap.add_argument("--timeout", type=float, default=7200)
    ap.add_argument("--quick", action="store_true", help="leave out the steps that run every stack")
    ap.add_argument("--floor", action="store_true", help="the floor through as many stacks, beside the no-op preview")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "sharded"))
    args = ap.parse_args(argv)
    reason = missing_toolchain()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    parallel = args.parallel or default_parallel()
    results = []
    os.makedirs(args.out, exist_ok=True)
    sizes = [int(x) for x in args.tenants.split(",")]
    for n in sizes:
        def partial(result: dict[str, Any], done: list[dict[str, Any]] = list(results)) -> None:
            write_results(args.out, "sharded", [*done, result], markdown([*done, result]))
        results.append(run_size(n, args.shard_size, parallel, args.timeout, args.quick, args.floor, partial))
        write_results(args.out, "sharded", results, markdown(results))
    print(markdown(results))
    return 0 if all(s["ok"] for r in results for s in r["steps"]) else 1


if __name__ == "__main__":
    sys.exit(main())
