"""LocalExporter: the project's tenant metrics exporter as a local process beside the dev nats-server.

create starts ``<python> -m components.ops.exporter --monitor-url http://<host>:<monitor_port>
--listen <host>:<port>`` detached (its own session, so it outlives the provider process), with the
project directory as working directory and ``PYTHONPATH``, output appended to ``exporter.log`` and
its PID written to ``exporter.pid`` under the data directory; it then waits for ``/healthz``. The
interpreter is the one running this provider, i.e. the project's virtualenv, which has
``prometheus-client``.

Like ``LocalServer``: a process that is no longer running (crash, reboot, killed by hand) reads back
with ``pid`` 0, so ``pulumi refresh`` shows it and ``diff`` reports a change that ``update`` answers
by starting it again. ``delete`` stops only the recorded PID, and only while that PID's command line
is still this exporter listening on this port: a reused PID is never signalled.

The exporter reads the server on every scrape and keeps no state, so it needs no restart when the
server restarts; only a change of its own command line (ports, host, project directory) restarts it.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Mapping, Optional

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from components.providers import nats_process
from components.providers.identity_common import is_unknown

MODULE = "components.ops.exporter"
LOG_FILE = "exporter.log"
PID_FILE = "exporter.pid"

_INPUTS = ("exporter_name", "project_dir", "data_dir", "host", "monitor_port", "port")
_PORTS = ("monitor_port", "port")


class ExporterError(nats_process.LocalProcessError):
    pass


def log_path(data_dir: str) -> str:
    return os.path.join(data_dir, LOG_FILE)


def pid_path(data_dir: str) -> str:
    return os.path.join(data_dir, PID_FILE)


def listen_address(host: str, port: int) -> str:
    return f"{host}:{port}"


def command(python: str, host: str, monitor_port: int, port: int) -> list[str]:
    return [python, "-m", MODULE, "--monitor-url", f"http://{host}:{monitor_port}",
            "--listen", listen_address(host, port)]


def is_exporter(pid: int, listen: str) -> bool:
    """Guard against PID reuse: ``pid`` runs this module and listens on ``listen``."""
    argv = nats_process.process_argv(pid)
    return MODULE in argv and "--listen" in argv and listen in argv


def running(outs: Mapping[str, Any]) -> bool:
    pid, host, port = outs.get("pid"), outs.get("host"), outs.get("port")
    if not pid or not host or not port:
        return False
    return nats_process.pid_alive(int(pid)) and is_exporter(int(pid), listen_address(str(host), int(port)))


def stop(outs: Mapping[str, Any]) -> bool:
    """Stop the exporter recorded in ``outs``; False when it was not running."""
    pid = outs.get("pid")
    if not pid or not outs.get("host") or not outs.get("port"):
        return False
    listen = listen_address(str(outs["host"]), int(outs["port"]))
    return nats_process.stop(int(pid), is_ours=lambda p: is_exporter(p, listen))


def _start(props: Mapping[str, Any]) -> dict[str, Any]:
    name = str(props["exporter_name"])
    project_dir, data_dir = str(props["project_dir"]), str(props["data_dir"])
    host, mport, port = str(props["host"]), int(props["monitor_port"]), int(props["port"])
    if nats_process.port_in_use(host, port):
        raise ExporterError(_port_taken(name, host, port))
    os.makedirs(data_dir, exist_ok=True)
    log = log_path(data_dir)
    log_start = os.path.getsize(log) if os.path.exists(log) else 0
    argv = command(sys.executable, host, mport, port)
    pid = nats_process.spawn_detached(argv, log, cwd=project_dir, env=_child_env(project_dir))
    with open(pid_path(data_dir), "w", encoding="ascii") as f:
        f.write(f"{pid}\n")
    try:
        nats_process.wait_http_ok(f"http://{host}:{port}/healthz", pid, f"exporter {name} ({host}:{port})", log,
                                  error=ExporterError)
        _wait_bound(name, host, port, pid, log, log_start)
    except Exception:
        failed = {"pid": pid, "host": host, "port": port, "pid_path": pid_path(data_dir)}
        stop(failed)
        _forget_pid_file(failed)
        raise
    return {
        **{k: props[k] for k in _INPUTS if k in props},
        "monitor_port": mport,
        "port": port,
        "pid": pid,
        "command": argv,
        "metrics_url": f"http://{host}:{port}/metrics",
        "log_path": log,
        "pid_path": pid_path(data_dir),
    }


def _child_env(project_dir: str) -> dict[str, str]:
    """The provider's environment without the engine's ``PULUMI_*`` variables (the passphrase among
    them): a long-running process has no use for them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(PYTHONPATH=project_dir, PYTHONUNBUFFERED="1")
    return env


