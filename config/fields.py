"""Checks for single config values, each failing with one user-facing phrase.

Every check raises ``PydanticCustomError`` of type :data:`PROBLEM` whose message is the
"what is wrong" part of a line; :mod:`icsbridge.config.problems` prefixes it with the file,
section and field. Messages quote what the user wrote, except for secrets.
"""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import PlainSerializer, PlainValidator, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from icsbridge.config.durations import format_duration, parse_duration
from icsbridge.config.wording import quote, toml_type

PROBLEM = "icsbridge"
"""Error type of every message written here; its text is shown as is."""

MIN_INTERVAL = timedelta(seconds=60)
MAX_INTERVAL = timedelta(days=30)
"""The longest interval: a feed refreshed less often than monthly is a file, not a feed, and
the scheduler must be able to add an interval to now (a far larger one overflows it)."""
_NAME = re.compile(r"[a-z0-9-]+")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_LISTEN_EXAMPLE = '(e.g. "127.0.0.1:8080")'


def problem(message: str) -> PydanticCustomError:
    """A validation error whose message is shown to the user as written."""
    return PydanticCustomError(PROBLEM, message)


def expect_string(value: object, what: str) -> str:
    """``value`` if it is a string, else a problem naming ``what`` was expected."""
    if not isinstance(value, str):
        raise problem(f"expected {what}, got {toml_type(value)}")
    return value


def check_name(value: object) -> str:
    text = expect_string(value, 'a name like "hq"')
    if not _NAME.fullmatch(text):
        raise problem(
            f'{quote(text)} is not a valid name (use lowercase letters, digits and "-", e.g. "hq")'
        )
    return text


def split_host_port(text: str) -> tuple[str, int]:
    """Split ``host:port`` (IPv6 hosts in brackets). Raises ValueError with a user phrase."""
    wrong = ValueError(f"{quote(text)} is not host:port {_LISTEN_EXAMPLE}")
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise wrong
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise wrong from None
        port_text = rest[1:]
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon or not _HOSTNAME.fullmatch(host):
            raise wrong
    if not port_text.isascii() or not port_text.isdigit():
        raise wrong
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} in {quote(text)} is out of range (1-65535)")
    return host, port


def check_listen(value: object) -> str:
    text = expect_string(value, f"host:port {_LISTEN_EXAMPLE}")
    try:
        split_host_port(text)
    except ValueError as exc:
        raise problem(str(exc)) from None
    return text


def check_http_url(value: object, example: str) -> str:
    """An http or https URL with a host, returned without trailing slashes."""
    text = expect_string(value, f"an http(s) URL (e.g. {quote(example)})")
    wrong = problem(f"{quote(text)} is not an http(s) URL (e.g. {quote(example)})")
    if any(char.isspace() for char in text):
        raise wrong
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise wrong from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise wrong
    return text.rstrip("/")


def relative_path(value: object, info: ValidationInfo) -> Path:
    """A path, made absolute against ``context["base_dir"]`` (the config file's directory)."""
    if isinstance(value, Path):
        path = value
    else:
        text = expect_string(value, "a path")
        if not text:
            raise problem("expected a path, got an empty string")
        path = Path(text)
    base_dir = info.context.get("base_dir") if isinstance(info.context, dict) else None
    if isinstance(base_dir, Path) and not path.is_absolute():
        path = Path(os.path.abspath(base_dir / path))
    return path


def check_interval(value: object) -> timedelta:
    """A duration ("15m", "1h30m") or whole seconds, from :data:`MIN_INTERVAL` to
    :data:`MAX_INTERVAL`."""
    if isinstance(value, timedelta):
        interval, shown = value, quote(format_duration(int(value.total_seconds())))
    elif isinstance(value, int) and not isinstance(value, bool):
        shown = f"{value} seconds"
        # Compared before timedelta() sees it: a huge integer would overflow there.
        if value > MAX_INTERVAL.total_seconds():
            raise problem(f"{shown} is {_interval_range()}")
        interval = timedelta(seconds=value)
    elif isinstance(value, str):
        try:
            interval = parse_duration(value)
        except ValueError as exc:
            raise problem(str(exc)) from None
        shown = quote(value)
    else:
        raise problem(f'expected a duration like "15m", got {toml_type(value)}')
    if interval < MIN_INTERVAL:
        minimum = format_duration(int(MIN_INTERVAL.total_seconds()))
        raise problem(f'{shown} is shorter than the minimum "{minimum}"')
    if interval > MAX_INTERVAL:
        raise problem(f"{shown} is {_interval_range()}")
    return interval


