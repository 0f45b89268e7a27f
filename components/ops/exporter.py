"""Prometheus exporter for per-tenant NATS metrics.

    python -m components.ops.exporter --monitor-url http://127.0.0.1:8222 --listen 127.0.0.1:7777

Everything is read on scrape: a custom collector fetches the server's monitoring documents when
Prometheus asks, so there is no cache that can go stale and no background thread. The HTTP server
runs on the main thread; SIGTERM and SIGINT end it between requests and the process exits 0.
The metric names and labels are a contract: ``docs/metrics.md``, mapped in
``components.model.ops_metrics``.
"""
from __future__ import annotations

import argparse
import json
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

from components.model import ops_metrics

#: /jsz pages hold at most this many accounts (the server's own default and maximum page).
JSZ_PAGE = 1024


class MonitorError(RuntimeError):
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
    """Builds the gauges of ``ops_metrics.METRICS`` on every scrape."""

    client: MonitorClient
    tenant_names: Mapping[str, str] = field(default_factory=dict)
    leader_only: bool = False

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
        found = ops_metrics.samples(docs.jsz, docs.accstatz, docs.details, docs.system_account, self.tenant_names)
        grouped = ops_metrics.by_name(found)
        for metric in ops_metrics.METRICS:
            family = GaugeMetricFamily(metric.name, metric.help, labels=list(metric.labels))
            for sample in grouped[metric.name]:
                family.add_metric([v for _, v in sample.labels], sample.value)
            yield family
        ok.add_metric([], 1.0)
        yield ok
        took = GaugeMetricFamily("nats_tenant_exporter_scrape_duration_seconds",
                                 "Time spent reading the monitoring endpoints for this scrape.")
        took.add_metric([], time.monotonic() - start)
        yield took


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
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 7777), help="HOST:PORT (default 127.0.0.1:7777)")
    parser.add_argument("--tenant-map", help="JSON file: {account key: tenant} or the 'tenants' stack output")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per monitoring request")
    parser.add_argument("--leader-only", action="store_true", help="report streams only where this server leads them")
    args = parser.parse_args(argv)
    names: dict[str, str] = {}
    if args.tenant_map:
        with open(args.tenant_map, encoding="utf-8") as f:
            names = ops_metrics.tenant_map(json.load(f))
    host, port = args.listen
    serve(TenantCollector(MonitorClient(args.monitor_url, args.timeout), names, args.leader_only), host, port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
