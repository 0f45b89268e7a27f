"""One command over every stack of a sharded environment (``platform.shard_stacks: true``).

    scripts/estate.sh dev up               # the estate, then the shards that changed
    scripts/estate.sh dev preview --all    # every shard, whatever changed
    scripts/estate.sh dev outputs          # one document, the stack-output contract
    scripts/estate.sh dev up --shard 3     # one shard (a CI job, a Deployments run)

(``scripts/estate.sh`` sets up the CLI's environment and passphrase, then runs this module.)

The estate stack (``dev``) and the shard stacks (``dev-shard-<k>``, ``model/shard_stacks.py``) are
ordinary stacks of this project, run through the Pulumi Automation API on the same CLI and backend:

- **What runs.** ``up`` and ``preview`` run the estate stack, then each shard whose digest (its
  part of the environment: ``shard_digest``) differs from the one its last ``up`` recorded, or that
  has never run. So onboarding a tenant runs its shard's stack only, and a no-op ``up`` reads the
  record. ``--all`` runs every shard: the honest whole-estate preview, and the only one that
  sees drift made outside the tool. ``refresh`` and ``destroy`` always take every shard (``destroy``
  the shards first, then the estate). The record is ``.state/shards/<estate>.json``, written after
  each shard's successful ``up``; without it every shard runs.
- **Bounded parallelism.** ``--parallel`` shards at a time, default twice the CPU count: a shard
  stack's command waits on its engine's round trips (the program blocks on each registration, the
  engine on each provider call, the provider on the server), so one stack per core kept the cores
  55 % busy in a first ``up`` here and two per core 80 % (8 against 11 stacks a minute); each
  stack's processes hold about 250 MiB.
- **Progress.** One line per stack as it starts and ends, with its change counts and time; a
  failed stack prints the tail of its output and the command exits 1 after the others finished.
- **Keys that survive an interrupted up.** Before a shard's ``up``, the account seed of every
  tenant its stack has not created yet is generated here and stored as the shard's secret config
  ``accountSeeds`` (the adoption path of the environment's Tenant resources): a killed ``up`` loses
  no account key, and ``recover`` (``pulumi cancel``, ``refresh --clear-pending-creates``, then
  ``up``) converges with the same keys.
- **State written once per command in the shards.** Shard stacks run with
  ``PULUMI_SKIP_CHECKPOINTS`` (``--checkpoints`` turns the per-step writes back on): what an
  interrupted ``up`` did not record is made again by the next one with the same account keys, and
  the server answers a create of a stream, consumer or bucket that exists with the same config with
  that object, which the providers adopt. User keys are made anew, before their creds were ever
  handed out. The estate stack keeps its checkpoints: the operator key is generated there.

Secrets stay secrets: the stacks' outputs are printed by ``outputs`` only with ``--show-secrets``,
and the CLI runs with ``show_secrets=False``.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import yaml
from pulumi import automation as auto

from components.model.environment.load import load_environment
from components.model.environment.model import Environment
from components.model.environment.tenant_memo import TenantMemo
from components.model.errors import NatsTenancyError, SpecError
from components.model.identity.keys import new_account_key
from components.model.part_cache import PART_VARIABLE, drop_other_parts, part_path, write_part
from components.model.shard_stacks import (
    StackRole,
    all_shard_members,
    estate_digest,
    merge_outputs,
    shard_digests,
    shard_stack_name,
    stack_role,
)
from components.ops.state_repair import drop_empty_metadata

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEEDS_KEY = "nats-tenancy:accountSeeds"
ENVIRONMENT_KEY = "nats-tenancy:environment"


class EstateError(NatsTenancyError, RuntimeError):
    """A stack of the estate failed, or the estate cannot be driven as asked."""


@dataclass
class StackRun:
    """One stack's run: what it did, how long it took, its output tail on failure."""

    stack: str
    action: str
    seconds: float = 0.0
    changes: dict[str, int] = field(default_factory=dict)
    error: Optional[str] = None
    skipped: bool = False


