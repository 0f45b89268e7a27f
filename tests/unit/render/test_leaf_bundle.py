"""Customer leaf-node bundle: config accepted by the real nats-server, deterministic archive."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import stat
import subprocess
import tarfile

import nkeys
import pytest
import yaml

from components.model.errors import SpecError
from components.model.render.bundle_files import tar_gz_bytes, write_bundle
from components.model.render.leafnode import LeafBundle, bundle_for, render_leaf_bundle


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _keypair(prefix: int, fill: int) -> nkeys.KeyPair:
    return nkeys.from_seed(nkeys.encode_seed(bytes([fill]) * 32, prefix))


def make_creds() -> tuple[str, str]:
    """(account public key, creds text) with a user JWT really signed by the account key."""
    account = _keypair(nkeys.PREFIX_BYTE_ACCOUNT, 7)
    user = _keypair(nkeys.PREFIX_BYTE_USER, 9)
    header = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    claims = {"iat": 1700000000, "iss": account.public_key.decode(), "name": "leaf",
              "sub": user.public_key.decode(), "nats": {"type": "user", "version": 2, "bearer_token": False}}
    digest = hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest()
    claims["jti"] = base64.b32encode(digest).decode().rstrip("=")
    payload = _b64(json.dumps(claims).encode())
    jwt = f"{header}.{payload}.{_b64(account.sign(f'{header}.{payload}'.encode()))}"
    creds = (f"-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n"
             f"************************* IMPORTANT *************************\n"
             f"NKEY Seed printed below can be used to sign and prove identity.\n"
             f"NKEYs are sensitive and should be treated as secrets.\n\n"
             f"-----BEGIN USER NKEY SEED-----\n{user.seed.decode()}\n------END USER NKEY SEED------\n\n"
             f"{'*' * 61}\n")
    return account.public_key.decode(), creds


@pytest.fixture(scope="module")
def bundle() -> LeafBundle:
    key, creds = make_creds()
    return LeafBundle(customer="acme-edge", tenant="acme", account_public_key=key,
                      hub_urls=("nats://127.0.0.1:17422", "nats://127.0.0.2:17422"), creds=creds,
                      listen_port=24222, subjects=("acme.logs.>", "acme.events.>", "acme.otel.>"))


def nats_server() -> str:
    from components.providers.nats_process import NatsServerError, nats_server_binary
    try:
        return nats_server_binary()
    except NatsServerError as exc:
        pytest.skip(str(exc))


def test_bundle_files(bundle: LeafBundle) -> None:
    files = render_leaf_bundle(bundle)
    assert sorted(files) == ["README.md", "acme-edge.creds", "leafnode.conf", "producers/flowgger.toml",
                             "producers/fluent-bit-output.conf", "producers/natscli-context.json",
                             "producers/otel-collector.yaml", "producers/rsyslog-nats.conf"]
    assert files["acme-edge.creds"] == bundle.creds
    conf = files["leafnode.conf"]
    assert 'listen: "127.0.0.1:24222"' in conf
    assert 'urls: ["nats://127.0.0.1:17422", "nats://127.0.0.2:17422"]' in conf
    assert 'credentials: "./acme-edge.creds"' in conf
    # not in operator mode: the hub's account key must not appear as a local account
    assert "account" not in conf and bundle.account_public_key not in conf
    readme = files["README.md"]
    assert "nats-server -c leafnode.conf" in readme
    for s in bundle.subjects:
        assert f"`{s}`" in readme
    assert bundle.account_public_key in readme and "-----BEGIN" not in readme
    assert "producers/" in readme


def test_bundle_producer_templates_aim_at_the_leaf_without_creds(bundle: LeafBundle) -> None:
    files = render_leaf_bundle(bundle)
    local = "nats://127.0.0.1:24222"
    otel = yaml.safe_load(files["producers/otel-collector.yaml"])
    exporter = otel["exporters"]["nats"]
    assert exporter["endpoint"] == local and "nkey_user_file" not in exporter
    logs, events, otel_root = bundle.subjects
    assert exporter["traces"]["subject"].strip('"').startswith(otel_root[:-2] + ".")
    context = json.loads(files["producers/natscli-context.json"])
    assert context["url"] == local and context["creds"] == ""
    fluent = files["producers/fluent-bit-output.conf"]
    assert "Port   24222" in fluent and f"Match  {logs[:-2]}.*" in fluent
    for text in files.values():
        assert "-----BEGIN" not in text or text == bundle.creds


def test_rendering_is_deterministic(bundle: LeafBundle) -> None:
    assert render_leaf_bundle(bundle) == render_leaf_bundle(bundle)
    assert bundle_for("acme-edge", "acme", bundle.account_public_key, bundle.hub_urls, bundle.creds,
                      24222, bundle.subjects) == render_leaf_bundle(bundle)


def test_real_nats_server_accepts_the_config(bundle: LeafBundle, tmp_path) -> None:
    binary = nats_server()
    directory, _ = write_bundle(render_leaf_bundle(bundle), str(tmp_path / "acme-edge"))
    res = subprocess.run([binary, "-t", "-c", "leafnode.conf"], cwd=directory, capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 0, res.stderr + res.stdout
    assert "is valid" in (res.stderr + res.stdout)


def test_real_nats_server_refuses_a_hub_account_on_the_remote(bundle: LeafBundle, tmp_path) -> None:
    # why the remote names no account: in a server without operator mode it must be a local account
    binary = nats_server()
    remote_creds = 'credentials: "./acme-edge.creds"'
    conf = render_leaf_bundle(bundle)["leafnode.conf"].replace(
        remote_creds, f'{remote_creds}\n      account: "{bundle.account_public_key}"')
    path = tmp_path / "bad.conf"
    path.write_text(conf)
    # `-t` only parses; the account lookup happens when the server starts, and it exits at once
    try:
        res = subprocess.run([binary, "-c", str(path)], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:  # it started: the account was accepted after all
        pytest.fail("nats-server started with the hub account key on a non-operator leaf remote")
    assert res.returncode != 0
    assert "cannot find local account" in res.stderr + res.stdout


@pytest.mark.parametrize("change,field", [
    ({"customer": "Acme_Edge"}, "customer"),
    ({"account_public_key": "UABC"}, "account_public_key"),
    ({"hub_urls": ()}, "hub_urls"),
    ({"hub_urls": ("http://hub:7422",)}, "hub_urls[0]"),
    ({"listen_port": 70000}, "listen_port"),
    ({"creds": "not creds"}, "creds"),
])
def test_bad_inputs_are_refused(bundle: LeafBundle, change: dict, field: str) -> None:
    import dataclasses
    with pytest.raises(SpecError) as err:
        render_leaf_bundle(dataclasses.replace(bundle, **change))
    assert [p.field for p in err.value.problems] == [field]
    assert err.value.problems[0].fix


def test_write_bundle_modes_and_archive(bundle: LeafBundle, tmp_path) -> None:
    files = render_leaf_bundle(bundle)
    directory, archive = write_bundle(files, str(tmp_path / "out" / "acme-edge"))
    assert archive == directory + ".tar.gz"
    assert stat.S_IMODE(os.stat(os.path.join(directory, "acme-edge.creds")).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.join(directory, "leafnode.conf")).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o600
    for name, text in files.items():
        with open(os.path.join(directory, *name.split("/")), encoding="utf-8") as f:
            assert f.read() == text
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["acme-edge", "acme-edge/producers", "acme-edge/README.md",
                                             "acme-edge/acme-edge.creds", "acme-edge/leafnode.conf",
                                             "acme-edge/producers/flowgger.toml",
                                             "acme-edge/producers/fluent-bit-output.conf",
                                             "acme-edge/producers/natscli-context.json",
                                             "acme-edge/producers/otel-collector.yaml",
                                             "acme-edge/producers/rsyslog-nats.conf"]
        by_name = {m.name: m for m in members}
        assert by_name["acme-edge/acme-edge.creds"].mode == 0o600
        assert by_name["acme-edge/leafnode.conf"].mode == 0o644
        assert all(m.mtime == 0 and m.uid == 0 and m.uname == "" for m in members)
        extracted = tar.extractfile("acme-edge/acme-edge.creds")
        assert extracted is not None and extracted.read().decode() == bundle.creds


def test_archive_is_byte_identical_across_renders(bundle: LeafBundle, tmp_path) -> None:
    _, first = write_bundle(render_leaf_bundle(bundle), str(tmp_path / "a" / "acme-edge"))
    _, second = write_bundle(render_leaf_bundle(bundle), str(tmp_path / "b" / "acme-edge"))
    with open(first, "rb") as f1, open(second, "rb") as f2:
        data = f1.read()
        assert data == f2.read()
    # renders within one second would match anyway: check that nothing time-dependent is stored
    assert data[:2] == b"\x1f\x8b" and data[4:8] == b"\0\0\0\0"    # gzip mtime 0
    assert data[3] & 0x08 == 0                                          # no file name in the header
    # and rewriting in place gives the same bytes again
    with open(first, "rb") as f:
        before = f.read()
    write_bundle(render_leaf_bundle(bundle), str(tmp_path / "a" / "acme-edge"))
    with open(first, "rb") as f:
        assert f.read() == before


def test_archive_changes_when_content_changes(bundle: LeafBundle) -> None:
    files = render_leaf_bundle(bundle)
    other = dict(files, **{"README.md": files["README.md"] + "x"})
    assert tar_gz_bytes(files, "acme-edge") != tar_gz_bytes(other, "acme-edge")
    assert tar_gz_bytes(dict(reversed(list(files.items()))), "acme-edge") == tar_gz_bytes(files, "acme-edge")


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../b", ""])
def test_unsafe_paths_are_refused(path: str, tmp_path) -> None:
    with pytest.raises(ValueError):
        write_bundle({path: "x"}, str(tmp_path / "b"))


def test_nested_paths_get_directory_entries() -> None:
    data = tar_gz_bytes({"conf/leaf.conf": "x", "top.txt": "y"}, "bundle")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        assert tar.getnames() == ["bundle", "bundle/conf", "bundle/conf/leaf.conf", "bundle/top.txt"]
