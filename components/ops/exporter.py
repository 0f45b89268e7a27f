"""Prometheus exporter for per-tenant NATS metrics.

    python -m components.ops.exporter --monitor-url http://127.0.0.1:8222 --listen 127.0.0.1:7777

Everything is read on scrape: a custom collector fetches the server's monitoring documents when
Prometheus asks, so there is no cache that can go stale and no background thread. The HTTP server
runs on the main thread; SIGTERM and SIGINT end it between requests and the process exits 0.
The metric names and labels are a contract: ``docs/metrics.md``, mapped in
``components.model.ops_metrics``; an environment may rename and relabel them (``--series FILE``,
written by the stack, see ``components.model.exporter_config``). With ``--platform-creds`` it also
reports per-tenant lag of the shared platform consumers (``components.model.platform_lag``).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import types
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from components.model import exporter_config, metrics_series, ops_metrics, platform_lag
from components.model.errors import NatsTenancyError
from components.model.exporter_config import ExporterConfig

#: /jsz pages hold at most this many accounts (the server's own default and maximum page).
JSZ_PAGE = 1024


class MonitorError(NatsTenancyError, RuntimeError):
    pass


@dataclass(frozen=True)
class MonitorClient:
    """GETs JSON from a nats-server monitoring port."""

    base_url: str
    timeout: float = 5.0

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        query = urllib.parse.urlencode({k: _param(v) for k, v in params.items()})
        url = f"{self.base_url.rstrip('/')}/{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                doc: dict[str, Any] = json.loads(resp.read())
                return doc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise MonitorError(f"GET {url}: {exc}") from exc


def _param(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Documents:
    jsz: dict[str, Any]
    accstatz: dict[str, Any]
    details: dict[str, dict[str, Any]]
    system_account: str


def fetch_documents(client: MonitorClient, leader_only: bool = False) -> Documents:
    """The monitoring documents the mapping needs, all pages of ``/jsz`` merged.

    ``leader_only`` reports each stream only on the server that leads it, so one exporter per
    cluster member adds up without double counting.
    """
    details_list: list[dict[str, Any]] = []
    offset, first = 0, None
    while True:
        page = client.get("jsz", accounts=True, streams=True, consumers=True, offset=offset, limit=JSZ_PAGE,
                          stream_leader_only=leader_only)
        first = first or page
        got = list(page.get("account_details") or ())
        details_list.extend(got)
        offset += len(got)
        if not got or offset >= int(page.get("total", 0) or 0):
            break
    jsz = {**(first or {}), "account_details": details_list}
    accountz = client.get("accountz")
    system_account = str(accountz.get("system_account", ""))
    details: dict[str, dict[str, Any]] = {}
    for key in accountz.get("accounts") or ():
        if ops_metrics.is_tenant_account(key, system_account):
            detail = client.get("accountz", acc=key).get("account_detail")
            if detail:
                details[key] = detail
    accstatz = client.get("accstatz", unused=True)
    return Documents(jsz, accstatz, details, system_account)


@dataclass(eq=False)  # the registry keys collectors by identity: keep them hashable
class TenantCollector(Collector):
    """Builds the gauges of ``ops_metrics.METRICS``, named as ``config.mapping`` says, on every scrape."""

    client: MonitorClient
    tenant_names: Mapping[str, str] = field(default_factory=dict)
    leader_only: bool = False
    config: ExporterConfig = field(default_factory=ExporterConfig)
    lag: Optional[Any] = None   # a components.ops.lag_probe.LagProber (needs nats-py, loaded only then)

    def describe(self) -> Iterable[Any]:
        # Empty: the registry must not call collect() (and hit the server) at registration.
        return []

    def collect(self) -> Iterator[Any]:
        start = time.monotonic()
        ok = GaugeMetricFamily("nats_tenant_exporter_scrape_success",
                               "1 if the monitoring endpoints answered on this scrape, else 0.")
        try:
            docs = fetch_documents(self.client, self.leader_only)
        except MonitorError as exc:
            print(f"scrape failed: {exc}", file=sys.stderr, flush=True)
            ok.add_metric([], 0.0)
            yield ok
            return
        found = ops_metrics.samples(docs.jsz, docs.accstatz, docs.details, docs.system_account, self.tenant_names,
                                    dict(self.config.tenant_ids))
        lag_ok = self._lag(docs, found)
        for fam in metrics_series.families(self.config.mapping, found):
            family = GaugeMetricFamily(fam.name, fam.help, labels=list(fam.labels))
            for values, value in fam.samples:
                family.add_metric(list(values), value)
            yield family
        ok.add_metric([], 1.0)
        yield ok
        if lag_ok is not None:
            lag = GaugeMetricFamily("nats_tenant_exporter_platform_lag_success",
                                    "1 if the per-tenant platform consumer lag was read on this scrape, else 0.")
            lag.add_metric([], 1.0 if lag_ok else 0.0)
            yield lag
        took = GaugeMetricFamily("nats_tenant_exporter_scrape_duration_seconds",
                                 "Time spent reading the monitoring endpoints for this scrape.")
        took.add_metric([], time.monotonic() - start)
        yield took


    def _lag(self, docs: Documents, found: list[ops_metrics.Sample]) -> Optional[bool]:
        """Adds the platform lag samples to ``found``; None when no lag is configured."""
        if self.lag is None or not self.config.platform_lag:
            return None
        names = ops_metrics.account_names(docs.jsz, docs.accstatz, docs.details)
        keys = {name: key for key, name in names.names.items()}
        targets = self.config.platform_lag
        if self.leader_only:
            targets = platform_lag.led_here(targets, docs.jsz, names.names)
        from components.ops.lag_probe import LagError

        try:
            found.extend(self.lag.samples(targets, keys))
        except LagError as exc:
            print(f"platform lag failed: {exc}", file=sys.stderr, flush=True)
            return False
        return True


class _QuietHandler(WSGIRequestHandler):
    """No access log line per scrape."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - name fixed by the base class
        pass


