"""``components/program/sdk_messages.py``: which setting keeps the SDK's debug messages."""
from __future__ import annotations

import pulumi.log
import pytest

from components.program import sdk_messages


@pytest.fixture(autouse=True)
def restore_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulumi.log, "debug", pulumi.log.debug)  # put back after each test


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_the_setting_keeps_the_sdk_debug_function(value: str) -> None:
    before = pulumi.log.debug
    assert sdk_messages.drop_sdk_debug_messages({sdk_messages.ENV: value}) is False
    assert pulumi.log.debug is before


@pytest.mark.parametrize("environ", [{}, {sdk_messages.ENV: "0"}, {sdk_messages.ENV: ""}])
def test_without_the_setting_debug_sends_nothing_and_other_levels_stay(environ: dict[str, str]) -> None:
    info = pulumi.log.info
    assert sdk_messages.drop_sdk_debug_messages(environ) is True
    assert pulumi.log.debug is sdk_messages._dropped
    assert pulumi.log.info is info
