"""LocalServer: a real nats-server process on this machine, managed as a Pulumi resource (dev stacks).

create writes the rendered config under the data directory, checks it with ``nats-server -t``,
starts the server detached and waits for ``/healthz``; its PID is an output. A server that is no
longer running (reboot, crash, killed by hand) shows up as a change in ``diff`` and is started again
by ``update``, so ``pulumi up`` always leaves a running server. ``delete`` stops it by the recorded
PID and keeps the JetStream store unless ``keep_store`` is false.

Members of a local cluster are one LocalServer each, created and updated one after another (each
depends on the previous one). A member waits for its own health only as far as it can reach it.
A new cluster elects its JetStream meta leader only once every configured server has joined, so
while some peer is down and no peer is healthy (the first members of a new cluster) a member waits
just until its own JetStream runs. Once every peer runs, or some peer is healthy (an established
cluster), it waits for the full ``/healthz``: a meta leader, and every stream it holds current with
its peers. So a config change restarts one member at a time, and the next one stops only after the
previous one has caught up: a rolling restart keeps a quorum.

``process_env`` (a secret input) holds environment variables the config refers to, the JetStream
store key; the process gets them, the config file on disk only names them.

``sync_interval`` repeats the JetStream fsync setting of the (secret, hence hidden) config text as a
plain input, so a preview shows a durability change in clear: ``sync_interval: "2m" => "always"``.
"""
from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from typing import Any, Mapping, Optional

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from components.providers import nats_process
from components.providers.identity_common import is_unknown

_INPUTS = ("server_name", "config_text", "data_dir", "host", "client_port", "monitor_port", "keep_store",
           "extra_ports", "peer_monitor_urls", "process_env", "sync_interval", "start_timeout", "join_timeout",
           "stop_timeout")
# Changing any of these needs a restart of the process (a new config file is read on start).
_RESTART_FIELDS = ("config_text", "data_dir", "host", "client_port", "monitor_port", "extra_ports", "process_env")
#: Seconds to wait for health without a ``start_timeout``/``join_timeout`` input (the dev stack passes
#: both, grown with the estate: ``model.render.server_budget``). A member that joins running peers
#: may have streams to catch up before it reports healthy.
START_TIMEOUT = 20.0
JOIN_TIMEOUT = 90.0
#: Seconds from SIGTERM to SIGKILL without a ``stop_timeout`` input.
STOP_TIMEOUT = 10.0


def _paths(data_dir: str) -> tuple[str, str, str]:
    return (os.path.join(data_dir, "nats.conf"), os.path.join(data_dir, "nats.log"), os.path.join(data_dir, "nats.pid"))




def _running(outs: Mapping[str, Any]) -> bool:
    pid = outs.get("pid")
    return bool(pid) and nats_process.pid_alive(int(pid)) and nats_process.pid_is_nats_server(int(pid))


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):   # HTTPError (503) included
        return False


def _cluster_can_be_healthy(props: Mapping[str, Any]) -> bool:
    """True when a full ``/healthz`` of this member can be reached: every peer runs, or some peer
    is healthy (then a meta leader exists)."""
    peers = list(props.get("peer_monitor_urls") or [])
    return all(_answers(f"{u}/varz") for u in peers) or any(_answers(f"{u}/healthz") for u in peers)


def _start(props: Mapping[str, Any]) -> dict[str, Any]:
    data_dir = str(props["data_dir"])
    host, port, mport = str(props["host"]), int(props["client_port"]), int(props["monitor_port"])
    extra = {str(k): int(v) for k, v in (props.get("extra_ports") or {}).items()}
    for label, p in (("client_port", port), ("monitor_port", mport), *sorted(extra.items())):
        if nats_process.port_in_use(host, p):
            raise nats_process.NatsServerError(
                f"LocalServer {props['server_name']}: {label} {host}:{p} is already in use by another process: "
                f"stop it, or change servers.{label} in the environment file"
            )
    os.makedirs(data_dir, exist_ok=True)
    conf_path, log_path, pid_path = _paths(data_dir)
    with open(conf_path, "w", encoding="utf-8") as f:
        f.write(str(props["config_text"]))
    os.chmod(conf_path, 0o600)
    process_env = {str(k): str(v) for k, v in (props.get("process_env") or {}).items()}
    nats_process.check_config_file(conf_path, env=process_env)
    joining = _cluster_can_be_healthy(props)
    pid = nats_process.start_detached(conf_path, log_path, env=process_env)
    with open(pid_path, "w", encoding="ascii") as f:
        f.write(f"{pid}\n")
    start_timeout = float(props.get("start_timeout") or START_TIMEOUT)
    join_timeout = float(props.get("join_timeout") or JOIN_TIMEOUT)
    try:
        if props.get("peer_monitor_urls"):
            nats_process.wait_healthy(f"http://{host}:{mport}", pid, log_path,
                                      timeout=join_timeout if joining else start_timeout, server_only=not joining)
        else:
            nats_process.wait_healthy(f"http://{host}:{mport}", pid, log_path, timeout=start_timeout)
    except Exception:
        nats_process.stop(pid, timeout=_stop_timeout(props))
        raise
    return {
        **{k: props[k] for k in _INPUTS if k in props},
        "client_port": port,
        "monitor_port": mport,
        "pid": pid,
        "url": f"nats://{host}:{port}",
        "monitor_url": f"http://{host}:{mport}",
        "config_path": conf_path,
        "log_path": log_path,
    }


