from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icsbridge.config.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("15m", 900),
        ("1h", 3600),
        ("1h30m", 5400),
        ("90m", 5400),
        ("1d", 86400),
        ("1d2h3m4s", 93784),
        ("0s", 0),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text", ["", "5x", "15", "m", "1.5h", "30m1h", "1h 30m", "1H", "-5m", "1h1h", " 15m"]
)
def test_parse_duration_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == f'"{text}" is not a duration (e.g. "15m", "1h30m")'


def test_parse_duration_refuses_a_duration_too_long_for_timedelta() -> None:
    with pytest.raises(ValueError, match=r'^"99999999999d" is too long a duration$'):
        parse_duration("99999999999d")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (900, "15m"),
        (5400, "1h30m"),
        (86400, "1d"),
        (90061, "1d1h1m1s"),
        (3601, "1h1s"),
    ],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_duration_refuses_negative_seconds() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        format_duration(-1)


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=10**9))
def test_format_then_parse_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == timedelta(seconds=seconds)
