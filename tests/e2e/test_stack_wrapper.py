"""scripts/pulumi.sh: a stack other than dev refuses to run without its own secrets passphrase."""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.pulumi_cli import ROOT, missing_toolchain


def _run(tmp_path, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_CONFIG_PASSPHRASE")}
    env.update(PULUMI_BACKEND_URL=f"file://{tmp_path}", PULUMI_HOME=str(tmp_path / "home"), **env_overrides)
    return subprocess.run([os.path.join(ROOT, "scripts", "pulumi.sh"), "prod", "preview"], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True)
def _toolchain() -> None:
    reason = missing_toolchain()
    if reason:
        pytest.skip(reason)


def test_prod_without_passphrase_is_refused_before_anything_runs(tmp_path) -> None:
    res = _run(tmp_path)
    assert res.returncode == 1
    assert "PULUMI_CONFIG_PASSPHRASE" in res.stderr
    assert not (tmp_path / ".pulumi" / "stacks").exists(), "no stack may be created"


def test_prod_with_the_dev_passphrase_is_refused(tmp_path) -> None:
    res = _run(tmp_path, PULUMI_CONFIG_PASSPHRASE="nats-tenancy-dev-only")
    assert res.returncode == 1
    assert "dev-only passphrase" in res.stderr
