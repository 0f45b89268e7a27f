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
server restarts; only a change of its own command line (ports, host, project directory) or of its
series document restarts it.

``series`` (optional) is the environment's series document (``components.model.exporter_config``);
it is written to ``exporter-series.json`` in the data directory and passed as ``--series``.
``platform_creds`` (optional, a secret: platform account name -> creds text) with ``nats_url`` turn
on the per-tenant lag of the shared platform consumers: each creds text is written to
``exporter-<account>.creds`` with mode 0600 (the exporter reads it at every scrape; its path, not its
content, is on the command line) and removed again on delete.
"""
from __future__ import annotations

import os
import re
import sys
import time
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

from components.model import exporter_config
from components.providers import nats_process
from components.providers.identity_common import is_unknown

MODULE = "components.ops.exporter"
LOG_FILE = "exporter.log"
PID_FILE = "exporter.pid"

_INPUTS = ("exporter_name", "project_dir", "data_dir", "host", "monitor_port", "port", "series", "nats_url",
           "platform_creds")
_PORTS = ("monitor_port", "port")


class ExporterError(nats_process.LocalProcessError):
    pass


def log_path(data_dir: str) -> str:
    return os.path.join(data_dir, LOG_FILE)


def pid_path(data_dir: str) -> str:
    return os.path.join(data_dir, PID_FILE)


def listen_address(host: str, port: int) -> str:
    return f"{host}:{port}"


def command(python: str, host: str, monitor_port: int, port: int, series_path: Optional[str] = None,
            nats_url: Optional[str] = None, creds_paths: Optional[Mapping[str, str]] = None) -> list[str]:
    return [python, "-m", MODULE, *exporter_config.exporter_args(
        f"http://{host}:{monitor_port}", listen_address(host, port), series_path, nats_url, creds_paths)]


def series_path(data_dir: str) -> str:
    return os.path.join(data_dir, exporter_config.SERIES_FILE)


def creds_path(data_dir: str, account: str) -> str:
    return os.path.join(data_dir, f"exporter-{re.sub(r'[^A-Za-z0-9_.-]', '_', account)}.creds")


def _write_files(props: Mapping[str, Any], data_dir: str) -> tuple[Optional[str], dict[str, str]]:
    """The series document and the creds files the command line names."""
    series: Optional[str] = None
    if props.get("series"):
        series = series_path(data_dir)
        with open(series, "w", encoding="utf-8") as f:
            f.write(str(props["series"]))
    paths: dict[str, str] = {}
    for account, text in sorted(dict(props.get("platform_creds") or {}).items()):
        path = creds_path(data_dir, account)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(str(text))
        os.chmod(path, 0o600)   # an existing file keeps its mode on open: make sure
        paths[account] = path
    return series, paths


def _remove_creds(outs: Mapping[str, Any]) -> None:
    data_dir = outs.get("data_dir")
    for account in dict(outs.get("platform_creds") or {}):
        try:
            os.remove(creds_path(str(data_dir), account))
        except OSError:
            pass


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
    series, creds = _write_files(props, data_dir)
    nats_url = str(props["nats_url"]) if creds and props.get("nats_url") else None
    argv = command(sys.executable, host, mport, port, series, nats_url, creds)
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
        creds, url = news.get("platform_creds"), news.get("nats_url")
        if creds and not is_unknown(creds) and not url:
            failures.append(CheckFailure("nats_url",
                                         "platform_creds need the NATS client URL the lag probes connect to"))
        host = news.get("host")
        loopback = isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1"))
        if isinstance(host, str) and not is_unknown(host) and not loopback:
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
        _remove_creds(olds)
        return UpdateResult(_start(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        stop(props)
        _forget_pid_file(props)
        _remove_creds(props)


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
        series: Optional[pulumi.Input[str]] = None,
        nats_url: Optional[pulumi.Input[str]] = None,
        platform_creds: Optional[pulumi.Input[Mapping[str, pulumi.Input[str]]]] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        """``platform_creds`` is a secret in state whatever the caller passes."""
        if platform_creds is not None:
            secret = pulumi.ResourceOptions(additional_secret_outputs=["platform_creds"])
            opts = pulumi.ResourceOptions.merge(opts, secret)
        creds = pulumi.Output.secret(platform_creds) if platform_creds else None
        optional = {k: v for k, v in (("series", series), ("nats_url", nats_url), ("platform_creds", creds))
                    if v is not None}
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
                **optional,
                "pid": None,
                "command": None,
                "metrics_url": None,
                "log_path": None,
                "pid_path": None,
            },
            opts,
        )
