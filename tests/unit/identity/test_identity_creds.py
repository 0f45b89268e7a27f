"""The creds file, byte for byte, as every NATS client expects it."""
from __future__ import annotations

import pytest

from components.model.identity.creds import CredsError, format_user_creds, parse_creds
from components.model.identity.jwt_codec import issue
from components.model.identity.keys import new_account_key, new_user_key


def _pair() -> tuple[str, str]:
    acc, user = new_account_key(), new_user_key()
    jwt = issue({"sub": user.public_key, "nats": {"type": "user", "version": 2}}, acc.seed)
    return jwt, user.seed


def test_format_is_byte_exact():
    jwt, seed = _pair()
    expected = (
        "-----BEGIN NATS USER JWT-----\n"
        f"{jwt}\n"
        "------END NATS USER JWT------\n"
        "\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n"
        "NKEYs are sensitive and should be treated as secrets.\n"
        "\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{seed}\n"
        "------END USER NKEY SEED------\n"
        "\n"
        "*************************************************************\n"
    )
    text = format_user_creds(jwt, seed)
    assert text == expected
    lines = text.split("\n")
    assert lines[4] == "*" * 25 + " IMPORTANT " + "*" * 25
    assert lines[-2] == "*" * 61 and lines[-1] == ""
    assert "\r" not in text


def test_parse_round_trip_and_crlf():
    jwt, seed = _pair()
    text = format_user_creds(jwt, seed)
    assert parse_creds(text) == (jwt, seed)
    assert parse_creds(text.replace("\n", "\r\n")) == (jwt, seed)


@pytest.mark.parametrize("text,match", [
    ("", "BEGIN NATS USER JWT"),
    ("-----BEGIN NATS USER JWT-----\nabc\n------END NATS USER JWT------\n", "BEGIN USER NKEY SEED"),
    ("-----BEGIN NATS USER JWT-----\nabc\n\n------END NATS USER JWT------\n", "followed by one line"),
])
def test_parse_errors(text, match):
    with pytest.raises(CredsError, match=match):
        parse_creds(text)


def test_format_refuses_a_non_user_seed_or_a_non_jwt():
    jwt, _ = _pair()
    with pytest.raises(CredsError, match="user seed"):
        format_user_creds(jwt, new_account_key().seed)
    with pytest.raises(CredsError, match="not a JWT"):
        format_user_creds("nope", new_user_key().seed)
