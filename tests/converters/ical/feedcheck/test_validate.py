"""validate_feed: each ICALENDAR.md check has a hand-written bad feed under
tests/fixtures/ics/<problem>.ics that differs from valid_minimal.ics by that one problem."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from support import paths

from icsbridge.converters.ical.assembly import validate_feed

FIXTURES = paths.FIXTURES / "ics"
VALID = (FIXTURES / "valid_minimal.ics").read_bytes()


def problems(name: str) -> list[str]:
    return validate_feed((FIXTURES / f"{name}.ics").read_bytes())


def test_valid_minimal_has_no_problem() -> None:
    assert problems("valid_minimal") == []


def test_empty_feed() -> None:
    assert validate_feed(b"") == ["feed: empty (not even BEGIN:VCALENDAR)"]


def test_not_a_calendar() -> None:
    assert validate_feed(b"<html>hello</html>\r\n") == [
        "feed: line 1: not a content line",
        "feed: 0 VCALENDAR objects (a feed holds one)",
    ]


def test_component_without_end() -> None:
    data = VALID.replace(b"END:VEVENT\r\nEND:VCALENDAR", b"END:VCALENDAR")
    assert validate_feed(data) == [
        'event "holiday@test": line 39: END:VCALENDAR out of place',
        "calendar: BEGIN:VCALENDAR at line 1 has no END",
        'event "holiday@test": BEGIN:VEVENT at line 32 has no END',
    ]


def test_not_utf8() -> None:
    data = VALID.replace(b"SUMMARY:Christmas", b"SUMMARY:No\xe9l")
    assert validate_feed(data) == ['event "holiday@test": line 38: not valid UTF-8']


def test_every_problem_is_one_line() -> None:
    for path in FIXTURES.glob("*.ics"):
        assert all(
            "\n" not in line and "\r" not in line for line in validate_feed(path.read_bytes())
        )


@settings(max_examples=150, deadline=None)
@given(
    cut=st.integers(min_value=0, max_value=len(VALID)),
    insert=st.binary(max_size=12),
    drop=st.integers(min_value=0, max_value=40),
)
def test_never_raises_on_damaged_feeds(cut: int, insert: bytes, drop: int) -> None:
    damaged = VALID[:cut] + insert + VALID[cut + drop :]
    found = validate_feed(damaged)
    assert isinstance(found, list)
    assert all(isinstance(line, str) and line for line in found)


def test_attendee_without_organizer() -> None:
    assert problems("attendee_without_organizer") == [
        'event "holiday@test": has ATTENDEE but no ORGANIZER'
    ]


def test_date_without_value_date() -> None:
    assert problems("date_without_value_date") == [
        'event "holiday@test": DTSTART 20241225 is a date without VALUE=DATE'
    ]


def test_dtend_and_duration() -> None:
    assert problems("dtend_and_duration") == ['event "holiday@test": has both DTEND and DURATION']


def test_dtend_not_after_dtstart() -> None:
    assert problems("dtend_not_after_dtstart") == [
        'event "weekly@test": DTEND is not later than DTSTART (a zero-length event has no DTEND)'
    ]


def test_dtend_type_differs() -> None:
    assert problems("dtend_type_differs") == [
        'event "holiday@test": DTEND is a UTC DATE-TIME but DTSTART is a DATE'
    ]


def test_dtstamp_not_utc() -> None:
    assert problems("dtstamp_not_utc") == [
        'event "weekly@test": DTSTAMP 20240101T000000 is not a UTC date-time (needs Z)'
    ]


def test_dtstart_missing() -> None:
    assert problems("dtstart_missing") == ['event "holiday@test": no DTSTART']


def test_duplicate_uid() -> None:
    assert problems("duplicate_uid") == [
        'event "weekly@test": UID used by 2 events (only RECURRENCE-ID overrides may share a UID)'
    ]


def test_empty_description() -> None:
    assert problems("empty_description") == [
        'event "holiday@test": line 39: DESCRIPTION is empty (leave the property out)'
    ]


def test_exdate_tzid_differs() -> None:
    assert problems("exdate_tzid_differs") == [
        'event "weekly@test": EXDATE 20240311T080000Z is a UTC DATE-TIME; DTSTART is a '
        "DATE-TIME with TZID=Europe/Paris"
    ]


def test_fold_inside_utf8() -> None:
    assert problems("fold_inside_utf8") == [
        'event "holiday@test": line 38: folded inside a UTF-8 sequence'
    ]


def test_last_line_without_crlf() -> None:
    assert problems("last_line_without_crlf") == [
        "calendar: line 40: the last line does not end in CRLF"
    ]


def test_line_ends_in_bare_lf() -> None:
    assert problems("line_ends_in_bare_lf") == [
        'event "holiday@test": line 38: ends in a bare LF or CR, not CRLF'
    ]


def test_line_too_long() -> None:
    assert problems("line_too_long") == ['event "holiday@test": line 38: 78 octets (fold at 75)']


def test_method_present() -> None:
    assert problems("method_present") == [
        "calendar: METHOD:REQUEST present (a feed has none: Outlook reads it as an invitation)"
    ]


def test_negative_duration() -> None:
    assert problems("negative_duration") == ['event "holiday@test": DURATION -P1D is negative']


def test_override_without_master() -> None:
    assert problems("override_without_master") == [
        'event "holiday@test" (RECURRENCE-ID 20251225): override without its master '
        "event in the feed"
    ]


def test_prodid_missing() -> None:
    assert problems("prodid_missing") == ["calendar: PRODID appears 0 times (must be once)"]


def test_rdate_date_on_timed_event() -> None:
    assert problems("rdate_date_on_timed_event") == [
        'event "weekly@test": RDATE 20240314 is a DATE; DTSTART is a DATE-TIME with '
        "TZID=Europe/Paris"
    ]


def test_recurrence_id_type_differs() -> None:
    assert problems("recurrence_id_type_differs") == [
        'event "holiday@test" (RECURRENCE-ID 20251225T000000Z): RECURRENCE-ID is a UTC '
        "DATE-TIME; the master's DTSTART is a DATE"
    ]


def test_refresh_interval_without_value_duration() -> None:
    assert problems("refresh_interval_without_value_duration") == [
        "calendar: REFRESH-INTERVAL lacks VALUE=DURATION (RFC 7986)"
    ]


def test_rrule_count_and_until() -> None:
    assert problems("rrule_count_and_until") == [
        'event "holiday@test": RRULE has both COUNT and UNTIL'
    ]


def test_rrule_does_not_parse() -> None:
    assert problems("rrule_does_not_parse") == [
        "event \"holiday@test\": RRULE FREQ=YEARLY;BYDAY=XX does not parse: invalid 'BYDAY': XX"
    ]


def test_rrule_without_freq() -> None:
    assert problems("rrule_without_freq") == ['event "holiday@test": RRULE BYMONTH=12 has no FREQ']


def test_two_rrules() -> None:
    assert problems("two_rrules") == ['event "holiday@test": 2 RRULEs (at most one)']


def test_tzid_utc() -> None:
    assert problems("tzid_utc") == [
        'event "holiday@test": line 35: DTSTART;TZID=UTC (write UTC times with Z, never a TZID)'
    ]


def test_tzid_without_vtimezone() -> None:
    assert problems("tzid_without_vtimezone") == [
        'event "weekly@test": TZID "Europe/Paris" has no VTIMEZONE (DTSTART, DTEND)'
    ]


def test_uid_missing() -> None:
    assert problems("uid_missing") == ["event at line 24 (no UID): no UID"]


def test_until_not_date_for_all_day() -> None:
    assert problems("until_not_date_for_all_day") == [
        'event "holiday@test": RRULE UNTIL 20301225T000000Z is a UTC DATE-TIME; DTSTART wants DATE'
    ]


def test_until_not_utc_with_tzid() -> None:
    assert problems("until_not_utc_with_tzid") == [
        'event "weekly@test": RRULE UNTIL 20240624T090000 is a floating DATE-TIME; '
        "DTSTART wants UTC DATE-TIME"
    ]


def test_version_twice() -> None:
    assert problems("version_twice") == ["calendar: VERSION appears 2 times (must be once)"]


def test_vtimezone_rdate_list() -> None:
    assert problems("vtimezone_rdate_list") == [
        'VTIMEZONE "Europe/Paris": line 21: RDATE list in DAYLIGHT (ical.js reads only '
        "its first value; use RRULE blocks)"
    ]


def test_vtimezone_until_not_utc() -> None:
    assert problems("vtimezone_until_not_utc") == [
        'VTIMEZONE "Europe/Paris": line 21: RRULE UNTIL 20300331T020000 in DAYLIGHT is not UTC '
        "(RFC 5545 wants Z in a VTIMEZONE)"
    ]


def test_text_bare_comma() -> None:
    assert problems("text_bare_comma") == [
        'event "holiday@test": line 38: SUMMARY has a bare comma (escape it as \\,)'
    ]


def test_text_bare_semicolon() -> None:
    assert problems("text_bare_semicolon") == [
        'event "holiday@test": line 38: SUMMARY has a bare semicolon (escape it as \\;)'
    ]


def test_text_bare_backslash() -> None:
    assert problems("text_bare_backslash") == [
        'event "holiday@test": line 38: SUMMARY has a bare backslash (escape it as \\\\)'
    ]


def test_categories_commas_separate_values() -> None:
    data = VALID.replace(b"SUMMARY:Christmas", b"SUMMARY:Christmas\r\nCATEGORIES:Holiday,Closed")
    assert validate_feed(data) == []


def test_vtodo_problems_are_reported() -> None:
    data = (FIXTURES / "vtodo_problems.ics").read_bytes()
    problems = validate_feed(data)
    assert 'to-do "todo-1@test": has both DUE and DURATION' in problems
    assert 'to-do "todo-1@test": DUE is not later than DTSTART' in problems
    assert "to-do at line 12 (no UID): no UID" in problems
    assert any("is not a UTC date-time" in p and "to-do at line 12" in p for p in problems)
