from __future__ import annotations

import pytest

from components.model.jetstream.units import UnitError, format_duration, parse_duration, parse_size, whole_number

S = 1_000_000_000


@pytest.mark.parametrize("text,ns", [
    ("720h", 720 * 3600 * S), ("2m", 120 * S), ("1.5s", 1_500_000_000), ("100ms", 100_000_000),
    ("1.001s", 1_001_000_000), ("1h30m", 5400 * S), ("10us", 10_000), ("10µs", 10_000), ("5ns", 5),
    ("7d", 7 * 86400 * S), ("0", 0), ("0s", 0), (".5s", 500_000_000), ("-1s", -S),
    (120000000000, 120 * S), (120000000000.0, 120 * S), ("120000000000", 120 * S),
])
def test_durations(text, ns):
    assert parse_duration(text) == ns


@pytest.mark.parametrize("bad", ["", "1.5", "2 m", "1y", "s", "1.0000000001s", 1.5, True, None, [1], "1h-5m"])
def test_bad_durations(bad):
    with pytest.raises(UnitError, match="duration|nanoseconds"):
        parse_duration(bad)


@pytest.mark.parametrize("text,size", [
    ("1GiB", 1024**3), ("512MB", 512 * 1000**2), ("10KiB", 10 * 1024), ("1.5KiB", 1536), ("100", 100),
    ("100B", 100), ("2tib", 2 * 1024**4), (-1, -1), (1048576.0, 1048576), ("-1", -1),
    ("1G", 1000**3), ("512Ki", 512 * 1024), ("1Gi", 1024**3), ("100k", 100_000), ("2 TiB", 2 * 1024**4),
])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["1GX", "1.5B", "1 parsec", "", "KiB", 0.5, False])
def test_bad_sizes(bad):
    with pytest.raises(UnitError, match="size|bytes|boolean"):
        parse_size(bad)


def test_whole_number_refuses_fractions_and_huge_floats():
    assert whole_number(5.0) == 5
    for bad in (5.5, float("nan"), float("inf"), 2.0**60, "5", True):
        with pytest.raises(UnitError):
            whole_number(bad)


@pytest.mark.parametrize("ns,text", [(0, "0s"), (120 * S, "2m"), (5400 * S, "1h30m"), (1_500_000_000, "1s500ms")])
def test_format_duration_round_trips(ns, text):
    assert format_duration(ns) == text and parse_duration(text) == ns
