"""Configuration snippets a tenant's producers start from: OpenTelemetry Collector, Fluent Bit, natscli.

Pure and deterministic: the same target gives byte-identical text, so the files can be rendered into
bundles and diffed. What each tool can really do decides the shape (checked against their docs and
sources; see the comments rendered into each file):

- OpenTelemetry Collector: no NATS exporter ships in any opentelemetry-collector-contrib release;
  a donation is accepted upstream but not released. The closest honest configuration is the
  out-of-tree ``nats`` exporter (github.com/synadia-io/opentelemetry-collector-nats, stability
  "development"), compiled into a custom collector with the Collector Builder. It can log in with
  a creds file (``nkey_user_file``). Its subjects are OTTL expressions, so literal subjects keep
  their double quotes inside the YAML string.
- Fluent Bit: the ``nats`` output knows only ``host``, ``port`` (and ``workers``); it sends no
  credentials and no TLS, and publishes each record to a subject equal to its tag. It cannot log
  in to an operator-mode server, so it publishes to the tenant's leaf node on loopback, which
  holds the leaf creds and forwards the tenant's subjects to the hub.
- natscli: a context file as ``nats context save`` writes it (every key present, empty when unset).
- flowgger: no release has a NATS output (a fork adds one, without credentials, and it creates
  its stream on connect), so flowgger writes GELF lines to a FIFO that ``nats pub --send-on
  newline`` reads, with the natscli context above.
- rsyslog: no NATS output module ships with rsyslog; its ``omprog`` action feeds each message, one
  JSON line, to ``nats pub --send-on newline`` with that context (``rsyslogd -N1`` checks the file).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

import yaml

from components.model.errors import Problems
from components.model.identity.tenancy import NAME_TOKEN

OTEL_FILE = "otel-collector.yaml"
FLUENT_BIT_FILE = "fluent-bit-output.conf"
NATSCLI_FILE = "natscli-context.json"
FLOWGGER_FILE = "flowgger.toml"
RSYSLOG_FILE = "rsyslog-nats.conf"
CLIENT_SCHEMES = ("nats", "tls")
NATS_EXPORTER_MODULE = "github.com/synadia-io/opentelemetry-collector-nats/exporter/natsexporter"
OTEL_SIGNALS = ("traces", "metrics", "logs")
#: Every key natscli v0.5.0 writes into a context file (jsm.go ``natscontext`` settings: no
#: omitempty except ``name``, which is the file name).
NATSCLI_KEYS = ("description", "url", "socks_proxy", "token", "user", "password", "creds", "nkey", "cert",
                "key", "ca", "nsc", "jetstream_domain", "jetstream_api_prefix", "jetstream_event_prefix",
                "inbox_prefix", "user_jwt", "user_seed", "color_scheme", "tls_first", "windows_cert_store",
                "windows_cert_match_by", "windows_cert_match", "windows_ca_certs_match")
#: Keys natscli reads as lists (every other key is a string, ``tls_first`` a boolean).
_NATSCLI_LISTS = ("windows_ca_certs_match",)


class SubjectRoots(Protocol):
    """The three subject roots of a tenant (``model.TenantSubjects`` fits)."""

    @property
    def logs(self) -> str: ...
    @property
    def events(self) -> str: ...
    @property
    def otel(self) -> str: ...


@dataclass(frozen=True)
class ProducerTarget:
    """Where one tenant's producers publish: the tenant's subject roots, and the URLs and creds to reach NATS.

    ``nats_url`` is the hub's client URL (collector, natscli) and ``creds_path`` the tenant's
    service creds on the producer's host; "" means none, which only the tenant's own leaf node
    accepts (``nats_url`` equal to ``leaf_url``). Fluent Bit, which sends no credentials, always
    publishes to ``leaf_url``.
    """

    tenant: str
    logs_root: str          # e.g. "acme.logs.>" (or "<prefix>.acme.logs.>")
    events_root: str
    otel_root: str
    nats_url: str           # client URL of the hub, for the collector and natscli
    creds_path: str         # where the producer keeps the tenant's service creds file; "" = none (a leaf node)
    leaf_url: str = "nats://127.0.0.1:4222"   # the tenant's leaf node, for Fluent Bit
    service: str = "collector"                # the <service> token of rendered subjects

    @classmethod
    def of(cls, tenant: str, subjects: SubjectRoots, nats_url: str, creds_path: str, **kw: Any) -> "ProducerTarget":
        return cls(tenant, subjects.logs, subjects.events, subjects.otel, nats_url, creds_path, **kw)

    def base(self, root: str) -> str:
        """``acme.logs.>`` -> ``acme.logs``."""
        return root[:-2] if root.endswith(".>") else root


def validate(t: ProducerTarget) -> None:
    """Raise ``SpecError`` naming every field of ``t`` that could not make working templates.

    Each root must end in ``.>`` and hold the tenant as a token, both URLs must be ``nats://`` or
    ``tls://`` URLs, and an empty ``creds_path`` is allowed only for the tenant's own leaf node.
    """
    problems = Problems(f"producer templates for {t.tenant!r}")
    if not NAME_TOKEN.match(t.tenant):   # the layout's id rule was checked with the environment
        problems.add("tenant", f"{t.tenant!r} is not a tenant id", "one subject token: letters, digits, '_', '-'")
    for name in ("logs_root", "events_root", "otel_root"):
        root = getattr(t, name)
        if not root.endswith(".>") or t.tenant not in root.split("."):
            problems.add(name, f"{root!r} is not a subject root of tenant {t.tenant!r}", f"'<…>.{t.tenant}.<domain>.>'")
    for name in ("nats_url", "leaf_url"):
        url = urlparse(getattr(t, name))
        if url.scheme not in CLIENT_SCHEMES or not url.hostname:
            problems.add(name, f"{getattr(t, name)!r} is not a NATS client URL", "nats://host:port or tls://host:port")
    if not t.creds_path and t.nats_url != t.leaf_url:
        # Only the tenant's own leaf node takes clients without credentials.
        problems.add("creds_path", "empty", "the path of the creds file on the producer's host")
    if not NAME_TOKEN.match(t.service):
        problems.add("service", f"{t.service!r} is not a subject token", "letters, digits, '_' and '-'")
    problems.raise_if_any()


def _comment(lines: list[str], mark: str = "#") -> str:
    return "".join(f"{mark} {line}".rstrip() + "\n" for line in lines)


def render_otel_collector(t: ProducerTarget) -> str:
    """The OpenTelemetry Collector config (YAML) that sends OTLP from loopback to the tenant's otel subjects.

    It needs the out-of-tree ``nats`` exporter built into a custom collector, since no
    opentelemetry-collector-contrib release has one; the subjects are OTTL expressions, so each
    keeps its double quotes.
    """
    validate(t)
    base = t.base(t.otel_root)
    exporter: dict[str, Any] = {"endpoint": t.nats_url}
    if t.creds_path:
        exporter["nkey_user_file"] = {"user_file": t.creds_path}
    for signal in OTEL_SIGNALS:
        exporter[signal] = {"subject": f'"{base}.{t.service}.{signal}"', "marshaler": "otlp_proto"}
    doc = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:4317"},
                                             "http": {"endpoint": "127.0.0.1:4318"}}}},
        "processors": {"batch": {}},
        "exporters": {"nats": exporter},
        "service": {"pipelines": {s: {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["nats"]}
                                  for s in OTEL_SIGNALS}},
    }
    head = _comment([
        f"OpenTelemetry Collector: OTLP in on loopback, out to NATS for tenant {t.tenant}.",
        "",
        "No opentelemetry-collector-contrib release contains a NATS exporter (a donation is accepted",
        "upstream but not released). The 'nats' exporter below is the out-of-tree component from",
        f"  {NATS_EXPORTER_MODULE}",
        "(stability: development). Build a collector that contains it with the OpenTelemetry Collector",
        "Builder (ocb): list that module under 'exporters' in the builder config, next to the otlp",
        "receiver and the batch processor. A stock otelcol-contrib binary rejects this file.",
        "",
        f"Subjects stay inside the tenant's tree {t.otel_root}; they are OTTL expressions, so a",
        "literal subject keeps its double quotes. Messages are OTLP protobuf.",
        f"Credentials: the tenant's service creds file at {t.creds_path} (keep it mode 0600)." if t.creds_path
        else "Credentials: none: it publishes to the tenant's leaf node on loopback, which holds them.",
    ])
    return head + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def render_fluent_bit_output(t: ProducerTarget) -> str:
    """The Fluent Bit ``[OUTPUT]`` section that sends the tenant's records to its leaf node.

    Fluent Bit's ``nats`` output takes only a host and a port (no credentials, no TLS), so it
    publishes to the leaf node on loopback, which holds the leaf creds; each record goes to the
    subject equal to its tag, which must lie in the tenant's logs tree.
    """
    validate(t)
    leaf = urlparse(t.leaf_url)
    base = t.base(t.logs_root)
    head = _comment([
        f"Fluent Bit: records out to NATS for tenant {t.tenant}.",
        "",
        "Fluent Bit's nats output supports only Host, Port (and Workers). It does NOT support creds",
        "files, user JWTs, tokens or TLS, so it cannot log in to the tenant's account directly.",
        f"It therefore publishes to the tenant's leaf node at {leaf.hostname}:{leaf.port or 4222} (loopback, no",
        "auth), which holds the leaf creds and forwards the tenant's subjects to the hub.",
        "",
        "The NATS subject is the record's tag, so tag records inside the tenant's logs tree,",
        f"e.g. in the [INPUT]:  Tag  {base}.<service>.<event>   (one token each, no spaces).",
        "Each message is a JSON array of [timestamp, record] pairs; there is no delivery ack",
        "(plain publish, not JetStream): the tenant's logs stream stores what reaches the hub.",
    ])
    body = (
        "[OUTPUT]\n"
        "    Name   nats\n"
        f"    Match  {base}.*\n"
        f"    Host   {leaf.hostname}\n"
        f"    Port   {leaf.port or 4222}\n"
    )
    return head + body


def render_user_context(description: str, url: str, creds_path: str, jetstream_domain: str = "") -> str:
    """A natscli context file (JSON with every key natscli writes) for ``url`` and the creds at ``creds_path``.

    Use it with ``nats --context <file>.json …`` (natscli loads a path ending in ``.json``
    directly), or save it as ``~/.config/nats/context/<name>.json``.

    ``jetstream_domain`` makes natscli send JetStream requests to ``$JS.<domain>.API``; leave it
    empty for clients in the servers' own domain, whose roles grant ``$JS.API`` only.
    """
    doc: dict[str, Any] = {k: [] if k in _NATSCLI_LISTS else "" for k in NATSCLI_KEYS}
    doc.update(description=description, url=url, creds=creds_path, jetstream_domain=jetstream_domain,
               tls_first=False)
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def render_natscli_context(t: ProducerTarget) -> str:
    """The tenant's natscli context, with its service creds, or with none through its leaf node.

    Save as ``~/.config/nats/context/<tenant>.json``; select with ``nats context select <tenant>``.
    """
    validate(t)
    who = "service user" if t.creds_path else "through the leaf node"
    return render_user_context(f"tenant {t.tenant}: {who}", t.nats_url, t.creds_path)


#: The file names ``render_all`` returns, in the order the outputs list them.
TEMPLATE_FILES = (OTEL_FILE, FLUENT_BIT_FILE, NATSCLI_FILE, FLOWGGER_FILE, RSYSLOG_FILE)


def context_path(t: ProducerTarget) -> str:
    """Where the syslog templates expect the natscli context (a copy of ``NATSCLI_FILE``)."""
    return f"/etc/nats/{t.tenant}-context.json"


def _pipe_command(t: ProducerTarget, source: str, nats_bin: str) -> str:
    return (f"{nats_bin} --context {context_path(t)} pub {t.base(t.logs_root)}.{source}.{t.service} "
            "--send-on newline --force-stdin")


def render_flowgger(t: ProducerTarget, nats_bin: str = "/usr/local/bin/nats") -> str:
    """The flowgger config that takes syslog on loopback and writes GELF lines to a FIFO natscli reads.

    No flowgger release has a NATS output (a fork's takes no credentials and creates its stream on
    connect, which the tenant's users may not do), so ``nats pub --send-on newline`` publishes each
    line of the FIFO with the tenant's natscli context.
    """
    validate(t)
    fifo = f"/run/nats-tenancy/{t.tenant}-flowgger.fifo"
    where = "the hub with the tenant's service creds" if t.creds_path else "the tenant's leaf node (no creds)"
    head = _comment([
        f"flowgger: syslog in on loopback, GELF lines out to NATS for tenant {t.tenant}.",
        "",
        "No flowgger release has a NATS output. A fork adds one, but it takes no credentials and",
        "creates its stream on connect, which the tenant's users may not do. So flowgger writes one",
        "GELF line per record to a FIFO, and natscli publishes each line, as:",
        f"  mkfifo -m 0600 {fifo}",
        f"  {_pipe_command(t, 'flowgger', nats_bin)} < {fifo}",
        f"with the natscli context ({NATSCLI_FILE}) copied to {context_path(t)}: it reaches {where}.",
        "Start natscli first: flowgger opens the FIFO for writing and waits for a reader.",
        "Plain publish, no delivery ack: the tenant's logs stream stores what reaches the hub.",
    ])
    body = (
        "[input]\n"
        'type = "udp"\n'
        'listen = "127.0.0.1:5514"\n'
        'format = "rfc5424"\n'
        "\n"
        "[output]\n"
        'type = "file"\n'
        f'file_path = "{fifo}"\n'
        'format = "gelf"\n'
        'framing = "line"\n'
    )
    return head + body


def render_rsyslog(t: ProducerTarget, nats_bin: str = "/usr/local/bin/nats") -> str:
    """The rsyslog config that hands every message, as one JSON line, to natscli through ``omprog``.

    rsyslog ships no NATS output module; ``omprog`` runs ``nats pub --send-on newline`` once, with
    the tenant's natscli context, and writes each message to its stdin.
    """
    validate(t)
    where = "the hub with the tenant's service creds" if t.creds_path else "the tenant's leaf node (no creds)"
    head = _comment([
        f"rsyslog: every message out to NATS for tenant {t.tenant}, as one JSON line per message.",
        "",
        "rsyslog ships no NATS output module; omprog runs natscli once and writes each message to",
        f"its stdin, and natscli publishes each line on {t.base(t.logs_root)}.rsyslog.{t.service}.",
        f"Copy the natscli context ({NATSCLI_FILE}) to {context_path(t)}: it reaches {where}.",
        "Drop this file into /etc/rsyslog.d/ and check it with: rsyslogd -N1",
        "Plain publish, no delivery ack: the tenant's logs stream stores what reaches the hub.",
    ])
    line = ('{\\"time\\":\\"%timereported:::date-rfc3339%\\",\\"host\\":\\"%hostname:::json%\\",'
            '\\"app\\":\\"%app-name:::json%\\",\\"severity\\":\\"%syslogseverity-text%\\",'
            '\\"message\\":\\"%msg:::json%\\"}\\n')
    body = (
        'module(load="omprog")\n'
        f'template(name="nats_tenancy_{t.tenant.replace("-", "_")}" type="string" string="{line}")\n'
        f'action(type="omprog" name="nats_{t.tenant.replace("-", "_")}"\n'
        f'       binary="{_pipe_command(t, "rsyslog", nats_bin)}"\n'
        f'       template="nats_tenancy_{t.tenant.replace("-", "_")}")\n'
    )
    return head + body


def render_all(t: ProducerTarget) -> dict[str, str]:
    """``{file name: text}`` of every producer template for one tenant."""
    return {
        OTEL_FILE: render_otel_collector(t),
        FLUENT_BIT_FILE: render_fluent_bit_output(t),
        NATSCLI_FILE: render_natscli_context(t),
        FLOWGGER_FILE: render_flowgger(t),
        RSYSLOG_FILE: render_rsyslog(t),
    }


#: Folders of the files the stack writes per tenant (``.state/<stack>/tenants/<tenant>/``).
PRODUCERS_DIR = "producers"
CONTEXTS_DIR = "contexts"
CREDS_DIR = "creds"


def client_files(tenant: str, subjects: SubjectRoots, nats_url: str, creds: dict[str, str], directory: str,
                 jetstream_domain: str = "") -> dict[str, str]:
    """``{relative path: text}`` of what a tenant's applications start from, written under ``directory``.

    The stack writes each user's creds (``creds/<user>.creds``), a natscli context per user
    pointing at them (``contexts/<user>.json``: ``nats --context contexts/service.json …``), and
    the producer templates aimed at the hub with the service user's creds (``producers/``).

    ``creds``: user name -> creds text (secrets; the files get mode 0600). Hub clients use
    ``$JS.API`` directly, so ``jetstream_domain`` stays empty unless the contexts are for clients
    in another JetStream domain whose roles grant ``$JS.<domain>.API``.
    """
    files: dict[str, str] = {}
    for user in sorted(creds):
        creds_path = f"{directory.rstrip('/')}/{CREDS_DIR}/{user}.creds"
        files[f"{CREDS_DIR}/{user}.creds"] = creds[user]
        files[f"{CONTEXTS_DIR}/{user}.json"] = render_user_context(
            f"tenant {tenant}: {user} user", nats_url, creds_path, jetstream_domain)
    service_creds = f"{directory.rstrip('/')}/{CREDS_DIR}/service.creds" if "service" in creds else ""
    target = ProducerTarget.of(tenant, subjects, nats_url, service_creds or f"/etc/nats/{tenant}-service.creds")
    files.update({f"{PRODUCERS_DIR}/{n}": text for n, text in render_all(target).items()})
    return files

