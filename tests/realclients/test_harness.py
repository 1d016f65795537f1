"""Prove the real-client harness on hand-written feeds before it judges exported ones.

Every expected list below is computed by hand (offsets noted), not by any of the parsers.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from . import harness
from .harness import (
    PARSERS,
    FeedRejected,
    Occurrences,
    RealClientError,
    RealClientUnavailable,
    assert_parsers_agree,
    occurrences_icaljs,
    occurrences_libical,
    occurrences_python,
    parse_errors_icaljs,
    parse_errors_libical,
    parse_errors_python,
)

pytestmark = pytest.mark.realclients

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ics"
WIDE = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


def fixture(name: str) -> bytes:
    return (FIXTURES / f"realclients_{name}.ics").read_bytes()


def utc(text: str) -> datetime:
    """'2025-03-31 07:00' (UTC) or '2025-01-01' (all-day: that date at 00:00 UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def starts(*texts: str) -> list[datetime]:
    return [utc(t) for t in texts]


CASES: dict[str, tuple[str, tuple[datetime, datetime], Occurrences]] = {
    # Mondays 09:00 Paris: CET (+1) until 2025-03-30, CEST (+2) after; UNTIL (UTC) is the
    # last instance exactly, so it is included.
    "weekly-tzid-across-dst": (
        "weekly_paris_dst",
        WIDE,
        {
            "weekly-paris@realclients.test": starts(
                "2025-03-03 08:00",
                "2025-03-10 08:00",
                "2025-03-17 08:00",
                "2025-03-24 08:00",
                "2025-03-31 07:00",
                "2025-04-07 07:00",
            )
        },
    ),
    # UNTIL as a DATE is inclusive; the last Monday of May moves each year.
    "all-day-yearly-until-date": (
        "allday_yearly",
        WIDE,
        {
            "new-year@realclients.test": starts(
                "2023-01-01", "2024-01-01", "2025-01-01", "2026-01-01"
            ),
            "memorial-day@realclients.test": starts(
                "2024-05-27", "2025-05-26", "2026-05-25", "2027-05-31"
            ),
        },
    ),
    # The window is [start, end): 2026-01-01 00:00 UTC is the end, so New Year 2026 is out.
    "all-day-window-end-is-exclusive": (
        "allday_yearly",
        (utc("2025-01-01"), utc("2026-01-01")),
        {
            "new-year@realclients.test": starts("2025-01-01"),
            "memorial-day@realclients.test": starts("2025-05-26"),
        },
    ),
    # 17:30 New York every other day, 4 times: EDT (-4) on Oct 31, EST (-5) from Nov 2.
    "count-across-us-dst": (
        "count",
        WIDE,
        {
            "every-other-day@realclients.test": starts(
                "2025-10-31 21:30", "2025-11-02 22:30", "2025-11-04 22:30", "2025-11-06 22:30"
            )
        },
    ),
    # Weekdays 09:30 Paris, CEST (+2) until Oct 26, CET (+1) after; EXDATE drops 22 and 28;
    # the override (listed before its master) moves the 30th to 14:00 CET.
    "exdate-and-override": (
        "exdate_override",
        WIDE,
        {
            "standup@realclients.test": starts(
                "2025-10-20 07:30",
                "2025-10-21 07:30",
                "2025-10-23 07:30",
                "2025-10-24 07:30",
                "2025-10-27 08:30",
                "2025-10-29 08:30",
                "2025-10-30 13:00",
                "2025-10-31 08:30",
            )
        },
    ),
    # The window starts on an instance (in) and ends on the moved one (out).
    "exdate-and-override-narrow-window": (
        "exdate_override",
        (utc("2025-10-23 07:30"), utc("2025-10-30 13:00")),
        {
            "standup@realclients.test": starts(
                "2025-10-23 07:30", "2025-10-24 07:30", "2025-10-27 08:30", "2025-10-29 08:30"
            )
        },
    ),
    "utc": (
        "utc",
        WIDE,
        {
            "utc-single@realclients.test": starts("2025-06-15 12:00"),
            "utc-weekly@realclients.test": starts(
                "2025-06-01 06:00", "2025-06-08 06:00", "2025-06-15 06:00"
            ),
        },
    ),
}


@pytest.mark.parametrize("parser", sorted(PARSERS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_each_parser_gives_the_hand_computed_occurrences(case: str, parser: str) -> None:
    name, (start, end), expected = CASES[case]
    assert PARSERS[parser](fixture(name), start, end) == expected


def test_assert_parsers_agree_returns_the_common_answer() -> None:
    _, (start, end), expected = CASES["exdate-and-override"]
    assert assert_parsers_agree(fixture("exdate_override"), start, end) == expected


@pytest.mark.parametrize(
    "name", ["weekly_paris_dst", "allday_yearly", "count", "exdate_override", "utc"]
)
def test_clean_feeds_have_no_parse_errors(name: str) -> None:
    ics = fixture(name)
    assert parse_errors_icaljs(ics) == []
    assert parse_errors_libical(ics) == []
    assert parse_errors_python(ics) == []


def test_malformed_feed_is_reported_by_every_parser() -> None:
    ics = fixture("malformed")
    assert parse_errors_icaljs(ics) == [
        'ical.js: invalid line (no token ";" or ":") "this line has no property name or colon"'
    ]
    assert parse_errors_libical(ics) == [
        "libical: VEVENT broken@realclients.test: COMPONENT-PARSE-ERROR: Got a data line, but "
        "could not find a property name or component begin tag: "
        "this line has no property name or colon"
    ]
    assert "python: VEVENT: DTSTART: Wrong datetime format: 20251341T250000Z" in (
        parse_errors_python(ics)
    )
    for parser in PARSERS.values():
        with pytest.raises(FeedRejected, match="this line has no property name or colon"):
            parser(ics, *WIDE)


def test_libical_reports_its_restriction_check_once_per_message() -> None:
    ics = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
        b"UID:both@realclients.test\r\nDTSTAMP:20250101T000000Z\r\n"
        b"DTSTART:20250101T100000Z\r\nDTEND:20250101T110000Z\r\nDURATION:PT1H\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert parse_errors_libical(ics) == [
        "libical: VEVENT both@realclients.test: INVALID-ITIP: Failed iTIP restrictions for "
        "DTEND property. The component must not have both DURATION and DTEND"
    ]


def test_calendar_vtimezone_is_used_not_the_machine_or_tzdata() -> None:
    # The VTIMEZONE says Europe/Paris is +03:00: ical.js and libical must follow it (09:00 ->
    # 06:00Z); the Python route looks Europe/Paris up in tzdata (+01:00 in January -> 08:00Z).
    ics = fixture("lying_vtimezone")
    uid = "lying-vtimezone@realclients.test"
    assert occurrences_icaljs(ics, *WIDE) == {uid: starts("2025-01-15 06:00")}
    assert occurrences_libical(ics, *WIDE) == {uid: starts("2025-01-15 06:00")}
    assert occurrences_python(ics, *WIDE) == {uid: starts("2025-01-15 08:00")}
    with pytest.raises(AssertionError, match=f"parsers disagree:\nUID {uid}: ical.js:"):
        assert_parsers_agree(ics, *WIDE)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "missing_vtimezone",
            "UID no-vtimezone@realclients.test: DTSTART uses TZID=Europe/Paris but the "
            "calendar has no VTIMEZONE with that TZID",
        ),
        (
            "floating",
            "UID floating@realclients.test: floating time 2025-01-15T09:00:00 (no TZID, no Z)",
        ),
        (
            "stray_override",
            "UID stray-override@realclients.test: RECURRENCE-ID 2025-03-10T09:00:00Z "
            "matches no occurrence",
        ),
    ],
)
@pytest.mark.parametrize("parser", sorted(PARSERS))
def test_feeds_the_harness_cannot_judge_are_refused(name: str, message: str, parser: str) -> None:
    with pytest.raises(FeedRejected) as raised:
        PARSERS[parser](fixture(name), *WIDE)
    assert str(raised.value) == f"{parser}: {message}"


