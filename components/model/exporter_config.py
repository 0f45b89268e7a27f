"""What the stack hands the tenant exporter (pure): the series document and the command line.

The document (``--series FILE``, JSON) holds the environment's series mapping, the tenant id of
every tenant account JWT name (a layout may name accounts ``TENANT_acme_corp``) and the shared
platform consumers whose lag is reported per tenant. It holds no secret; the platform creds the
lag probes need are separate files (``--platform-creds NAME=FILE``). Both the local exporter of
the dev stack and the exporter container in Kubernetes take the same document, so a dashboard
sees the same series either way.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional

from components.model import metrics_series, platform_lag
from components.model.metrics_series import SeriesMapping
from components.model.platform_lag import LagTarget

if TYPE_CHECKING:  # the exporter image reads the document without the environment model's dependencies
    from components.model.environment.model import Environment

SERIES_FILE = "exporter-series.json"
DOCUMENT_VERSION = 1


@dataclass(frozen=True)
class ExporterConfig:
    """What the exporter is told about the environment, as the series document carries it.

    The series renames, the tenant id of each account JWT name, and the platform consumers whose
    lag it reports per tenant.
    """

    mapping: SeriesMapping = SeriesMapping()
    tenant_ids: tuple[tuple[str, str], ...] = ()     # account JWT name -> tenant id
    platform_lag: tuple[LagTarget, ...] = ()


def exporter_config(env: Environment) -> ExporterConfig:
    """The exporter's view of ``env``; tenant ids sorted by account name so the document is stable."""
    tenant_ids = tuple(sorted((t.account_name or t.id, t.id) for t in env.tenants))
    return ExporterConfig(env.monitoring.metrics, tenant_ids, platform_lag.lag_targets(env))


def to_document(cfg: ExporterConfig) -> dict[str, Any]:
    """``cfg`` as the versioned JSON-ready mapping the exporter reads with ``--series``."""
    return {
        "version": DOCUMENT_VERSION,
        **metrics_series.to_document(cfg.mapping),
        "tenant_ids": dict(cfg.tenant_ids),
        "platform_lag": platform_lag.to_document(cfg.platform_lag),
    }


def series_document(env: Environment) -> str:
    """The ``--series`` file's text for ``env``.

    Deterministic (sorted keys), so an unchanged environment gives an unchanged file and no restart
    of the exporter.
    """
    return json.dumps(to_document(exporter_config(env)), sort_keys=True, indent=1) + "\n"


def from_document(doc: Any, where: str = "series file") -> ExporterConfig:
    """Raises ``ValueError`` naming the field."""
    if not isinstance(doc, Mapping):
        raise ValueError(f"{where}: expected a JSON object")
    version = doc.get("version", DOCUMENT_VERSION)
    if version != DOCUMENT_VERSION:
        raise ValueError(f"{where}: version {version!r} is not {DOCUMENT_VERSION} "
                         "(fix: write the file with this checkout's stack)")
    ids = doc.get("tenant_ids") or {}
    if not isinstance(ids, Mapping) or not all(isinstance(v, str) for v in ids.values()):
        raise ValueError(f"{where}: tenant_ids: expected an object of account name -> tenant id")
    return ExporterConfig(
        metrics_series.from_document(doc, where),
        tuple(sorted((str(k), v) for k, v in ids.items())),
        platform_lag.from_document(doc.get("platform_lag") or [], f"{where}: platform_lag"),
    )


def exporter_args(monitor_url: str, listen: str, series_path: Optional[str] = None,
                  nats_url: Optional[str] = None, platform_creds: Optional[Mapping[str, str]] = None,
                  leader_only: bool = False) -> list[str]:
    """The exporter's arguments after ``python -m components.ops.exporter``.

    ``platform_creds``: platform account JWT name -> path of a creds file of a user with that
    account's JetStream API (the platform consumer user has it); the lag probes need it and
    ``nats_url``.
    """
    args = ["--monitor-url", monitor_url, "--listen", listen]
    if series_path:
        args += ["--series", series_path]
    if platform_creds:
        if not nats_url:
            raise ValueError("platform creds need the NATS client URL (nats_url)")
        args += ["--nats-url", nats_url]
        for name, path in sorted(platform_creds.items()):
            args += ["--platform-creds", f"{name}={path}"]
    if leader_only:
        args.append("--leader-only")
    return args