def _port_taken(name: str, host: str, port: int) -> str:
    return (f"LocalExporter {name}: port {host}:{port} is already in use by another process: "
            "stop it, or change monitoring.port in the environment file")


def _wait_bound(name: str, host: str, port: int, pid: int, log: str, log_start: int, timeout: float = 10.0) -> None:
    """Make sure the ``/healthz`` that answered is ours, not another process that took the port
    between the check and the start: the exporter logs ``serving tenant metrics on http://HOST:PORT/``
    once it has bound its socket (see ``components.ops.exporter.serve``); if it exits first, the
    port was taken."""
    line = f"serving tenant metrics on http://{host}:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log, encoding="utf-8", errors="replace") as f:
            f.seek(log_start)
            if line in f.read():
                return
        if not nats_process.pid_alive(pid):
            raise ExporterError(_port_taken(name, host, port) + nats_process.log_tail(log, "exporter"))
        time.sleep(0.1)
    raise ExporterError(f"LocalExporter {name} (pid {pid}): /healthz on {host}:{port} answered but the exporter "
                        f"never reported listening there{nats_process.log_tail(log, 'exporter')}")


def _forget_pid_file(outs: Mapping[str, Any]) -> None:
    """Remove the PID file if it still names the stopped process (a newer one is left alone)."""
    path = outs.get("pid_path")
    if not path:
        return
    try:
        with open(str(path), encoding="ascii") as f:
            recorded = int(f.read().strip() or 0)
        if recorded == int(outs.get("pid") or -1):
            os.remove(str(path))
    except (OSError, ValueError):
        pass


class LocalExporterProvider(ResourceProvider):
    """Stateless: everything it needs travels in the resource's inputs/outputs."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        for key in _PORTS:
            value = news.get(key)
            if value is None or is_unknown(value):
                continue
            if not (0 < int(value) < 65536) or int(value) != value:
                failures.append(CheckFailure(key, f"{value!r} is not a TCP port (1-65535)"))
        if news.get("port") == news.get("monitor_port") and news.get("port") is not None:
            failures.append(CheckFailure("port", "the exporter cannot listen on the server's monitor port"))
        host = news.get("host")
        if isinstance(host, str) and not is_unknown(host) and not (host.startswith("127.") or host in ("localhost", "::1")):
            failures.append(CheckFailure("host", f"{host!r}: a local exporter listens on loopback only (127.0.0.1)"))
        if failures:
            return CheckResult(news, failures)
        inputs = dict(news)
        for key in _PORTS:
            if key in inputs and not is_unknown(inputs[key]):
                inputs[key] = int(inputs[key])
        return CheckResult(inputs, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in _INPUTS if olds.get(k) != news.get(k)]
        if not running(olds):
            # The process is gone: report it so `up` starts it again.
            changed.append("pid")
        # Never a replacement: update stops the old process before it starts the new one.
        return DiffResult(changes=bool(changed))

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(str(props["exporter_name"]), _start(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        outs = dict(props)
        if not running(props):
            outs["pid"] = 0
        return ReadResult(id_, outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if running(olds):
            if not any(olds.get(k) != news.get(k) for k in _INPUTS):
                return UpdateResult(dict(olds))
            stop(olds)
            _forget_pid_file(olds)
        return UpdateResult(_start(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        stop(props)
        _forget_pid_file(props)


class LocalExporter(pulumi.dynamic.Resource, module="nats", name="LocalExporter"):
    pid: pulumi.Output[int]
    metrics_url: pulumi.Output[str]
    command: pulumi.Output[list]
    log_path: pulumi.Output[str]
    pid_path: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        project_dir: str,
        data_dir: str,
        host: str,
        monitor_port: int,
        port: int,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        super().__init__(
            LocalExporterProvider(),
            name,
            {
                "exporter_name": name,
                "project_dir": os.path.abspath(project_dir),
                "data_dir": os.path.abspath(data_dir),
                "host": host,
                "monitor_port": monitor_port,
                "port": port,
                "pid": None,
                "command": None,
                "metrics_url": None,
                "log_path": None,
                "pid_path": None,
            },
            opts,
        )
