"""Files the stack writes for people outside it: a customer's leaf-node bundle (``LeafBundle``) and
a tenant's client files (``ClientFiles``: creds, natscli contexts, producer templates), each a
directory and a ``.tar.gz``.

The files are a side effect outside Pulumi state, so they are resources of their own: create and
update write them, read notices when they were removed or edited (``pulumi refresh``), delete
removes them. The creds inside are a secret input and never an output.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from typing import Any, Optional

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from components.model.render.bundle_files import write_bundle
from components.model.render.leafnode import LeafBundle as LeafBundleSpec
from components.model.render.leafnode import render_leaf_bundle
from components.model.render.producer_templates import SubjectRoots, client_files

_CONTENT = ("directory", "customer", "tenant", "account_public_key", "hub_urls", "creds", "listen_port", "subjects")


def _files(props: dict[str, Any]) -> dict[str, str]:
    return render_leaf_bundle(LeafBundleSpec(
        customer=str(props["customer"]), tenant=str(props["tenant"]),
        account_public_key=str(props["account_public_key"]), hub_urls=tuple(props["hub_urls"]),
        creds=str(props["creds"]), listen_port=int(props["listen_port"]), subjects=tuple(props.get("subjects") or ()),
    ))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(props: dict[str, Any]) -> dict[str, Any]:
    files = _files(props)
    directory, archive = write_bundle(files, str(props["directory"]))
    with open(archive, "rb") as f:
        digest = _digest(f.read())
    return {**props, "path": directory, "archive": archive, "archive_sha256": digest}


class _BundleProvider(ResourceProvider):
    """Write on create/update, detect removed or edited archives on read, remove on delete."""

    content: tuple[str, ...] = ()

    def _write(self, props: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in self.content if olds.get(k) != news.get(k)]
        if olds.get("archive_sha256") == "missing":
            changed.append("archive")
        return DiffResult(changes=bool(changed), replaces=["directory"] if "directory" in changed else [])

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._write(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        outs = dict(props)
        try:
            with open(str(props.get("archive")), "rb") as f:
                intact = _digest(f.read()) == props.get("archive_sha256")
        except OSError:
            intact = False
        if not intact:
            outs["archive_sha256"] = "missing"  # removed or edited: the next up writes it again
        return ReadResult(id_, outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        shutil.rmtree(str(props.get("path") or props["directory"]), ignore_errors=True)
        archive = props.get("archive")
        if archive and os.path.exists(str(archive)):
            os.remove(str(archive))


class _Roots:
    def __init__(self, logs: str, events: str, otel: str):
        self.logs, self.events, self.otel = logs, events, otel


_CLIENT_CONTENT = ("directory", "tenant", "subjects", "nats_url", "creds", "jetstream_domain")


class ClientFilesProvider(_BundleProvider):
    content = _CLIENT_CONTENT

    def _write(self, props: dict[str, Any]) -> dict[str, Any]:
        logs, events, otel = props["subjects"]
        roots: SubjectRoots = _Roots(str(logs), str(events), str(otel))
        directory = os.path.abspath(str(props["directory"]))
        files = client_files(str(props["tenant"]), roots, str(props["nats_url"]), dict(props["creds"]), directory,
                             str(props.get("jetstream_domain") or ""))
        path, archive = write_bundle(files, directory)
        with open(archive, "rb") as f:
            digest = _digest(f.read())
        return {**props, "path": path, "archive": archive, "archive_sha256": digest}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(str(props["tenant"]), self._write(props))


class ClientFiles(pulumi.dynamic.Resource, module="nats", name="ClientFiles"):
    """A tenant's client files under ``directory`` (see ``producer_templates.client_files``)."""

    path: pulumi.Output[str]
    archive: pulumi.Output[str]

    def __init__(self, name: str, *, directory: str, tenant: str, subjects: tuple[str, str, str],
                 nats_url: pulumi.Input[str], creds: pulumi.Input[dict[str, str]], jetstream_domain: str = "",
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(ClientFilesProvider(), name, {
            "directory": os.path.abspath(directory), "tenant": tenant, "subjects": list(subjects),
            "nats_url": nats_url, "creds": pulumi.Output.secret(creds), "jetstream_domain": jetstream_domain,
            "path": None, "archive": None, "archive_sha256": None,
        }, opts)


class LeafBundleProvider(_BundleProvider):
    content = _CONTENT

    def _write(self, props: dict[str, Any]) -> dict[str, Any]:
        return _write(props)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(str(props["customer"]), _write(props))


class LeafBundle(pulumi.dynamic.Resource, module="nats", name="LeafBundle"):
    path: pulumi.Output[str]
    archive: pulumi.Output[str]

    def __init__(self, name: str, *, directory: str, customer: str, tenant: str,
                 account_public_key: pulumi.Input[str], hub_urls: list[str], creds: pulumi.Input[str],
                 listen_port: int = 4222, subjects: tuple[str, ...] = (),
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(LeafBundleProvider(), name, {
            "directory": os.path.abspath(directory), "customer": customer, "tenant": tenant,
            "account_public_key": account_public_key, "hub_urls": list(hub_urls),
            "creds": pulumi.Output.secret(creds), "listen_port": listen_port, "subjects": list(subjects),
            "path": None, "archive": None, "archive_sha256": None,
        }, opts)
