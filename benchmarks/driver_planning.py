"""Benchmark what the estate driver does besides running stacks, by estate size.

Every driver command (``python -m components.ops.estate``) first loads and checks the environment
file, fingerprints every stack (``shard_digests``), refuses moves between shards, and writes the
part of each stack it will run (``model/part_cache.py``). That is the only part of an onboarding
whose cost can follow the estate's size: the stacks that run are the estate's and one shard's,
whatever the estate holds (``benchmarks/sharded.py`` measures those). This script measures it with
the driver's own ``Estate`` class, in-process, without the Pulumi CLI or a server, for:

    cold      the first command (no tenant memo yet)
    noop      the same file again
    onboard   one tenant more
    change    that tenant's stream limits changed

After each step the stacks whose digest changed are recorded as if their ``up`` had succeeded, as
the driver records them. Run on the benchmark environment of ``benchmarks/run.py`` with shards of
``--shard-size`` tenants:

    .venv/bin/python benchmarks/driver_planning.py --tenants 100,1000,10000 --out benchmarks/results/sharded
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from typing import Any, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.sharded import sharded_environment, write_results  # noqa: E402
from components.model.shard_stacks import shard_stack_name  # noqa: E402
from components.ops.estate import Estate  # noqa: E402

PORTS = [14222, 18222, 17422]   # written into the file only; nothing listens


def step(project_dir: str, text: str) -> dict[str, Any]:
    """One driver command's planning on ``text``: seconds, and the stacks it would run."""
    env_dir = os.path.join(project_dir, "environments")
    os.makedirs(env_dir, exist_ok=True)
    with open(os.path.join(env_dir, "dev.yaml"), "w", encoding="utf-8") as f:
        f.write(text)
    started = time.perf_counter()
    estate = Estate("dev", project_dir=project_dir, say=lambda _line: None)
    loaded = time.perf_counter()
    estate._refuse_moves()
    estate._drop_old_parts()
    names = {None: "dev", **{k: shard_stack_name("dev", k) for k in estate.shards()}}
    runs = [k for k, name in names.items() if estate.record.digest(name) != estate.digest(k)]
    for k in runs:
        estate._part(k)   # what opening the stack does
    seconds = time.perf_counter() - started
    for k in runs:   # as after a successful up
        estate.record.store(names[k], estate.digest(k), estate.shard_tenants(k) if k is not None else [])
    return {"seconds": round(seconds, 3), "load_seconds": round(loaded - started, 3),
            "stacks_run": [names[k] for k in runs]}


def run_size(n: int, shard_size: int) -> dict[str, Any]:
    """Every step at ``n`` tenants, in a fresh project folder."""
    shards = max(1, -(-n // shard_size))
    room = n + 10
    project_dir = tempfile.mkdtemp(prefix=f"nt-bench-planning-{n}-")
    try:
        steps = {
            "cold": step(project_dir, sharded_environment(n, PORTS, shards, room)),
            "noop": step(project_dir, sharded_environment(n, PORTS, shards, room)),
            "onboard": step(project_dir, sharded_environment(n + 1, PORTS, shards, room)),
            "change": step(project_dir, sharded_environment(n + 1, PORTS, shards, room, changed=n)),
        }
    finally:
        shutil.rmtree(project_dir, ignore_errors=True)
    return {"tenants": n, "shards": shards, "steps": steps,
            "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "load_avg": round(os.getloadavg()[0], 2)}


def markdown(results: list[dict[str, Any]]) -> str:
    """The results as a table: seconds per step (stacks the step runs)."""
    lines = [f"# Estate driver planning: {platform.node()}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}",
             "", "Seconds per driver command besides running stacks (load and check the file, digests,",
             "parts); in brackets the stacks the command runs. 'load of onboard': reading and checking the file,",
             "part of the onboarding's seconds. Peak RSS: of this process so far (sizes run in order).", "",
             "| tenants | shards | cold s | noop s | onboard s | change s | load of onboard s | peak RSS MiB "
             "| load avg |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        s = r["steps"]
        cells = [f"{s[k]['seconds']:.2f} ({len(s[k]['stacks_run'])})" for k in ("cold", "noop", "onboard", "change")]
        lines.append(f"| {r['tenants']:,} | {r['shards']} | " + " | ".join(cells)
                     + f" | {s['onboard']['load_seconds']:.2f} | {r['max_rss_mib']:.0f} | {r['load_avg']} |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    """Runs the sizes asked for and writes the JSON and the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tenants", default="100,1000,10000")
    ap.add_argument("--shard-size", type=int, default=25)
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "sharded"))
    args = ap.parse_args(argv)
    results = [run_size(int(n), args.shard_size) for n in args.tenants.split(",")]
    write_results(args.out, "planning", results, markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