def _plain_setting(stack: str, key: str, project_dir: str) -> Optional[str]:
    """A plain (not secret) setting of ``Pulumi.<stack>.yaml``, read from the file: no CLI call."""
    path = os.path.join(project_dir, f"Pulumi.{stack}.yaml")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        value = ((yaml.safe_load(f) or {}).get("config") or {}).get(key)
    return value if isinstance(value, str) else None


def environment_path(stack: str, project_dir: str = ROOT) -> str:
    """The environment file of the estate stack: its ``environment`` setting, else the default."""
    setting = _plain_setting(stack, ENVIRONMENT_KEY, project_dir) or f"environments/{stack}.yaml"
    return os.path.join(project_dir, setting)


class Record:
    """``.state/shards/<estate>.json``: per shard stack, the digest and tenants of its last ``up``."""

    def __init__(self, estate: str, project_dir: str = ROOT):
        self.path = os.path.join(project_dir, ".state", "shards", f"{estate}.json")
        self._lock = threading.Lock()
        self.entries: dict[str, dict[str, Any]] = {}
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                self.entries = json.load(f)

    def digest(self, stack: str) -> Optional[str]:
        """The digest recorded for ``stack`` (None when it never completed an ``up`` here)."""
        return (self.entries.get(stack) or {}).get("digest")

    def tenants(self, stack: str) -> Optional[set[str]]:
        """The tenants ``stack`` held after its last recorded ``up``."""
        entry = self.entries.get(stack)
        return None if entry is None else set(entry.get("tenants") or ())

    def store(self, stack: str, digest: Optional[str], tenants: list[str]) -> None:
        """Record a completed ``up`` (``digest`` None: forget the stack, it was destroyed)."""
        with self._lock:
            if digest is None:
                self.entries.pop(stack, None)
            else:
                self.entries[stack] = {"digest": digest, "tenants": sorted(tenants)}
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            tmp = f"{self.path}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(self.entries, f, indent=1, sort_keys=True)
            os.replace(tmp, self.path)