def _app(registry: CollectorRegistry) -> Callable[..., Iterable[bytes]]:
    """``/metrics`` for Prometheus, ``/healthz`` for probes, 404 elsewhere."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"metrics are at /metrics\n"]

    return app


def serve(collector: Collector, host: str, port: int, poll_interval: float = 0.5) -> None:
    """Serve until SIGTERM/SIGINT; the socket is closed before returning.

    The signal handler only sets a flag that the loop checks between requests (at least every
    ``poll_interval`` seconds): an exception raised from a handler could land inside wsgiref's
    request handling, which catches everything, and the process would keep running.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    server: WSGIServer = make_server(host, port, _app(registry), handler_class=_QuietHandler)
    server.timeout = poll_interval
    stop: list[int] = []

    def on_signal(signum: int, frame: Optional[types.FrameType]) -> None:
        stop.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    # Printed once the socket is bound; the dev stack's LocalExporter waits for this exact line.
    print(f"serving tenant metrics on http://{host}:{server.server_port}/metrics", file=sys.stderr, flush=True)
    try:
        while not stop:
            server.handle_request()
    finally:
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.ops.exporter",
                                     description="Per-tenant NATS metrics for Prometheus.")
    parser.add_argument("--monitor-url", required=True, help="nats-server monitoring URL, e.g. http://127.0.0.1:8222")
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 7777),
                        help="HOST:PORT (default 127.0.0.1:7777)")
    parser.add_argument("--tenant-map", help="JSON file: {account key: tenant} or the 'tenants' stack output")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per monitoring request")
    parser.add_argument("--leader-only", action="store_true", help="report streams only where this server leads them")
    parser.add_argument("--series", help="JSON file written by the stack: series names and labels, tenant ids, "
                                         "platform consumers (components.model.exporter_config)")
    parser.add_argument("--nats-url", help="NATS client URL for the platform lag probes, e.g. nats://127.0.0.1:4222")
    parser.add_argument("--platform-creds", action="append", default=[], type=parse_creds, metavar="ACCOUNT=FILE",
                        help="creds file of a user with the JetStream API of platform account ACCOUNT (repeatable)")
    args = parser.parse_args(argv)
    names: dict[str, str] = {}
    if args.tenant_map:
        with open(args.tenant_map, encoding="utf-8") as f:
            names = ops_metrics.tenant_map(json.load(f))
    config = ExporterConfig()
    if args.series:
        try:
            with open(args.series, encoding="utf-8") as f:
                config = exporter_config.from_document(json.load(f), args.series)
        except (OSError, ValueError) as exc:
            parser.error(f"--series {args.series}: {exc}")
    creds = dict(args.platform_creds)
    if creds and not args.nats_url:
        parser.error("--platform-creds needs --nats-url")
    for account, path in creds.items():
        if not os.path.isfile(path):
            parser.error(f"--platform-creds {account}=…: no such file (fix: give the path of a creds file)")
    lag = None
    if creds:
        # Only here: the exporter image ships prometheus-client alone, the probes also need nats-py.
        from components.ops.lag_probe import LagProber

        lag = LagProber(args.nats_url, creds, args.timeout)
    host, port = args.listen
    serve(TenantCollector(MonitorClient(args.monitor_url, args.timeout), names, args.leader_only, config, lag),
          host, port)
    return 0


def parse_creds(value: str) -> tuple[str, str]:
    account, sep, path = value.partition("=")
    if not sep or not account or not path:
        raise argparse.ArgumentTypeError("expected ACCOUNT=FILE (the platform account's JWT name and a creds file)")
    return account, path


if __name__ == "__main__":
    sys.exit(main())
