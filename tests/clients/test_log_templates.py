"""The flowgger and rsyslog templates: rsyslog's own parser accepts them, flowgger's TOML holds the
keys flowgger reads, and the natscli pipe both rely on delivers each line to the tenant's subject."""
from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import subprocess
from typing import Any

import pytest
import tomllib

from components.model.render import producer_templates as pt
from components.nats_io import messaging
from tests.clients import natscli
from tests.clients.tenancy import Tenancy
from tests.support.operator_mode import connect

HUB = pt.ProducerTarget("acme", "acme.logs.>", "acme.events.>", "acme.otel.>", "nats://hub.example.net:4222",
                        "/etc/nats/acme-service.creds")
LEAF = pt.ProducerTarget("acme", "acme.logs.>", "acme.events.>", "acme.otel.>", "nats://127.0.0.1:4222", "",
                         leaf_url="nats://127.0.0.1:4222")


@pytest.mark.parametrize("target", [HUB, LEAF], ids=["hub", "leaf"])
def test_rsyslog_accepts_the_template(target: pt.ProducerTarget, tmp_path: Any) -> None:
    rsyslogd = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd" if os.access("/usr/sbin/rsyslogd", os.X_OK) else None)
    if not rsyslogd:
        pytest.skip("rsyslogd is not installed (Debian: apt-get install rsyslog); the pipe test below still runs")
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(pt.render_rsyslog(target, nats_bin=natscli.binary() or "/usr/local/bin/nats"))
    res = subprocess.run([rsyslogd, "-N1", "-f", str(conf)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "error" not in (res.stdout + res.stderr).lower(), res.stdout + res.stderr
    broken = tmp_path / "broken.conf"
    broken.write_text(conf.read_text().replace('type="omprog"', 'type="omnats"'))
    res = subprocess.run([rsyslogd, "-N1", "-f", str(broken)], capture_output=True, text=True, timeout=60)
    assert res.returncode != 0, "rsyslogd accepted an unknown output module: the check proves nothing"


@pytest.mark.parametrize("target", [HUB, LEAF], ids=["hub", "leaf"])
def test_flowgger_template_has_the_keys_flowgger_reads(target: pt.ProducerTarget) -> None:
    text = pt.render_flowgger(target)
    doc = tomllib.loads(text)
    assert doc["input"] == {"type": "udp", "listen": "127.0.0.1:5514", "format": "rfc5424"}
    assert doc["output"]["type"] == "file" and doc["output"]["format"] == "gelf" and doc["output"]["framing"] == "line"
    assert doc["output"]["file_path"] in text.split("< ", 1)[1]           # the FIFO natscli reads
    assert f"--context {pt.context_path(target)} pub acme.logs.flowgger.collector" in text


def _pipe(template: str, context: str) -> list[str]:
    """The natscli command a template runs, aimed at the test's context file."""
    line = next(line for line in template.splitlines() if "--send-on newline" in line)
    command = line.split('binary="', 1)[1].split('"', 1)[0] if 'binary="' in line else line.lstrip("# ").split(" < ")[0]
    args = shlex.split(command.replace(pt.context_path(HUB), context))
    exe = natscli.binary()
    assert exe
    return [exe, *args[1:]]


@pytest.mark.parametrize("kind", ["rsyslog", "flowgger"])
def test_the_natscli_pipe_publishes_each_line_on_the_tenant_subject(tenants: Tenancy, kind: str,
                                                                   tmp_path: Any) -> None:
    if natscli.missing():
        pytest.skip(natscli.missing())
    render = pt.render_rsyslog if kind == "rsyslog" else pt.render_flowgger
    command = _pipe(render(HUB), tenants.context_file("acme.service"))
    subject = f"acme.logs.{kind}.collector"
    lines = [json.dumps({"message": f"{kind} line {i}", "host": "h1"}) for i in range(3)]

    async def scenario() -> list[str]:
        c = await connect(tenants.url, tenants.creds["acme.reader"])
        try:
            sub = await c.nc.subscribe(subject)
            await messaging.flush(c.nc)
            if kind == "flowgger":       # through a FIFO, as the template's header says
                fifo = str(tmp_path / "acme-flowgger.fifo")
                os.mkfifo(fifo, 0o600)
                hold = os.open(fifo, os.O_RDWR)      # holds both ends open, so no open blocks
                reader = os.open(fifo, os.O_RDONLY)
                try:
                    proc = await asyncio.create_subprocess_exec(*command, stdin=reader,
                                                                stdout=asyncio.subprocess.PIPE,
                                                                stderr=asyncio.subprocess.STDOUT)
                    os.write(hold, ("\n".join(lines) + "\n").encode())
                    got = [(await sub.next_msg(timeout=10)).data.decode() for _ in lines]
                finally:
                    os.close(reader)
                    os.close(hold)
                await proc.wait()
            else:
                proc = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.PIPE,
                                                            stdout=asyncio.subprocess.PIPE,
                                                            stderr=asyncio.subprocess.STDOUT)
                assert proc.stdin is not None
                proc.stdin.write(("\n".join(lines) + "\n").encode())
                await proc.stdin.drain()
                got = [(await sub.next_msg(timeout=10)).data.decode() for _ in lines]
                proc.stdin.close()
                await proc.wait()
            return got
        finally:
            await c.close()

    assert asyncio.run(scenario()) == lines
