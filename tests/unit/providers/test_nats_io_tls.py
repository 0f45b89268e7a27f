"""TLS settings of the provisioning connections, from the environment: complete or refused clearly."""
from __future__ import annotations

import ssl

import pytest

from components.nats_io.tls import CA_ENV, CERT_ENV, KEY_ENV, TlsSettingsError, client_context


def test_nothing_set_means_nats_py_defaults() -> None:
    assert client_context({}) is None


def test_a_certificate_needs_its_key() -> None:
    with pytest.raises(TlsSettingsError, match=f"set {KEY_ENV} as well"):
        client_context({CERT_ENV: "/etc/hostname"})


def test_a_missing_file_is_named() -> None:
    with pytest.raises(TlsSettingsError, match=f"{CA_ENV}=/nonexistent/ca.pem: no such file"):
        client_context({CA_ENV: "/nonexistent/ca.pem"})


def test_a_file_that_is_no_pem_is_refused(tmp_path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(TlsSettingsError, match="not usable"):
        client_context({CA_ENV: str(bad)})


def test_context_allows_tls13_only(tmp_path) -> None:
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: needed to make a CA file")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=ca", "-keyout", str(tmp_path / "k"), "-out", str(tmp_path / "ca.pem")],
                   check=True, capture_output=True)
    ctx = client_context({CA_ENV: str(tmp_path / "ca.pem")})
    assert ctx is not None and ctx.minimum_version is ssl.TLSVersion.TLSv1_3
    assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname
