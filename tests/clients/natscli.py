"""Running the real ``nats`` CLI (built by the setup) with a context file, as a user would."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: How long natscli waits for a JetStream answer: a refused request shows its permissions error
#: first, then natscli gives up after this.
API_TIMEOUT = "2s"
PERMISSION_ERROR = "Permissions Violation for"
AUTH_ERROR = "Authorization Violation"


def _version() -> str:
    with open(os.path.join(ROOT, "tools", "natscli", "version.env"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("NATSCLI_VERSION="):
                return line.split("=", 1)[1].strip()
    raise RuntimeError("tools/natscli/version.env has no NATSCLI_VERSION")


def binary() -> Optional[str]:
    """The natscli the setup built, else one on PATH; None when neither exists."""
    built = os.path.join(ROOT, ".tools", f"natscli-v{_version()}", "bin", "nats")
    return built if os.access(built, os.X_OK) else shutil.which("nats")


def missing() -> str:
    return "" if binary() else "natscli not built: run `bash scripts/setup.sh` (builds .tools/natscli-v*/bin/nats)"


def _env() -> dict[str, str]:
    # A private config home: no context the user saved changes what the tests run.
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = env.get("NATS_TENANCY_TEST_XDG", "/nonexistent-nats-tenancy-config")
    env["NO_COLOR"] = "1"
    return env


def run(context: str, *args: str, timeout: float = 30, stdin: Optional[bytes] = None) -> subprocess.CompletedProcess:
    """``nats --context <file> --timeout 2s <args>``; stdout and stderr together in ``stdout``."""
    exe = binary()
    assert exe, missing()
    return subprocess.run([exe, "--context", context, "--timeout", API_TIMEOUT, *args], input=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, env=_env())


def text(res: subprocess.CompletedProcess) -> str:
    return res.stdout.decode("utf-8", "replace")


class Background:
    """A long-running ``nats`` command (``sub``, ``reply``, ``kv watch``) whose output is polled."""

    def __init__(self, context: str, *args: str, out_path: str):
        exe = binary()
        assert exe, missing()
        self.out_path = out_path
        self._out = open(out_path, "wb")
        self.proc = subprocess.Popen([exe, "--context", context, "--timeout", API_TIMEOUT, *args],
                                     stdout=self._out, stderr=subprocess.STDOUT, env=_env())

    def output(self) -> str:
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_for(self, needle: str, seconds: float = 10) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            out = self.output()
            if needle in out:
                return out
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        out = self.output()
        assert needle in out, f"{needle!r} not in the output of nats {self.proc.args[3:]}: {out!r}"
        return out

    def finish(self, seconds: float = 10) -> str:
        """Wait for the command to end by itself (``--count``); kill it after ``seconds``."""
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.stop()
        self._out.close()
        return self.output()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._out.closed:
            self._out.close()
