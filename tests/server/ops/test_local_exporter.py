"""The LocalExporter provider with real processes: it starts the exporter against a real nats-server,
reads back a killed exporter as not running, restarts it on update, stops only its own PID, and
says which port is in the way when it cannot start."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from typing import Any, Iterator

import pytest

from components.providers import local_exporter, nats_process
from components.providers.local_exporter import ExporterError, LocalExporterProvider
from tests.server.ops.conftest import ROOT
from tests.support.nats_server import RunningServer


@pytest.fixture
def props(server: RunningServer, tmp_path: Any) -> Iterator[dict[str, Any]]:
    inputs = {"exporter_name": "test-exporter", "project_dir": ROOT, "data_dir": str(tmp_path / "data"),
              "host": "127.0.0.1", "monitor_port": server.conf.monitor_port, "port": nats_process.free_port()}
    yield inputs
    # Whatever a failing test left running: the exporter recorded in the PID file, if still ours.
    path = local_exporter.pid_path(inputs["data_dir"])
    if os.path.exists(path):
        with open(path, encoding="ascii") as f:
            pid = int(f.read().strip() or 0)
        local_exporter.stop({"pid": pid, "host": inputs["host"], "port": inputs["port"]})
        _reap(pid)


def _reap(pid: int) -> None:
    """The exporter is this test process's child: collect its exit status so no zombie stays."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while nats_process.pid_alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still running"
        time.sleep(0.05)
    _reap(pid)


def _metrics(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode()


def test_create_read_delete(props: dict[str, Any], server: RunningServer) -> None:
    provider = LocalExporterProvider()
    checked = provider.check({}, props)
    assert not checked.failures
    outs = provider.create(checked.inputs).outs
    pid = int(outs["pid"])
    try:
        assert local_exporter.is_exporter(pid, f"127.0.0.1:{props['port']}")
        assert outs["metrics_url"] == f"http://127.0.0.1:{props['port']}/metrics"
        assert outs["command"][1:] == ["-m", "components.ops.exporter", "--monitor-url", server.monitor_url,
                                       "--listen", f"127.0.0.1:{props['port']}"]
        with open(outs["pid_path"], encoding="ascii") as f:
            assert int(f.read()) == pid
        # it reads the real server: the scrape succeeds
        assert "nats_tenant_exporter_scrape_success 1.0" in _metrics(outs["metrics_url"])
        # a running exporter reads back unchanged and needs nothing
        assert provider.read("test-exporter", dict(outs)).outs == outs
        assert provider.diff("test-exporter", outs, checked.inputs).changes is False
    finally:
        provider.delete("test-exporter", outs)
    _wait_gone(pid)
    assert not nats_process.port_in_use("127.0.0.1", props["port"])
    assert not os.path.exists(outs["pid_path"])


def test_killed_exporter_reads_as_stopped_and_update_restarts_it(props: dict[str, Any]) -> None:
    provider = LocalExporterProvider()
    outs = provider.create(props).outs
    pid = int(outs["pid"])
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)

    refreshed = provider.read("test-exporter", dict(outs)).outs
    assert refreshed["pid"] == 0 and {k: v for k, v in refreshed.items() if k != "pid"} == \
        {k: v for k, v in outs.items() if k != "pid"}
    assert provider.diff("test-exporter", refreshed, props).changes is True

    restarted = provider.update("test-exporter", refreshed, props).outs
    new_pid = int(restarted["pid"])
    try:
        assert new_pid != pid and nats_process.pid_alive(new_pid)
        assert "nats_tenant_exporter_scrape_success 1.0" in _metrics(restarted["metrics_url"])
    finally:
        provider.delete("test-exporter", restarted)
    _wait_gone(new_pid)


def test_port_change_restarts_on_the_new_port(props: dict[str, Any]) -> None:
    provider = LocalExporterProvider()
    outs = provider.create(props).outs
    moved = {**props, "port": nats_process.free_port()}
    assert provider.diff("test-exporter", outs, moved).changes is True
    new = provider.update("test-exporter", outs, moved).outs
    try:
        _wait_gone(int(outs["pid"]))
        assert not nats_process.port_in_use("127.0.0.1", props["port"])
        assert new["metrics_url"] == f"http://127.0.0.1:{moved['port']}/metrics"
        assert "nats_tenant_exporter_scrape_success 1.0" in _metrics(new["metrics_url"])
    finally:
        provider.delete("test-exporter", new)
    _wait_gone(int(new["pid"]))