class Estate:
    """The estate stack and its shard stacks, driven through the Automation API."""

    def __init__(self, stack: str, project_dir: str = ROOT, say: Callable[[str], None] = print,
                 checkpoints: bool = False):
        self.stack, self.project_dir, self.say, self.checkpoints = stack, project_dir, say, checkpoints
        path = environment_path(stack, project_dir)
        # Tenants whose YAML did not change since the last command are not checked again.
        memo = TenantMemo(os.path.join(project_dir, ".state", "shards", stack, "tenants.memo"))
        self.env: Environment = load_environment(path, stack=stack, memo=memo)
        if not self.env.platform.shard_stacks:
            raise EstateError(f"{self.env.file}: platform.shard_stacks is not set: the environment has one "
                              f"stack; run scripts/pulumi.sh {stack} <command> instead")
        self.record = Record(stack, project_dir)
        self._digests: Optional[dict[Optional[int], str]] = None
        self._members: Optional[dict[int, list[str]]] = None
        self._env_setting = os.path.relpath(self.env.file, project_dir)
        self._cli: Optional[auto.PulumiCommand] = None
        self._cli_lock = threading.Lock()
        self._created: set[str] = set()   # stacks this command made (no state, no outputs yet)

    # --- stacks --------------------------------------------------------------------------------
    def _command(self) -> auto.PulumiCommand:
        """One CLI handle for every stack of the command: each new handle runs ``pulumi version``
        (0.3 s per stack here): at 400 shard stacks two minutes of CLI time, about one minute of a
        first ``up``'s wall time at two stacks at a time."""
        with self._cli_lock:
            if self._cli is None:
                self._cli = auto.PulumiCommand()
            return self._cli

    def _stack(self, name: str) -> auto.Stack:
        env = _cli_env()
        if name != self.stack and not self.checkpoints:
            env["PULUMI_SKIP_CHECKPOINTS"] = "true"
        env[PART_VARIABLE] = self._part(stack_role(name).shard)   # the program reads its part, not the file
        opts = auto.LocalWorkspaceOptions(work_dir=self.project_dir, secrets_provider="passphrase", env_vars=env,
                                          pulumi_command=self._command())
        stack = self._create_or_select(name, opts)
        if name != self.stack and _plain_setting(name, ENVIRONMENT_KEY, self.project_dir) != self._env_setting:
            stack.set_config(ENVIRONMENT_KEY, auto.ConfigValue(self._env_setting))
        return stack

    def _create_or_select(self, name: str, opts: auto.LocalWorkspaceOptions) -> auto.Stack:
        """The stack, made first when the record has never seen it: the Automation API's
        ``create_or_select_stack`` tries ``stack select`` first, a failed CLI call per new stack.
        A stack made here with no config file before it has no state, no outputs and no seeds, so
        ``_seed_new_tenants`` reads none of them (three CLI calls, two of them decrypting)."""
        if self.record.entries.get(name) is not None:
            return auto.select_stack(name, work_dir=self.project_dir, opts=opts)
        # A file can outlive an earlier stack of the name (``stack rm --preserve-config``).
        fresh = not os.path.exists(os.path.join(self.project_dir, f"Pulumi.{name}.yaml"))
        try:
            stack = auto.create_stack(name, work_dir=self.project_dir, opts=opts)
        except auto.StackAlreadyExistsError:
            return auto.select_stack(name, work_dir=self.project_dir, opts=opts)
        if fresh:
            with self._cli_lock:
                self._created.add(name)
        return stack

    def digest(self, shard: Optional[int]) -> str:
        """What the record compares for the estate stack (``shard`` None) or a shard stack. A shard's
        includes the estate's: the shards sign with the estate's keys and reach its servers, so a
        change of the estate runs them again."""
        if self._digests is None:
            self._digests = {None: estate_digest(self.env), **shard_digests(self.env)}
        if shard is None:
            return self._digests[None]
        return f"{self._digests[None]}-{self._digests[shard]}"

    def _part(self, shard: Optional[int]) -> str:
        """The file holding the part of the estate (``shard`` None) or of a shard stack, written now
        unless a part of the same digest is there (``model/part_cache.py``)."""
        return write_part(self.project_dir, self.env, StackRole(self.stack, shard), self.digest(shard),
                          self._all_members())

    def _drop_old_parts(self) -> None:
        """Removes the part files that no current digest names."""
        roles = [None, *range(self.env.platform.shards)]
        drop_other_parts(self.project_dir, self.stack, [
            part_path(self.project_dir, self.env, StackRole(self.stack, k), self.digest(k)) for k in roles])

    def _all_members(self) -> dict[int, list[str]]:
        if self._members is None:
            self._members = all_shard_members(self.env)
        return self._members

    def shards(self, only: Optional[int] = None) -> list[int]:
        """Every shard number, or just ``only``."""
        count = self.env.platform.shards
        if only is not None and not 0 <= only < count:
            raise EstateError(f"--shard {only}: the environment has shards 0..{count - 1}")
        return [only] if only is not None else list(range(count))

    def shard_tenants(self, shard: int) -> list[str]:
        """The tenant ids shard ``shard`` holds (the assignment is made once, in one pass)."""
        return self._all_members()[shard]

    def _refuse_moves(self) -> None:
        """Refuse a change that moves tenants between shard stacks (a new ``platform.shards``): the
        move is a delete in one stack and a create in another, with new keys and without the data."""
        assigned = {tid: shard_stack_name(self.stack, k) for k in self.shards() for tid in self.shard_tenants(k)}
        moves = sorted((tid, held_in, assigned[tid]) for held_in, entry in self.record.entries.items()
                       for tid in entry.get("tenants") or () if tid in assigned and assigned[tid] != held_in)
        if moves:
            shown = ", ".join(f"{t} ({a} -> {b})" for t, a, b in moves[:5])
            more = f" and {len(moves) - 5} more" if len(moves) > 5 else ""
            raise EstateError(
                f"{self.env.file}: platform.shards: {len(moves)} tenant(s) would move to another shard stack: "
                f"{shown}{more}. A move deletes the tenant in one stack and creates it in another, with new "
                "keys and without its stored messages (fix: keep platform.shards as it was)")

    def _seed_new_tenants(self, stack: auto.Stack, shard: int) -> None:
        """Store an account seed for every tenant of the shard its stack has not created (secret
        config ``accountSeeds``), so an interrupted ``up`` loses no account key."""
        new_stack = stack.name in self._created   # made by this command: nothing to read
        held = set() if new_stack else self.record.tenants(stack.name)
        if held is None:
            held = set((_outputs(stack)[0].get("tenants") or {}).keys())
        current = None if new_stack else stack.get_all_config().get(SEEDS_KEY)
        seeds: dict[str, str] = json.loads(current.value) if current is not None else {}
        wanted = set(self.shard_tenants(shard))
        new = sorted(wanted - held - set(seeds))
        dropped = sorted(set(seeds) - wanted)
        if not new and not dropped:
            return
        for tid in new:
            seeds[tid] = new_account_key().seed
        for tid in dropped:   # offboarded, or moved by a change of the shard count
            del seeds[tid]
        self._set_secret(stack, SEEDS_KEY, json.dumps(seeds, sort_keys=True))

    def _set_secret(self, stack: auto.Stack, key: str, value: str) -> None:
        """``pulumi config set --secret`` with the value on the CLI's stdin. ``Stack.set_config``
        puts the value on the command line, where any user of the machine can read it while the
        command runs (``/proc/<pid>/cmdline``)."""
        done = subprocess.run([self._command().command, "--non-interactive", "config", "set", "--secret",
                               "--stack", stack.name, key], input=value, text=True, capture_output=True,
                              cwd=stack.workspace.work_dir, env={**os.environ, **_workspace_env(stack)}, check=False)
        if done.returncode != 0:
            raise EstateError(f"{stack.name}: storing {key} failed: {done.stderr.strip()[-500:]}")

    # --- commands ------------------------------------------------------------------------------
    def run(self, action: str, run_all: bool = False, parallel: int = 0, only: Optional[int] = None,
            show_secrets: bool = False) -> int:
        """Run ``action`` over the estate; 0 when every stack succeeded."""
        started = time.monotonic()
        runs: list[StackRun] = []
        shards = self.shards(only)
        if action in ("up", "preview"):
            self._refuse_moves()
            self._drop_old_parts()
        if action == "destroy":
            runs += self._over_shards(action, shards, parallel, run_all=True)
            if only is None:
                runs.append(self._one(self.stack, action, None))
        else:
            if only is None and (run_all or action == "refresh" or self.record.digest(self.stack) != self.digest(None)):
                runs.append(self._one(self.stack, action, None))
                if runs[-1].error:
                    return self._summary(runs, started)
            elif only is None:
                self.say(f"{self.stack}: unchanged since its last up: skipped (--all runs it)")
                runs.append(StackRun(self.stack, action, skipped=True))
            runs += self._over_shards(action, shards, parallel, run_all=run_all or action == "refresh"
                                      or only is not None)
        return self._summary(runs, started)

    def _over_shards(self, action: str, shards: list[int], parallel: int, run_all: bool) -> list[StackRun]:
        todo, runs = [], []
        for k in shards:
            name = shard_stack_name(self.stack, k)
            if not run_all and self.record.digest(name) == self.digest(k):
                runs.append(StackRun(name, action, skipped=True))
                continue
            todo.append(k)
        if runs:
            self.say(f"{len(runs)} shard stack(s) unchanged since their last up: skipped (--all runs them)")
        workers = max(1, parallel or default_parallel())
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._one, shard_stack_name(self.stack, k), action, k) for k in todo]
            runs += [f.result() for f in futures]
        return runs

    def _one(self, name: str, action: str, shard: Optional[int]) -> StackRun:
        run = StackRun(name, action)
        t0 = time.monotonic()
        tail: list[str] = []

        def keep(line: str) -> None:
            tail.append(line)
            del tail[:-40]

        self.say(f"{name}: {action} ...")
        try:
            stack = self._stack(name)
            if action == "up":
                if shard is not None:
                    self._seed_new_tenants(stack, shard)
                run.changes = self._update(stack, ["up", "--suppress-outputs"], keep)
                self.record.store(name, self.digest(shard), self.shard_tenants(shard) if shard is not None else [])
            elif action == "preview":
                pre = stack.preview(on_output=keep, color="never")
                run.changes = dict(pre.change_summary or {})
            elif action == "refresh":
                run.changes = self._update(stack, ["refresh"], keep)
            elif action == "destroy":
                run.changes = self._update(stack, ["destroy"], keep)
                self.record.store(name, None, [])
            else:
                raise EstateError(f"unknown action {action!r}")
        except auto.errors.CommandError as exc:
            run.error = "\n".join(tail[-20:]) or str(exc)[-2000:]
        except EstateError as exc:
            run.error = str(exc)
        run.seconds = time.monotonic() - t0
        changed = ", ".join(f"{n} {op}" for op, n in sorted(run.changes.items()) if op != "same")
        state = f"FAILED after {run.seconds:.1f}s" if run.error else f"done in {run.seconds:.1f}s"
        self.say(f"{name}: {action} {state}" + (f" ({changed})" if changed else " (no changes)"))
        if run.error:
            self.say("\n".join(f"  {line}" for line in run.error.splitlines()))
        return run

    def _update(self, stack: auto.Stack, verb: list[str], on_output: Callable[[str], None]) -> dict[str, int]:
        """``pulumi up|refresh|destroy`` on ``stack`` through the command's CLI handle; the change
        counts come from the engine's event log. ``Stack.up``, ``refresh`` and ``destroy`` of the
        Automation API run ``stack output`` twice and ``stack history`` after the update for results
        the driver does not use: 1.7 s per stack here, a fifth of an onboarding's ``up``."""
        env = {"PULUMI_DEBUG_COMMANDS": "true", **_workspace_env(stack)}   # --event-log is one of its debug flags
        with tempfile.TemporaryDirectory(prefix="nt-estate-") as tmp:
            log = os.path.join(tmp, "events.jsonl")
            self._command().run([*verb, "--yes", "--skip-preview", "--color", "never", "--stack", stack.name,
                                 "--exec-kind", "auto.local", "--event-log", log], stack.workspace.work_dir, env,
                                on_output)
            return _change_counts(log)

    def _summary(self, runs: list[StackRun], started: float) -> int:
        failed = [r.stack for r in runs if r.error]
        ran = [r for r in runs if not r.skipped]
        self.say(f"{len(ran)} stack(s) run, {len(runs) - len(ran)} skipped, {len(failed)} failed, "
                 f"{time.monotonic() - started:.1f}s")
        if failed:
            self.say("failed: " + ", ".join(failed))
        return 1 if failed else 0

    def outputs(self, show_secrets: bool = False) -> dict[str, Any]:
        """The estate's outputs and every shard's merged into the one-stack contract."""
        estate, secret = _outputs(self._stack(self.stack))
        shards = []
        for k in self.shards():
            values, more = _outputs(self._stack(shard_stack_name(self.stack, k)))
            shards.append(values)
            secret |= more
        merged = merge_outputs(estate, shards)
        if show_secrets:
            return merged
        return {k: "[secret]" if k in secret else _mask(v) for k, v in merged.items()}

    def recover(self) -> int:
        """After an interrupted ``up``: release each stack's lock, clear the creates that were in
        flight (their keys are in config, so the next ``up`` makes them again with the same keys),
        then ``up``. An empty state metadata file left by a CLI killed while it wrote it is removed
        first (``state_repair.py``): until it is, every command on that stack fails."""
        names = [self.stack] + [shard_stack_name(self.stack, k) for k in self.shards()]
        for path in drop_empty_metadata(os.environ.get("PULUMI_BACKEND_URL", ""), names):
            self.say(f"removed the empty state metadata file {path}")
        for name in names:
            stack = self._stack(name)
            try:
                stack.cancel()
            except auto.errors.CommandError:
                pass   # nothing was running
            try:
                stack.refresh(clear_pending_creates=True, show_secrets=False, color="never")
            except auto.errors.CommandError as exc:
                self.say(f"{name}: refresh failed: {str(exc)[-400:]}")
                return 1
        return self.run("up", run_all=True)


