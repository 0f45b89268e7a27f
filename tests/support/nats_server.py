"""A real nats-server on free loopback ports for one test or module, stopped by its PID afterwards."""
from __future__ import annotations

import dataclasses
import os
from typing import Optional

from components.model.render.server_conf import JetStreamConf, ServerConf, render_server_conf
from components.providers import nats_process


class RunningServer:
    def __init__(self, workdir: str, conf: ServerConf):
        self.workdir = workdir
        self.conf = conf
        self.config_path = os.path.join(workdir, "nats.conf")
        self.log_path = os.path.join(workdir, "nats.log")
        self.pid: Optional[int] = None

    @property
    def url(self) -> str:
        return f"nats://{self.conf.host}:{self.conf.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://{self.conf.host}:{self.conf.monitor_port}"

    def start(self) -> "RunningServer":
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(render_server_conf(self.conf))
        nats_process.check_config_file(self.config_path)
        self.pid = nats_process.start_detached(self.config_path, self.log_path)
        nats_process.wait_healthy(self.monitor_url, self.pid, self.log_path)
        return self

    def stop(self) -> None:
        if self.pid is not None:
            nats_process.stop(self.pid)
            try:  # reap: the server is our child in tests
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()


def make_server(workdir: str, name: str = "test", jetstream: bool = True, **overrides) -> RunningServer:
    """A ServerConf on free loopback ports (client + monitoring) with JetStream under ``workdir``."""
    os.makedirs(workdir, exist_ok=True)
    conf = ServerConf(
        server_name=name,
        host="127.0.0.1",
        port=nats_process.free_port(),
        monitor_port=nats_process.free_port(),
        jetstream=JetStreamConf(store_dir=os.path.join(workdir, "js")) if jetstream else None,
    )
    if overrides:
        conf = dataclasses.replace(conf, **overrides)
    return RunningServer(workdir, conf)