def test_known_disagreement_dtstart_off_the_rule() -> None:
    # RFC 5545 makes DTSTART the first instance even off the rule (the Python route does);
    # ical.js 2.2 and libical 3.0 drop it. Converters must put DTSTART on the rule.
    ics = fixture("dtstart_off_rule")
    rule = starts("2025-03-10 08:00", "2025-03-17 08:00", "2025-03-24 08:00")
    uid = "off-rule@realclients.test"
    assert occurrences_icaljs(ics, *WIDE) == {uid: rule}
    assert occurrences_libical(ics, *WIDE) == {uid: rule}
    assert occurrences_python(ics, *WIDE) == {uid: [utc("2025-03-05 08:00"), *rule]}


def test_known_disagreement_rdate_without_rrule() -> None:
    # ical.js 2.2 leaves DTSTART out when an event has RDATEs but no RRULE.
    ics = fixture("rdate_only")
    rdates = starts("2025-06-10 06:00", "2025-06-20 18:00")
    uid = "rdate-only@realclients.test"
    assert occurrences_icaljs(ics, *WIDE) == {uid: rdates}
    assert occurrences_libical(ics, *WIDE) == {uid: [utc("2025-06-01 06:00"), *rdates]}
    assert occurrences_python(ics, *WIDE) == {uid: [utc("2025-06-01 06:00"), *rdates]}