def default_parallel() -> int:
    """Shard stacks at a time when ``--parallel`` is not given: twice the CPU count (module docstring)."""
    return 2 * (os.cpu_count() or 1)


def _cli_env() -> dict[str, str]:
    """The CLI's environment, as scripts/env.sh sets it (backend, home, plugins off PATH)."""
    keys = ("PULUMI_BACKEND_URL", "PULUMI_HOME", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE",
            "PULUMI_SKIP_UPDATE_CHECK", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "PATH")
    return {k: os.environ[k] for k in keys if k in os.environ}


def _workspace_env(stack: auto.Stack) -> dict[str, str]:
    """What the Automation API adds to the CLI's environment for ``stack``'s workspace: its
    variables and its Pulumi home, for the commands the driver runs itself."""
    ws = stack.workspace
    return {**ws.env_vars, **({"PULUMI_HOME": ws.pulumi_home} if ws.pulumi_home else {})}


def _change_counts(event_log: str) -> dict[str, int]:
    """The resource change counts of the engine's summary event (``summaryEvent.resourceChanges``)
    in an ``--event-log`` file: one JSON event per line, the summary among the last."""
    counts: dict[str, int] = {}
    with open(event_log, encoding="utf-8") as f:
        for line in f:
            if '"summaryEvent"' in line:
                counts = dict(json.loads(line)["summaryEvent"].get("resourceChanges") or {})
    return counts


