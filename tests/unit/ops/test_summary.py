"""The outputs summary ``make up`` prints: one line per output key, no secret, client files named."""
from __future__ import annotations

import io
import json
import sys

from components.ops import summary

OUTPUTS = {
    "nats_url": "nats://127.0.0.1:14222",
    "tenants": {t: {"creds": {"service": "[secret]"}, "producer_templates": {"otel-collector.yaml": "x"},
                    "contexts": {"service": f"/p/.state/dev/tenants/{t}/contexts/service.json"}}
                for t in ("acme", "globex", "initech")},
    "leafnodes": {"acme-edge": {"archive": "/p/.state/dev/leafnodes/acme-edge.tar.gz", "directory": "/p/x"}},
    "system": {"creds": "[secret]", "operator_public_key": "O" * 56},
}


def test_one_line_per_output_and_where_the_client_files_are() -> None:
    text = summary.render(OUTPUTS, "dev")
    lines = text.splitlines()
    assert len(lines) == len(OUTPUTS) + 2
    assert lines[0] == "Outputs:" and "scripts/pulumi.sh dev stack output --json" in lines[-1]
    tenants = next(line for line in lines if line.strip().startswith("tenants"))
    assert "3: acme, globex, initech" in tenants and "/p/.state/dev/tenants/<tenant>/" in tenants
    assert "acme-edge.tar.gz" in text and "[secret]" not in text


def test_many_tenants_stay_on_one_line() -> None:
    many = {"tenants": {f"t{i:03}": {} for i in range(1000)}}
    text = summary.render(many)
    assert len(text.splitlines()) == 3 and "(1000 in all)" in text


def test_reads_stack_output_json_from_stdin(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(OUTPUTS)))
    assert summary.main(["dev"]) == 0
    assert capsys.readouterr().out == summary.render(OUTPUTS, "dev")
    monkeypatch.setattr(sys, "stdin", io.StringIO("not json"))
    assert summary.main([]) == 1
    assert "stack output --json" in capsys.readouterr().err
