"""The subject linter: seed 002's own examples, wildcard patterns, the command's report and exit code."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from components.model.environment.load import load_environment
from components.model.subject_lint import lint_text

ROOT = Path(__file__).resolve().parents[3]
XORB = str(ROOT / "environments" / "examples" / "xorb.yaml")


def test_seed_002_examples() -> None:
    layout = load_environment(XORB).layout
    text = "\n".join([
        'pub("xorb.t-qa.scan.nmap.created")',                  # ✅ in 002
        'pub("xorb.tenant-1.evidence.discovery.completed")',   # ✅ in 002
        'pub("xorb.t.scan.nmap.started")',                     # ❌ tenant too short, invalid event
        'sub("xorb.t-qa.scan.*.created")',                     # a subscription pattern conforms
        'sub("xorb.t-qa.>")',
        "import os.path",                                      # not a subject of this layout
    ])
    findings = lint_text(layout, text)
    assert [(f.line, f.subject) for f in findings] == [(3, "xorb.t.scan.nmap.started")]
    assert "tenant 't' is not valid" in findings[0].problems[0]
    assert "event 'started' is not one of" in findings[0].problems[1]


def test_default_layout_takes_only_tenant_trees() -> None:
    layout = load_environment(str(ROOT / "environments" / "dev.yaml")).layout
    findings = lint_text(layout, 'a = "acme.events.billing.x"\nb = "Bad_Tenant.logs.app"\nc = "config.settings.y"')
    assert [f.subject for f in findings] == ["Bad_Tenant.logs.app"]


def test_command_reports_and_fails(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text('publish("xorb.t-qa.control.agent.updated")\n')
    (tmp_path / "bad.go").write_text('nc.Publish("xorb.t-qa.invalid-domain.svc.created", nil)\n')
    cmd = [sys.executable, "-m", "components.ops.subject_lint", "--env", XORB, "--paths", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1, proc.stderr
    assert f"{tmp_path / 'bad.go'}:1: xorb.t-qa.invalid-domain.svc.created: domain 'invalid-domain'" in proc.stdout
    assert "1 non-conforming subject(s) in 2 file(s)" in proc.stdout
    (tmp_path / "bad.go").unlink()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0 and "0 non-conforming" in proc.stdout