def _outputs(stack: auto.Stack) -> tuple[dict[str, Any], set[str]]:
    """A stack's outputs, and the names of those the CLI marks secret as a whole."""
    values = stack.outputs()
    return {k: v.value for k, v in values.items()}, {k for k, v in values.items() if v.secret}


def _mask(value: Any) -> Any:
    """Outputs with every nested secret replaced: the Automation API marks secrets only at the top
    level of an output, so creds and keys are masked by their key names."""
    if isinstance(value, dict):
        return {k: ("[secret]" if k in ("creds", "system_creds", "operator_seed") else _mask(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def main(argv: Optional[list[str]] = None) -> int:
    """The command line (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m components.ops.estate", description=__doc__.split("\n\n")[0])
    ap.add_argument("action", choices=("up", "preview", "refresh", "destroy", "outputs", "recover"))
    ap.add_argument("--stack", required=True, help="the estate stack (the environment's own stack)")
    ap.add_argument("--all", action="store_true", help="run every shard, changed or not")
    ap.add_argument("--shard", type=int, help="run this shard stack only")
    ap.add_argument("--parallel", type=int, default=0, help="shard stacks at a time (default: twice the CPU count)")
    ap.add_argument("--show-secrets", action="store_true", help="outputs: print creds and keys")
    ap.add_argument("--checkpoints", action="store_true",
                    help="shard stacks write their state after every step (slower; the estate always does)")
    args = ap.parse_args(argv)
    try:
        estate = Estate(args.stack, checkpoints=args.checkpoints)
        if args.action == "outputs":
            json.dump(estate.outputs(args.show_secrets), sys.stdout, indent=2, sort_keys=True)
            print()
            return 0
        if args.action == "recover":
            return estate.recover()
        return estate.run(args.action, run_all=args.all, parallel=args.parallel, only=args.shard)
    except (SpecError, EstateError) as exc:
        print(f"estate: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