def _interval_range() -> str:
    low, high = (format_duration(int(d.total_seconds())) for d in (MIN_INTERVAL, MAX_INTERVAL))
    return f'longer than the maximum "{high}" (an interval is from "{low}" to "{high}")'


def check_zone(value: object) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    text = expect_string(value, 'an IANA time zone (e.g. "Europe/Paris")')
    wrong = problem(f'{quote(text)} is not an IANA time zone (e.g. "Europe/Paris")')
    if not text:
        raise wrong
    try:
        return ZoneInfo(text)
    # ValueError: keys like "../x"; OSError: keys naming a directory such as "Europe".
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise wrong from None


def check_id_list(value: object) -> list[str]:
    """A list of non-empty id strings (people, locations)."""
    if not isinstance(value, list):
        raise problem(f"expected an array of ids, got {toml_type(value)}")
    for number, item in enumerate(value, start=1):
        if not isinstance(item, str):
            raise problem(f"item {number}: expected an id string, got {toml_type(item)}")
        if not item.strip():
            raise problem(f"item {number} is empty; give an id or remove it")
    return list(value)


def check_text(value: object, expected: str, *, empty: str | None = None) -> str:
    """A string that is not blank; ``expected`` names what was expected, ``empty`` (when
    given) names it in the error for a blank string."""
    text = expect_string(value, expected)
    if not text.strip():
        raise problem(f"expected {empty or expected}, got an empty string")
    return text


def check_whole_number(value: object, low: int, high: int) -> int:
    """An integer (not a boolean) from ``low`` to ``high``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise problem(f"expected an integer from {low} to {high}, got {toml_type(value)}")
    if not low <= value <= high:
        raise problem(f"{value} is out of range ({low}-{high})")
    return value


def check_page_size(value: object) -> int:
    return check_whole_number(value, 1, 1000)


MAX_WRITE_WAIT = timedelta(minutes=10)


def check_write_wait(value: object) -> timedelta:
    """How long an edit may wait for a running sync or push of its source: a duration
    ("30s") or whole seconds, from "0s" (answer at once) to :data:`MAX_WRITE_WAIT`."""
    limit = int(MAX_WRITE_WAIT.total_seconds())
    if isinstance(value, timedelta):
        seconds, shown = value.total_seconds(), quote(format_duration(int(value.total_seconds())))
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds, shown = value, f"{value} seconds"
    elif isinstance(value, str):
        try:
            seconds = parse_duration(value).total_seconds()
        except ValueError as exc:
            raise problem(str(exc)) from None
        shown = quote(value)
    else:
        raise problem(f'expected a duration like "30s", got {toml_type(value)}')
    if not 0 <= seconds <= limit:
        raise problem(f'{shown} is out of range ("0s" to "{format_duration(limit)}")')
    return timedelta(seconds=seconds)


def _zone_key(zone: ZoneInfo) -> str:
    return zone.key


def _interval_text(interval: timedelta) -> str:
    return format_duration(int(interval.total_seconds()))


IanaZone = Annotated[
    ZoneInfo,
    PlainValidator(check_zone),
    PlainSerializer(_zone_key, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "description": "IANA time zone, e.g. Europe/Paris"}),
]
"""A ZoneInfo read from an IANA name; serialised back to its name in JSON."""

Interval = Annotated[
    timedelta,
    PlainValidator(check_interval),
    PlainSerializer(_interval_text, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "description": 'duration, e.g. "15m" or "1h30m"'}),
]
"""A timedelta read from "15m"-style text or seconds; serialised back to text in JSON."""

WriteWait = Annotated[
    timedelta,
    PlainValidator(check_write_wait),
    PlainSerializer(_interval_text, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "description": 'duration, e.g. "30s" (0s to 10m)'}),
]
"""How long an edit waits for the source's lock (see :func:`check_write_wait`)."""
