"""HTTP pieces of the feed route that need no I/O: paths, dates, validators (RFC 9110).

Kept apart from the ASGI code so each rule can be tested on its own.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import unquote

FEEDS_PREFIX = "/feeds/"
_BAD_SEGMENTS = frozenset({"", ".", ".."})

_MONTHS = {
    m.encode(): i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}
_TIME = rb"(\d\d):(\d\d):(\d\d)"
# RFC 9110 5.6.7: IMF-fixdate, and the two obsolete forms a recipient must still accept.
_IMF_FIXDATE = re.compile(
    rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) ([A-Z][a-z]{2}) (\d{4}) " + _TIME + rb" GMT"
)
_RFC850 = re.compile(
    rb"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
    rb"(\d\d)-([A-Z][a-z]{2})-(\d\d) " + _TIME + rb" GMT"
)
_ASCTIME = re.compile(
    rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ([ \d]\d) " + _TIME + rb" (\d{4})"
)
_ENTITY_TAG = re.compile(rb'(?:W/)?("[^"]*")')


def split_feed_path(path: str, *, encoded: bool) -> tuple[str, str] | None:
    """``/feeds/<token>/<feed>.ics`` -> (token, feed name), or None when it is not one.

    ``encoded``: the path is still percent-encoded; each '/'-separated segment is decoded
    on its own (UTF-8, strictly), so a feed name keeps its '/' and its spaces. Empty, '.'
    and '..' segments are refused, whatever their encoding.
    """
    if not path.startswith(FEEDS_PREFIX):
        return None
    parts = path[len(FEEDS_PREFIX) :].split("/")
    if len(parts) < 2:
        return None
    if encoded and "%" in path:
        try:
            parts = [unquote(part, errors="strict") for part in parts]
        except UnicodeDecodeError:
            return None
    token = parts[0]
    name = "/".join(parts[1:])
    if not token or not name.endswith(".ics"):
        return None
    name = name[:-4]
    if not _BAD_SEGMENTS.isdisjoint(name.split("/")):
        return None
    return token, name


def decode_raw_path(raw: bytes) -> str | None:
    """The raw request path as text (still percent-encoded), or None if it is not UTF-8."""
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def imf_fixdate(when: datetime) -> str:
    """``Sat, 21 Nov 2026 10:00:00 GMT`` for an aware datetime (seconds truncated)."""
    if when.tzinfo is None:
        raise ValueError("naive datetime given as Last-Modified")
    return format_datetime(when.astimezone(UTC).replace(microsecond=0), usegmt=True)


def parse_http_date(value: bytes) -> int | None:
    """POSIX seconds of an HTTP-date (IMF-fixdate, RFC 850 or asctime), None if malformed."""
    value = value.strip()
    if match := _IMF_FIXDATE.fullmatch(value):
        day, month, year, hour, minute, second = match.groups()
        return _posix(int(year), month, int(day), hour, minute, second)
    if match := _RFC850.fullmatch(value):
        day, month, short_year, hour, minute, second = match.groups()
        # RFC 9110: a year more than 50 years ahead is the last past year with those digits.
        this_year = time.gmtime().tm_year
        year = this_year - this_year % 100 + int(short_year)
        if year > this_year + 50:
            year -= 100
        return _posix(year, month, int(day), hour, minute, second)
    if match := _ASCTIME.fullmatch(value):
        month, day, hour, minute, second, year = match.groups()
        return _posix(int(year), month, int(day), hour, minute, second)
    return None


def _posix(year: int, month: bytes, day: int, hour: bytes, minute: bytes, sec: bytes) -> int | None:
    number = _MONTHS.get(month)
    if number is None:
        return None
    try:
        moment = datetime(year, number, day, int(hour), int(minute), int(sec), tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp())


def etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    """If-None-Match against our (strong, quoted) ETag, by weak comparison (RFC 9110 13.1.2).

    ``*`` matches any existing representation; lists and ``W/`` tags are understood.
    """
    if if_none_match == etag:
        return True
    stripped = if_none_match.strip()
    if stripped == b"*":
        return True
    return etag in _ENTITY_TAG.findall(stripped)
