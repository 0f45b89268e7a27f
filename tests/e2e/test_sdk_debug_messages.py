"""The program drops the Pulumi SDK's debug messages (``components/program/sdk_messages.py``), and
``NATS_TENANCY_SDK_DEBUG=1`` keeps them: seen in what the real CLI prints with ``--debug`` for a
program that registers one component after calling ``drop_sdk_debug_messages``."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.support.pulumi_cli import ROOT, PulumiProject, missing_toolchain

pytestmark = pytest.mark.skipif(missing_toolchain() is not None, reason=str(missing_toolchain()))

PROGRAM = '''
import pulumi
from components.program.sdk_messages import drop_sdk_debug_messages

drop_sdk_debug_messages()
pulumi.ComponentResource("probe:index:Group", "quiet-probe").register_outputs({})
pulumi.log.info("program ran")
'''


def test_sdk_debug_messages_are_dropped_unless_asked_for(tmp_path) -> None:
    program = tmp_path / "program"
    program.mkdir()
    (program / "Pulumi.yaml").write_text(
        "name: sdk-debug-probe\nruntime:\n  name: python\n  options:\n    virtualenv: .venv\n")
    (program / "__main__.py").write_text(PROGRAM)
    shutil.copytree(os.path.join(ROOT, "components"), program / "components",
                    ignore=shutil.ignore_patterns("__pycache__"))
    proj = PulumiProject(str(tmp_path / "work"), stack="probe", program_dir=str(program))
    proj.init()

    quiet = proj.run("preview", "--stack", "probe", "--debug").output
    assert "program ran" in quiet, quiet[-3000:]
    assert "registering resource: ty=pulumi:pulumi:Stack" in quiet, "the stack's own, before the program ran"
    assert "name=quiet-probe" not in quiet

    proj.extra_env["NATS_TENANCY_SDK_DEBUG"] = "1"
    kept = proj.run("preview", "--stack", "probe", "--debug").output
    assert "registering resource: ty=probe:index:Group, name=quiet-probe" in kept, kept[-3000:]