def test_taken_port_is_named(props: dict[str, Any]) -> None:
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        squatter.bind(("127.0.0.1", props["port"]))
        squatter.listen(1)
        with pytest.raises(ExporterError) as err:
            LocalExporterProvider().create(props)
    finally:
        squatter.close()
    assert f"port 127.0.0.1:{props['port']} is already in use" in str(err.value)
    assert "monitoring.port" in str(err.value)
    assert not os.path.exists(local_exporter.pid_path(props["data_dir"])), "nothing may have been started"


def test_exit_during_start_up_shows_the_log(props: dict[str, Any], tmp_path: Any) -> None:
    empty = tmp_path / "no-project"
    empty.mkdir()
    with pytest.raises(ExporterError) as err:
        LocalExporterProvider().create({**props, "project_dir": str(empty)})
    text = str(err.value)
    assert "exited during start-up" in text and f"127.0.0.1:{props['port']}" in text
    assert "No module named" in text and "--- exporter" in text
    assert not os.path.exists(local_exporter.pid_path(props["data_dir"])), "the PID file names a dead process"


def test_stop_leaves_a_reused_pid_alone(props: dict[str, Any]) -> None:
    # A PID recorded for the exporter that now belongs to another process must not be signalled.
    other = subprocess.Popen(["sleep", "30"])
    try:
        assert local_exporter.stop({"pid": other.pid, "host": "127.0.0.1", "port": props["port"]}) is False
        assert other.poll() is None
        assert local_exporter.running({"pid": other.pid, "host": "127.0.0.1", "port": props["port"]}) is False
    finally:
        other.kill()
        other.wait()


def test_check_refuses_what_cannot_work(props: dict[str, Any]) -> None:
    provider = LocalExporterProvider()
    failures = provider.check({}, {**props, "host": "10.0.0.1", "port": props["monitor_port"]}).failures
    assert {f.property for f in failures} == {"host", "port"}


def test_series_document_and_platform_creds_files(props: dict[str, Any], tmp_path: Any) -> None:
    """The series document renames what the process emits; creds files are 0600, named on the
    command line by path only, and gone after delete."""
    import json

    from components.model import exporter_config
    from components.model.metrics_series import SeriesMapping, SeriesRename

    cfg = exporter_config.ExporterConfig(SeriesMapping(series=(SeriesRename("nats_tenant_streams", "streams_now"),),
                                                       unlisted="drop"))
    creds_text = "-----BEGIN NATS USER JWT-----\nnot-a-real-jwt\n------END NATS USER JWT------\n"
    inputs = {**props, "series": json.dumps(exporter_config.to_document(cfg)),
              "nats_url": "nats://127.0.0.1:1", "platform_creds": {"platform": creds_text}}
    provider = LocalExporterProvider()
    assert [f.property for f in provider.check({}, {**inputs, "nats_url": None}).failures] == ["nats_url"]
    outs = provider.create(provider.check({}, inputs).inputs).outs
    pid = int(outs["pid"])
    creds = local_exporter.creds_path(props["data_dir"], "platform")
    try:
        assert outs["command"][-6:] == ["--series", local_exporter.series_path(props["data_dir"]),
                                        "--nats-url", "nats://127.0.0.1:1", "--platform-creds", f"platform={creds}"]
        assert os.stat(creds).st_mode & 0o777 == 0o600
        assert creds_text not in " ".join(outs["command"])
        text = _metrics(outs["metrics_url"])
        names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
        # no tenant series beyond the one listed (none exist on this server: no accounts with JetStream)
        assert not any(n.startswith("nats_tenant_") and not n.startswith("nats_tenant_exporter_") for n in names)
        assert "# TYPE streams_now gauge" in text
        # a changed document restarts the exporter (an update, not a replacement)
        changed = {**inputs, "series": json.dumps(exporter_config.to_document(exporter_config.ExporterConfig()))}
        assert provider.diff("test-exporter", outs, changed).changes is True
    finally:
        provider.delete("test-exporter", outs)
    _wait_gone(pid)
    assert not os.path.exists(creds)
