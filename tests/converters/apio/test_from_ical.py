"""VEVENT -> APIO period payloads, and the words UnsupportedByTarget uses to refuse."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Event

from icsbridge.converters.apio.convert import from_vevent
from icsbridge.converters.apio.wire import Family
from icsbridge.converters.errors import UnsupportedByTarget

BRUSSELS = ZoneInfo("Europe/Brussels")
ADVANCED = "(the advanced family can hold it)"


def vevent(*content: str) -> Event:
    text = "\r\n".join(["BEGIN:VEVENT", "UID:ev-1@example.org", *content, "END:VEVENT", ""])
    return Event.from_ical(text)


def timed(*content: str, start: str = "20260306T103000", end: str = "20260306T123000") -> list[str]:
    return [
        "SUMMARY:Lunch Desk",
        f"DTSTART;TZID=Europe/Brussels:{start}",
        f"DTEND;TZID=Europe/Brussels:{end}",
        *content,
    ]


def wire(*content: str, family: Family = "time") -> dict[str, Any]:
    return from_vevent(vevent(*content), family=family, tz=BRUSSELS).to_wire()


def refused(*content: str, family: Family = "time") -> list[str]:
    with pytest.raises(UnsupportedByTarget) as caught:
        from_vevent(vevent(*content), family=family, tz=BRUSSELS)
    assert str(caught.value).startswith("event ev-1@example.org: APIO ")
    return caught.value.parts


def test_weekly_on_one_day_is_a_day_of_the_week_period() -> None:
    # Written by a calendar app on a date of its own: the day, times and rule are kept.
    assert wire(*timed("RRULE:FREQ=WEEKLY;BYDAY=FR")) == {
        "name": "Lunch Desk",
        "type": "Day of the week",
        "dayOfWeek": "Friday",
        "startTime": "10:30",
        "stopTime": "12:30",
        "active": True,
    }
    assert wire(*timed("RRULE:FREQ=WEEKLY"))["dayOfWeek"] == "Friday"


def test_monthly_on_one_date_is_a_day_of_the_month_period() -> None:
    content = timed(
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=10", start="20260310T094500", end="20260310T131500"
    )
    assert wire(*content) == {
        "name": "Lunch Desk",
        "type": "Day of the month",
        "dayOfMonth": 10,
        "startTime": "9:45",
        "stopTime": "13:15",
        "active": True,
    }


def test_overnight_period_ends_the_next_day() -> None:
    content = timed("RRULE:FREQ=WEEKLY", start="20260306T220000", end="20260307T020000")
    assert (wire(*content)["startTime"], wire(*content)["stopTime"]) == ("22:00", "2:00")


@pytest.mark.parametrize("flag", ["STATUS:CANCELLED", "X-ICSBRIDGE-APIO-ACTIVE:FALSE"])
def test_cancelled_or_flagged_inactive_is_an_inactive_period(flag: str) -> None:
    assert wire(*timed("RRULE:FREQ=WEEKLY", flag))["active"] is False
    assert wire(*timed("RRULE:FREQ=WEEKLY", "STATUS:CONFIRMED"))["active"] is True


def test_time_family_names_each_part_it_cannot_hold() -> None:
    parts = refused(
        *timed(
            "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=5;BYDAY=MO,FR",
            "EXDATE;TZID=Europe/Brussels:20260313T103000",
        )
    )
    assert parts == [
        "EXDATE",
        f"INTERVAL=2 (a time period repeats every week or month) {ADVANCED}",
        f"COUNT=5 (a time period never ends) {ADVANCED}",
        f"more than one weekday (BYDAY=MO,FR) {ADVANCED}",
        "DTSTART 2026-03-06 that its RRULE does not select",
    ]


@pytest.mark.parametrize(
    ("content", "part"),
    [
        (
            timed("RRULE:FREQ=WEEKLY;UNTIL=20261231T000000Z"),
            f"UNTIL (a time period never ends) {ADVANCED}",
        ),
        (timed("RRULE:FREQ=DAILY"), f"daily recurrence (RRULE FREQ=DAILY) {ADVANCED}"),
        (timed("RRULE:FREQ=YEARLY"), f"yearly recurrence (RRULE FREQ=YEARLY) {ADVANCED}"),
        (
            timed("RRULE:FREQ=MONTHLY;BYDAY=1MO", start="20260302T103000", end="20260302T123000"),
            f"BYDAY=1MO with FREQ=MONTHLY (a weekday of the month) {ADVANCED}",
        ),
        (
            timed("RRULE:FREQ=MONTHLY;BYMONTHDAY=6,20"),
            "more than one day of the month (BYMONTHDAY=(6, 20))",
        ),
        (timed("RRULE:FREQ=WEEKLY;BYDAY=MO"), "DTSTART 2026-03-06 that its RRULE does not select"),
        (
            timed(),
            "a single event without RRULE (a time period repeats every week or month; "
            "the holiday family can hold it)",
        ),
        (
            ["SUMMARY:x", "DTSTART;VALUE=DATE:20260306", "RRULE:FREQ=WEEKLY"],
            f"an all-day event (a time period has start and stop times) {ADVANCED}",
        ),
        (
            timed("RRULE:FREQ=WEEKLY", end="20260307T103000"),
            f"an event of a day or longer (a time period lasts under 24 hours) {ADVANCED}",
        ),
        (
            timed("RRULE:FREQ=WEEKLY", end="20260306T103000"),
            "a zero-length event (a period needs a stop after its start)",
        ),
        (
            ["DTSTART;TZID=Europe/Brussels:20260306T103000", "RRULE:FREQ=WEEKLY", "DURATION:PT1H"],
            "missing SUMMARY (a period needs a name)",
        ),
        (
            [
                "SUMMARY:x",
                "DTSTART;TZID=America/New_York:20260306T103000",
                "DURATION:PT1H",
                "RRULE:FREQ=WEEKLY",
            ],
            "recurring event in time zone America/New_York; this schedule runs in Europe/Brussels",
        ),
        (timed("RRULE:FREQ=WEEKLY", "RDATE;TZID=Europe/Brussels:20260310T103000"), "RDATE"),
        (timed("RRULE:FREQ=WEEKLY;BYSETPOS=1"), "BYSETPOS"),
    ],
)
def test_time_family_refusals(content: list[str], part: str) -> None:
    assert part in refused(*content)


def test_holiday_from_all_day_and_timed_events() -> None:
    all_day = ["SUMMARY:Summer", "DTSTART;VALUE=DATE:20260810", "DTEND;VALUE=DATE:20260822"]
    assert wire(*all_day, family="holiday") == {
        "name": "Summer",
        "type": "Full days",
        "startDay": "2026-08-10",
        "stopDay": "2026-08-21",
    }
    partial = timed(start="20261224T120000", end="20261225T080000")
    assert wire(*partial, "STATUS:CANCELLED", family="holiday") == {
        "name": "Lunch Desk",
        "type": "Partial days",
        "startDay": "2026-12-24",
        "stopDay": "2026-12-25",
        "startTime": "12:00",
        "stopTime": "8:00",
        "active": False,
    }
    # A single event in another zone is converted to the groups' wall time.
    utc = ["SUMMARY:x", "DTSTART:20260101T090000Z", "DTEND:20260101T100000Z"]
    assert wire(*utc, family="holiday")["startTime"] == "10:00"


def test_holiday_family_refuses_repetition_and_suggests_advanced() -> None:
    parts = refused(*timed("RRULE:FREQ=YEARLY"), family="holiday")
    assert parts == [f"RRULE (a holiday period happens once) {ADVANCED}"]
    assert refused(*timed(end="20260306T103000"), family="holiday") == [
        "a zero-length event (a partial-day period needs a stop after its start)"
    ]


def test_advanced_family_holds_what_simple_periods_cannot() -> None:
    body = wire(*timed("RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=5;BYDAY=MO,FR"), family="advanced")
    assert body == {
        "name": "Lunch Desk",
        "startDate": "2026-03-06",
        "endDate": "2026-03-06",
        "allDayEvent": False,
        "startTime": "10:30",
        "endTime": "12:30",
        "recurrence": {
            "recurEndOccurrence": 5,
            "recurWeekly": {
                "recurInterval": 2,
                "sunday": False,
                "monday": True,
                "tuesday": False,
                "wednesday": False,
                "thursday": False,
                "friday": True,
                "saturday": False,
            },
        },
    }
    monthly = timed(
        "RRULE:FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20261231T230000Z",
        start="20260327T103000",
        end="20260327T123000",
    )
    assert wire(*monthly, family="advanced")["recurrence"] == {
        "recurEndDate": "2026-12-31",
        "recurMonthlyByWeek": {
            "recurInterval": 1,
            "dayOfWeekInMonth": "Last",
            "dayOfWeek": "Friday",
        },
    }


def test_advanced_family_refusals() -> None:
    assert refused(
        *timed(
            "RRULE:FREQ=WEEKLY", "EXDATE;TZID=Europe/Brussels:20260313T103000", "STATUS:CANCELLED"
        ),
        family="advanced",
    ) == [
        "EXDATE",
        "STATUS:CANCELLED (advanced events have no active flag)",
    ]
    assert "BYDAY 5MO (BroadWorks knows First..Fourth and Last)" in refused(
        *timed("RRULE:FREQ=MONTHLY;BYDAY=5MO", start="20260330T103000", end="20260330T123000"),
        family="advanced",
    )
    assert "hourly recurrence (RRULE FREQ=HOURLY)" in refused(
        *timed("RRULE:FREQ=HOURLY"), family="advanced"
    )


ZERO_DAYS = (
    "an all-day event of zero days (DTEND;VALUE=DATE:20261225, its DTSTART; RFC 5545 wants a "
    "later end); for a one-day event give DTEND;VALUE=DATE:20261226"
)


@pytest.mark.parametrize("family", ["holiday", "advanced"])
def test_an_all_day_event_of_zero_days_is_refused_not_made_a_one_day_holiday(
    family: Family,
) -> None:
    # Issue 19 (minor): DTEND = DTSTART became a one-day holiday without a word.
    zero = ("SUMMARY:Closed", "DTSTART;VALUE=DATE:20261225", "DTEND;VALUE=DATE:20261225")
    assert refused(*zero, family=family) == [ZERO_DAYS]
    no_end = wire("SUMMARY:Closed", "DTSTART;VALUE=DATE:20261225", family=family)
    stop = "stopDay" if family == "holiday" else "endDate"
    assert no_end[stop] == "2026-12-25"  # no DTEND is one day (RFC 5545)
    p0d = ("SUMMARY:Closed", "DTSTART;VALUE=DATE:20261225", "DURATION:P0D")
    assert refused(*p0d, family=family) == [
        ZERO_DAYS.replace("DTEND;VALUE=DATE:20261225", "DURATION:P0D")
    ]


def test_interval_0_is_refused_naming_the_event_not_sent_as_every_week() -> None:
    # Issue 19 (minor): INTERVAL=0 was taken as 1; RFC 5545 wants a positive integer.
    parts = refused(*timed("RRULE:FREQ=WEEKLY;INTERVAL=0;BYDAY=FR"), family="advanced")
    assert parts == ["unreadable RRULE (INTERVAL=0: RFC 5545 wants a positive integer, e.g. 1)"]
    assert refused(*timed("RRULE:FREQ=WEEKLY;INTERVAL=0;BYDAY=FR")) == parts
