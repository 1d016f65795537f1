"""The feed route's I/O-free rules: paths, HTTP dates, entity-tag matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icsbridge.daemon.feeds.tokens import feed_url_path, new_token
from icsbridge.daemon.web.validators import (
    decode_raw_path,
    etag_matches,
    imf_fixdate,
    parse_http_date,
    split_feed_path,
)

SAT_NOV_21 = int(datetime(2026, 11, 21, 10, 0, tzinfo=UTC).timestamp())
ETAG = b'"0f3a"'


@pytest.mark.parametrize(
    "value",
    [
        b"Sat, 21 Nov 2026 10:00:00 GMT",
        b"  Sat, 21 Nov 2026 10:00:00 GMT ",
        b"Saturday, 21-Nov-26 10:00:00 GMT",
        b"Sat Nov 21 10:00:00 2026",
    ],
)
def test_the_three_http_date_forms_parse(value: bytes) -> None:
    assert parse_http_date(value) == SAT_NOV_21


def test_asctime_day_may_be_space_padded() -> None:
    assert parse_http_date(b"Sun Nov  6 08:49:37 1994") == int(
        datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC).timestamp()
    )


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"yesterday",
        b"Sat, 21 Nov 2026 10:00:00 +0000",  # IMF-fixdate is GMT only
        b"Sat, 21 Nov 2026 10:00:00 UTC",
        b"sat, 21 nov 2026 10:00:00 GMT",  # case-sensitive
        b"Sat, 31 Feb 2026 10:00:00 GMT",
        b"Sat, 21 Nov 2026 25:00:00 GMT",
        b"Sat, 21 Foo 2026 10:00:00 GMT",
        b"2026-11-21T10:00:00Z",
        b"Sat, 21 Nov 2026 10:00:00 GMT; length=12",
        b"\xff\xfe",
    ],
)
def test_malformed_http_dates_give_none(value: bytes) -> None:
    assert parse_http_date(value) is None


def test_imf_fixdate_is_utc_and_whole_seconds() -> None:
    paris = timezone(timedelta(hours=1))
    when = datetime(2026, 11, 21, 11, 0, 0, 999_999, tzinfo=paris)
    assert imf_fixdate(when) == "Sat, 21 Nov 2026 10:00:00 GMT"
    with pytest.raises(ValueError, match="naive"):
        imf_fixdate(datetime(2026, 11, 21, 10))


@settings(max_examples=150)
@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1)))
def test_imf_fixdate_parses_back(when: datetime) -> None:
    aware = when.replace(tzinfo=UTC, microsecond=0)
    assert parse_http_date(imf_fixdate(aware).encode()) == int(aware.timestamp())


@pytest.mark.parametrize(
    "header",
    [
        b'"0f3a"',
        b'W/"0f3a"',
        b"*",
        b" * ",
        b'"other", "0f3a"',
        b'"other",W/"0f3a" ,"more"',
        b'"a","0f3a","b"',
    ],
)
def test_if_none_match_that_matches(header: bytes) -> None:
    assert etag_matches(header, ETAG)


@pytest.mark.parametrize(
    "header",
    [b'"0f3b"', b"0f3a", b'"other", W/"0f3ab"', b"", b'"0f3a', b'*, "x"', b'"W/0f3a"'],
)
def test_if_none_match_that_does_not(header: bytes) -> None:
    assert not etag_matches(header, ETAG)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/feeds/tok/support-hours.ics", ("tok", "support-hours")),
        (
            "/feeds/tok/hq/locations/Paris%20HQ/holidays/French%20Holidays.ics",
            ("tok", "hq/locations/Paris HQ/holidays/French Holidays"),
        ),
        ("/feeds/t%6Fk/%73upport-hours%2Eics", ("tok", "support-hours")),
        ("/feeds/tok/Z%C3%BCrich.ics", ("tok", "Zürich")),
        ("/feeds/tok/a.b.ics", ("tok", "a.b")),
    ],
)
def test_feed_paths_split_and_decode_per_segment(path: str, expected: tuple[str, str]) -> None:
    assert split_feed_path(path, encoded=True) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/tok/hq/../support-hours.ics",
        "/feeds/tok/hq/%2E%2E/support-hours.ics",
        "/feeds/tok/hq%2F..%2Fsupport-hours.ics",
        "/feeds/tok/../tok/x.ics",
        "/feeds/tok/./x.ics",
        "/feeds/tok/..ics",
        "/feeds/tok//x.ics",
        "/feeds/tok/x/.ics",
        "/feeds/tok/.ics",
        "/feeds//x.ics",
        "/feeds/tok/x.ICS",
        "/feeds/tok/x.ics/",
        "/feeds/tok",
        "/feeds/x.ics",
        "/other/tok/x.ics",
        "/feeds/tok/%FF.ics",
    ],
)
def test_bad_feed_paths_are_refused(path: str) -> None:
    assert split_feed_path(path, encoded=True) is None


def test_decoded_paths_are_not_decoded_twice() -> None:
    assert split_feed_path("/feeds/tok/100%25.ics", encoded=False) == ("tok", "100%25")
    assert split_feed_path("/feeds/tok/100%25.ics", encoded=True) == ("tok", "100%")


def test_raw_paths_must_be_utf8() -> None:
    assert decode_raw_path(b"/feeds/t/x.ics") == "/feeds/t/x.ics"
    assert decode_raw_path("/feeds/t/Zürich.ics".encode()) == "/feeds/t/Zürich.ics"
    assert decode_raw_path(b"/feeds/t/\xff.ics") is None


_SEGMENT = st.text(
    st.characters(codec="utf-8", exclude_characters="/"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))


@settings(max_examples=150)
@given(st.lists(_SEGMENT, min_size=1, max_size=6))
def test_url_paths_split_back_to_the_feed_name(segments: list[str]) -> None:
    name = "/".join(segments)
    token = new_token()
    assert split_feed_path(feed_url_path(token, name), encoded=True) == (token, name)
