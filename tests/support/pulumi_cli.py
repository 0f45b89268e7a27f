"""Drive the real Pulumi CLI on a copy of this project with a file backend in a temp directory.

The copy holds the program (``__main__.py``, ``components/``, ``Pulumi.yaml``), links the project's
virtualenv, and gets its own environment file, so tests never touch the developer's stacks, state
or the committed ``Pulumi.<stack>.yaml`` files.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASSPHRASE = "e2e-test-passphrase"


def _versions() -> dict[str, str]:
    out = {}
    with open(os.path.join(ROOT, "tools", "versions.env"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


def toolchain_bin() -> str:
    return os.path.join(ROOT, ".tools", f"pulumi-v{_versions()['PULUMI_VERSION']}", "bin")


def missing_toolchain() -> Optional[str]:
    """Why the CLI tests cannot run here, or None when they can."""
    for name in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-pulumi-python"):
        if not os.access(os.path.join(toolchain_bin(), name), os.X_OK):
            return f"{name} is not built: run `make setup` first"
    if not os.access(os.path.join(ROOT, ".venv", "bin", "python"), os.X_OK):
        return "no .venv: run `make setup` first"
    return None


class PulumiError(AssertionError):
    pass


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class PulumiProject:
    def __init__(self, workdir: str, stack: str = "dev", program_dir: Optional[str] = None,
                 backend_dir: Optional[str] = None):
        """A copy of this project (or of ``program_dir``, e.g. an example) under ``workdir``.

        ``backend_dir``: share another project's file backend (for StackReferences).
        """
        self.workdir = workdir
        self.project_dir = os.path.join(workdir, "project")
        self.backend_dir = backend_dir or os.path.join(workdir, "backend")
        self.stack = stack
        os.makedirs(self.backend_dir, exist_ok=True)
        if program_dir:
            shutil.copytree(program_dir, self.project_dir, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            os.makedirs(self.project_dir, exist_ok=True)
            for name in ("__main__.py", "Pulumi.yaml"):
                shutil.copy(os.path.join(ROOT, name), self.project_dir)
            shutil.copytree(os.path.join(ROOT, "components"), os.path.join(self.project_dir, "components"),
                            ignore=shutil.ignore_patterns("__pycache__"))
            os.makedirs(os.path.join(self.project_dir, "environments"), exist_ok=True)
        os.symlink(os.path.join(ROOT, ".venv"), os.path.join(self.project_dir, ".venv"))
        self.log: list[Result] = []
        self.extra_env: dict[str, str] = {}

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PATH=f"{toolchain_bin()}:{os.path.join(ROOT, '.venv', 'bin')}:{env.get('PATH', '')}",
            PULUMI_BACKEND_URL=f"file://{self.backend_dir}",
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PULUMI_HOME=os.path.join(self.workdir, "pulumi-home"),
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        )
        for k in ("PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_ACCESS_TOKEN"):
            env.pop(k, None)
        env.update(self.extra_env)
        return env

    def write_environment(self, text: str, name: Optional[str] = None) -> str:
        rel = os.path.join("environments", f"{name or self.stack}.yaml")
        with open(os.path.join(self.project_dir, rel), "w", encoding="utf-8") as f:
            f.write(text)
        return rel

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> Result:
        cmd = ["pulumi", *args, "--non-interactive", "--color", "never"]
        proc = subprocess.run(cmd, cwd=self.project_dir, env=self.env(), capture_output=True, text=True,
                              timeout=timeout)
        res = Result(cmd, proc.returncode, proc.stdout, proc.stderr)
        self.log.append(res)
        if check and proc.returncode != 0:
            raise PulumiError(f"{' '.join(cmd)} exited {proc.returncode}\n{res.output[-6000:]}")
        return res

    def init(self, config: Optional[dict[str, str]] = None, secrets: Optional[dict[str, str]] = None) -> None:
        self.run("stack", "init", self.stack, "--secrets-provider", "passphrase")
        for k, v in (config or {}).items():
            self.run("config", "set", "--stack", self.stack, k, v)
        for k, v in (secrets or {}).items():
            self.run("config", "set", "--stack", self.stack, "--secret", k, v)

    def stack_args(self) -> list[str]:
        return ["--stack", self.stack]

    def preview(self, *extra: str, check: bool = True, timeout: float = 600) -> Result:
        return self.run("preview", *self.stack_args(), "--diff", *extra, check=check, timeout=timeout)

    def preview_steps(self) -> list[dict[str, Any]]:
        """The steps of ``pulumi preview --json`` that change something (every op but ``same``)."""
        res = self.run("preview", *self.stack_args(), "--json")
        return [s for s in json.loads(res.stdout).get("steps", []) if s.get("op") != "same"]

    def up(self, *extra: str, check: bool = True, timeout: float = 600) -> Result:
        return self.run("up", *self.stack_args(), "--yes", "--skip-preview", *extra, check=check, timeout=timeout)

    def refresh(self, *extra: str, check: bool = True, timeout: float = 600) -> Result:
        return self.run("refresh", *self.stack_args(), "--yes", "--skip-preview", *extra, check=check, timeout=timeout)

    def destroy(self, *extra: str, check: bool = True, timeout: float = 600) -> Result:
        return self.run("destroy", *self.stack_args(), "--yes", "--skip-preview", *extra, check=check, timeout=timeout)

    def outputs(self, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "output", *self.stack_args(), "--json"]
        if show_secrets:
            args.append("--show-secrets")
        return json.loads(self.run(*args).stdout or "{}")

    def export_state(self) -> str:
        return self.run("stack", "export", *self.stack_args()).stdout

    def all_cli_output(self) -> str:
        """Everything the CLI printed, except what was asked for with ``--show-secrets``."""
        return "\n".join(r.output for r in self.log if "--show-secrets" not in r.args)