def _stop_timeout(props: Mapping[str, Any]) -> float:
    """Seconds between SIGTERM and SIGKILL (``stop_timeout``: the estate's stop budget)."""
    return float(props.get("stop_timeout") or STOP_TIMEOUT)


def _stop(outs: Mapping[str, Any]) -> None:
    pid = outs.get("pid")
    if pid:
        nats_process.stop(int(pid), timeout=_stop_timeout(outs))


class LocalServerProvider(ResourceProvider):
    """Stateless: everything it needs travels in the resource's inputs/outputs."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        for key in ("client_port", "monitor_port"):
            value = news.get(key)
            if value is None or is_unknown(value):
                continue
            if not (0 < int(value) < 65536) or int(value) != value:
                failures.append(CheckFailure(key, f"{value!r} is not a TCP port (1-65535)"))
        host = news.get("host")
        loopback = isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1"))
        if isinstance(host, str) and not is_unknown(host) and not loopback:
            failures.append(CheckFailure("host", f"{host!r}: a local dev server listens on loopback only (127.0.0.1)"))
        if failures:
            return CheckResult(news, failures)
        inputs = dict(news)
        for key in ("client_port", "monitor_port"):
            if key in inputs and not is_unknown(inputs[key]):
                inputs[key] = int(inputs[key])
        inputs.setdefault("keep_store", True)
        return CheckResult(inputs, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in _INPUTS if olds.get(k) != news.get(k)]
        if not _running(olds):
            # The process is gone (crash, reboot): report it so `up` starts it again.
            changed.append("pid")
        return DiffResult(changes=bool(changed), replaces=[k for k in changed if k == "data_dir"],
                          delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = _start(props)
        return CreateResult(str(props["server_name"]), outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # A stopped server stays in state (its store is still on disk); diff will restart it.
        outs = dict(props)
        if not _running(props):
            outs["pid"] = 0
        return ReadResult(id_, outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if _running(olds):
            if not any(olds.get(k) != news.get(k) for k in _RESTART_FIELDS):
                return UpdateResult({**olds, **{k: news[k] for k in _INPUTS if k in news},
                                     "keep_store": news.get("keep_store", True)})
            _stop(olds)
        return UpdateResult(_start(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        _stop(props)
        if not props.get("keep_store", True):
            store = os.path.join(str(props["data_dir"]), "jetstream")
            shutil.rmtree(store, ignore_errors=True)


class LocalServer(pulumi.dynamic.Resource, module="nats", name="LocalServer"):
    pid: pulumi.Output[int]
    url: pulumi.Output[str]
    monitor_url: pulumi.Output[str]
    config_path: pulumi.Output[str]
    log_path: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        config_text: pulumi.Input[str],
        data_dir: str,
        host: str,
        client_port: int,
        monitor_port: int,
        keep_store: bool = True,
        extra_ports: Optional[Mapping[str, int]] = None,
        peer_monitor_urls: Optional[list[str]] = None,
        process_env: Optional[pulumi.Input[Mapping[str, str]]] = None,
        sync_interval: Optional[str] = None,
        start_timeout: Optional[int] = None,
        join_timeout: Optional[int] = None,
        stop_timeout: Optional[int] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        """``extra_ports``: other ports the config listens on (checked free before a start);
        ``peer_monitor_urls``: the other cluster members' monitor URLs; ``process_env``:
        environment variables for the process, kept secret in state."""
        # The rendered config embeds the operator and system-account JWTs: public, but keep the whole
        # text secret so that a future config holding tokens or passwords can never leak into state.
        secret_outputs = ["config_text"] + (["process_env"] if process_env is not None else [])
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=secret_outputs))
        optional: dict[str, Any] = {}
        if extra_ports:
            optional["extra_ports"] = dict(extra_ports)
        if peer_monitor_urls:
            optional["peer_monitor_urls"] = list(peer_monitor_urls)
        if process_env is not None:
            optional["process_env"] = pulumi.Output.secret(process_env)
        if sync_interval is not None:
            optional["sync_interval"] = sync_interval
        # Seconds to wait for health: alone (or a first member), and joining running peers.
        if start_timeout is not None:
            optional["start_timeout"] = start_timeout
        if join_timeout is not None:
            optional["join_timeout"] = join_timeout
        if stop_timeout is not None:   # seconds from SIGTERM to SIGKILL on a stop
            optional["stop_timeout"] = stop_timeout
        super().__init__(
            LocalServerProvider(),
            name,
            {
                "server_name": name,
                "config_text": pulumi.Output.secret(config_text),
                "data_dir": os.path.abspath(data_dir),
                "host": host,
                "client_port": client_port,
                "monitor_port": monitor_port,
                "keep_store": keep_store,
                **optional,
                "pid": None,
                "url": None,
                "monitor_url": None,
                "config_path": None,
                "log_path": None,
            },
            opts,
        )