def test_known_disagreement_wall_times_inside_dst_transitions() -> None:
    # 02:30 Paris does not exist on 2025-03-30 and happens twice on 2025-10-26. RFC 5545:
    # a missing time takes the offset before the gap (01:30Z), an ambiguous one its first
    # occurrence (00:30Z) - the Python route. ical.js takes the offset after the gap;
    # libical gets the gap day right but then stays at 03:30 local; both take the second fold.
    ics = fixture("dst_gap_fold")
    gap, fold = "in-the-gap@realclients.test", "in-the-fold@realclients.test"
    assert occurrences_python(ics, *WIDE) == {
        gap: starts("2025-03-29 01:30", "2025-03-30 01:30", "2025-03-31 00:30"),
        fold: starts("2025-10-25 00:30", "2025-10-26 00:30", "2025-10-27 01:30"),
    }
    assert occurrences_icaljs(ics, *WIDE) == {
        gap: starts("2025-03-29 01:30", "2025-03-30 00:30", "2025-03-31 00:30"),
        fold: starts("2025-10-25 00:30", "2025-10-26 01:30", "2025-10-27 01:30"),
    }
    assert occurrences_libical(ics, *WIDE) == {
        gap: starts("2025-03-29 01:30", "2025-03-30 01:30", "2025-03-31 01:30"),
        fold: starts("2025-10-25 00:30", "2025-10-26 01:30", "2025-10-27 01:30"),
    }


def test_local_until_with_tzid_is_refused_by_the_python_route() -> None:
    ics = fixture("weekly_paris_dst").replace(b"UNTIL=20250407T070000Z", b"UNTIL=20250407T090000")
    with pytest.raises(FeedRejected, match="RRULE UNTIL values must be specified in UTC"):
        occurrences_python(ics, *WIDE)


def test_missing_node_raises_instead_of_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda _name: None)
    with pytest.raises(RealClientUnavailable) as raised:
        occurrences_icaljs(fixture("utc"), *WIDE)
    assert str(raised.value) == ("ical.js: node is not on PATH: run scripts/install-test-deps.sh")


def test_missing_icaljs_package_raises_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(harness, "HERE", tmp_path)
    with pytest.raises(RealClientUnavailable) as raised:
        parse_errors_icaljs(fixture("utc"))
    assert str(raised.value) == (
        f"ical.js: not installed in {tmp_path / 'node_modules'}: run scripts/install-test-deps.sh"
    )


def test_missing_libical_binding_raises_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The venv's python has no gi: the helper itself must say the binding is missing.
    monkeypatch.setattr(harness, "SYSTEM_PYTHON", sys.executable)
    with pytest.raises(RealClientUnavailable, match=r"^libical binding cannot be loaded \("):
        occurrences_libical(fixture("utc"), *WIDE)
    with pytest.raises(RealClientUnavailable, match=r"run scripts/install-test-deps\.sh$"):
        parse_errors_libical(fixture("utc"))


def test_missing_system_python_raises_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(harness, "SYSTEM_PYTHON", str(tmp_path / "python3"))
    with pytest.raises(RealClientUnavailable) as raised:
        occurrences_libical(fixture("utc"), *WIDE)
    assert str(raised.value) == (
        f"libical: {tmp_path / 'python3'} not found: run scripts/install-test-deps.sh"
    )


def test_a_parser_that_does_not_answer_in_time_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(harness, "SUBPROCESS_TIMEOUT_S", 0.001)
    with pytest.raises(RealClientError, match=r"^ical\.js: no answer within 0\.001 s$"):
        occurrences_icaljs(fixture("utc"), *WIDE)


@pytest.mark.parametrize("parser", sorted(PARSERS))
def test_window_must_be_aware_and_non_empty(parser: str) -> None:
    with pytest.raises(ValueError, match="aware datetimes"):
        PARSERS[parser](fixture("utc"), datetime(2025, 1, 1), WIDE[1])
    with pytest.raises(ValueError, match="empty window"):
        PARSERS[parser](fixture("utc"), WIDE[1], WIDE[0])
