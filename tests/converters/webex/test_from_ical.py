"""VEVENT -> Webex write payload, and the words UnsupportedByTarget uses to refuse."""

from __future__ import annotations

import json
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Event
from support import paths

from icsbridge.converters.errors import UnsupportedByTarget
from icsbridge.converters.webex.convert import (
    Level,
    WebexEvent,
    from_vevent,
    parse_schedule,
    to_vevents,
)

FIXTURES = paths.FIXTURES / "webex"
PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def vevent(*content: str) -> Event:
    text = "\r\n".join(["BEGIN:VEVENT", "UID:ev-1@example.org", *content, "END:VEVENT", ""])
    return Event.from_ical(text)


def timed(*content: str) -> list[str]:
    return [
        "SUMMARY:Day_Shift",
        "DTSTART;TZID=Europe/Paris:20240304T080000",
        "DTEND;TZID=Europe/Paris:20240304T170000",
        *content,
    ]


def wire(*content: str, level: Level = "PEOPLE", tz: ZoneInfo = PARIS) -> dict[str, Any]:
    return from_vevent(vevent(*content), level=level, tz=tz).to_wire()


def weekly(*days: str, interval: int = 1) -> dict[str, Any]:
    flags = {name: name in days for name in ("sunday", *WEEKDAYS, "saturday")}
    return {"recurInterval": interval, **flags}


def test_weekly_shift_becomes_the_webex_payload() -> None:
    event = from_vevent(
        vevent(*timed("RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR")), level="PEOPLE", tz=PARIS
    )
    assert isinstance(event, WebexEvent)
    assert event.id is None
    assert event.to_wire() == {
        "name": "Day_Shift",
        "startDate": "2024-03-04",
        "endDate": "2024-03-04",
        "startTime": "08:00",
        "endTime": "17:00",
        "allDayEnabled": False,
        "recurrence": {"recurForEver": True, "recurWeekly": weekly(*WEEKDAYS)},
    }


def test_single_event_in_another_zone_is_converted_to_the_schedule_zone() -> None:
    payload = wire(
        "SUMMARY:Call",
        "DTSTART;TZID=America/New_York:20240304T180000",
        "DTEND:20240305T010000Z",
    )
    assert payload["startDate"] == "2024-03-05"
    assert (payload["startTime"], payload["endDate"], payload["endTime"]) == (
        "00:00",
        "2024-03-05",
        "02:00",
    )


def test_floating_times_are_read_as_schedule_wall_time() -> None:
    payload = wire("SUMMARY:Lunch", "DTSTART:20240304T120000", "DURATION:PT1H30M")
    assert (payload["startTime"], payload["endTime"]) == ("12:00", "13:30")


def test_duration_days_are_calendar_days_across_dst() -> None:
    payload = wire("SUMMARY:Trip", "DTSTART;TZID=Europe/Paris:20240330T100000", "DURATION:P1DT2H")
    assert (payload["endDate"], payload["endTime"]) == ("2024-03-31", "12:00")


def test_no_dtend_means_zero_length_or_one_day() -> None:
    assert wire("SUMMARY:Ping", "DTSTART;TZID=Europe/Paris:20240304T080000")["endTime"] == "08:00"
    all_day = wire("SUMMARY:Holiday", "DTSTART;VALUE=DATE:20240501")
    assert (all_day["startDate"], all_day["endDate"], all_day["allDayEnabled"]) == (
        "2024-05-01",
        "2024-05-01",
        True,
    )
    assert "startTime" not in all_day


def test_all_day_dtend_is_exclusive_and_equal_dtend_is_refused_not_made_one_day() -> None:
    assert (
        wire("SUMMARY:Break", "DTSTART;VALUE=DATE:20241224", "DTEND;VALUE=DATE:20241227")["endDate"]
        == "2024-12-26"
    )
    # Issue 19 (minor): DTEND = DTSTART became a one-day holiday without a word.
    with pytest.raises(UnsupportedByTarget) as err:
        wire("SUMMARY:Break", "DTSTART;VALUE=DATE:20241224", "DTEND;VALUE=DATE:20241224")
    assert str(err.value) == (
        "event ev-1@example.org: Webex person schedule cannot hold: an all-day event of zero "
        "days (DTEND;VALUE=DATE:20241224, its DTSTART; RFC 5545 wants a later end); for a "
        "one-day event give DTEND;VALUE=DATE:20241225"
    )
    no_end = wire("SUMMARY:Break", "DTSTART;VALUE=DATE:20241224")  # RFC 5545: one day
    assert no_end["endDate"] == "2024-12-24"


def test_recurring_event_in_a_zone_with_the_same_offsets_is_accepted() -> None:
    payload = wire(
        "SUMMARY:Standup",
        "DTSTART;TZID=Europe/Berlin:20240304T093000",
        "DTEND;TZID=Europe/Berlin:20240304T094500",
        "RRULE:FREQ=DAILY;INTERVAL=2;COUNT=5",
    )
    assert payload["startTime"] == "09:30"
    assert payload["recurrence"] == {"recurEndOccurrence": 5, "recurDaily": {"recurInterval": 2}}


@pytest.mark.parametrize(
    ("until", "end_date"),
    [
        ("20240426T053000Z", "2024-04-26"),  # exactly the last start, in UTC
        ("20240426T052959Z", "2024-04-25"),  # one second before it
        ("20240426T235959Z", "2024-04-26"),  # late in the UTC day
        ("20240426", "2024-04-26"),  # a DATE (wrong type for a timed DTSTART, still clear)
        ("20240426T073000", "2024-04-26"),  # local, read as wall time like a floating one
    ],
)
def test_until_becomes_the_date_of_the_last_allowed_start(until: str, end_date: str) -> None:
    payload = wire(
        "SUMMARY:Mornings",
        "DTSTART;TZID=Europe/Paris:20240304T073000",
        "DTEND;TZID=Europe/Paris:20240304T120000",
        f"RRULE:FREQ=WEEKLY;BYDAY=MO,FR;UNTIL={until}",
    )
    assert payload["recurrence"]["recurEndDate"] == end_date
    assert "recurForEver" not in payload["recurrence"]


def test_weekly_without_byday_uses_dtstart_weekday() -> None:
    payload = wire(*timed("RRULE:FREQ=WEEKLY;INTERVAL=3"))
    assert payload["recurrence"]["recurWeekly"] == weekly("monday", interval=3)


def test_interval_two_with_sunday_needs_sunday_weeks() -> None:
    rule = "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,SU"
    start = ["SUMMARY:Rota", "DTSTART;VALUE=DATE:20240302"]
    assert wire(*start, rule + ";WKST=SU")["recurrence"]["recurWeekly"] == weekly(
        "saturday", "sunday", interval=2
    )
    with pytest.raises(UnsupportedByTarget) as caught:
        from_vevent(vevent(*start, rule), level="PEOPLE", tz=PARIS)
    assert caught.value.parts == [
        "WKST=MO with INTERVAL=2 and BYDAY including SU (Webex weeks start on Sunday)"
    ]


def test_yearly_rules_on_a_location() -> None:
    by_date = wire(
        "SUMMARY:Xmas", "DTSTART;VALUE=DATE:20241225", "RRULE:FREQ=YEARLY", level="LOCATION"
    )
    assert by_date["recurrence"] == {
        "recurForEver": True,
        "recurYearlyByDate": {"dayOfMonth": 25, "month": "DECEMBER"},
    }
    by_day = wire(
        "SUMMARY:Memorial",
        "DTSTART;VALUE=DATE:20240527",
        "RRULE:FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO;UNTIL=20301231",
        level="LOCATION",
    )
    assert by_day["recurrence"] == {
        "recurEndDate": "2030-12-31",
        "recurYearlyByDay": {"day": "MONDAY", "week": "LAST", "month": "MAY"},
    }


def test_result_is_a_validated_model() -> None:
    event = from_vevent(vevent(*timed()), level="LOCATION", tz=PARIS)
    assert (event.startDate, event.startTime, event.recurrence) == (date(2024, 3, 4), time(8), None)


def refused(*content: str, level: Level = "PEOPLE") -> list[str]:
    with pytest.raises(UnsupportedByTarget) as caught:
        from_vevent(vevent(*content), level=level, tz=PARIS)
    assert caught.value.uid == "ev-1@example.org"
    assert caught.value.target == (
        "Webex person schedule" if level == "PEOPLE" else "Webex location schedule"
    )
    return caught.value.parts


def test_error_text_lists_every_part_on_one_line() -> None:
    with pytest.raises(UnsupportedByTarget) as caught:
        from_vevent(
            vevent(
                *timed(
                    "RRULE:FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO",
                    "EXDATE;TZID=Europe/Paris:20240311T080000",
                    "RDATE;TZID=Europe/Paris:20240312T080000",
                )
            ),
            level="PEOPLE",
            tz=PARIS,
        )
    assert str(caught.value) == (
        "event ev-1@example.org: Webex person schedule cannot hold: EXDATE; RDATE; BYSETPOS;"
        " monthly recurrence (RRULE FREQ=MONTHLY)"
    )


@pytest.mark.parametrize(
    ("content", "level", "parts"),
    [
        (timed("RRULE:FREQ=DAILY", "RRULE:FREQ=WEEKLY"), "PEOPLE", ["more than one RRULE"]),
        (timed("RECURRENCE-ID;TZID=Europe/Paris:20240304T080000"), "PEOPLE",
         ["RECURRENCE-ID (single-occurrence overrides)"]),
        (timed("RRULE:FREQ=DAILY;COUNT=3"), "LOCATION",
         ["daily recurrence (location schedules)",
          "COUNT (location schedules end only forever or on a date)"]),
        (timed("RRULE:FREQ=YEARLY"), "PEOPLE", ["yearly recurrence (person schedules)"]),
        (timed("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"), "LOCATION",
         ["weekly INTERVAL=2 (location schedules)"]),
        (timed("RRULE:FREQ=WEEKLY;COUNT=3;UNTIL=20240401T000000Z"), "PEOPLE",
         ["COUNT together with UNTIL"]),
        (timed("RRULE:FREQ=WEEKLY;BYMONTHDAY=4"), "PEOPLE", ["BYMONTHDAY with FREQ=WEEKLY"]),
        (timed("RRULE:FREQ=DAILY;BYDAY=MO,TU"), "PEOPLE", ["BYDAY with FREQ=DAILY"]),
        (timed("RRULE:FREQ=WEEKLY;BYDAY=1MO"), "PEOPLE", ["BYDAY 1MO with FREQ=WEEKLY"]),
        (timed("RRULE:FREQ=WEEKLY;BYHOUR=8,12"), "PEOPLE", ["BYHOUR"]),
        (timed("RRULE:FREQ=HOURLY"), "PEOPLE", ["hourly recurrence (RRULE FREQ=HOURLY)"]),
        (timed("RRULE:FREQ=WEEKLY;BYDAY=TU,WE"), "PEOPLE",
         ["DTSTART 2024-03-04 that its RRULE does not select (Webex would drop it)"]),
        (timed("RRULE:FREQ=WEEKLY;UNTIL=20240301T000000Z"), "PEOPLE", ["UNTIL before DTSTART"]),
        (["SUMMARY:Lost", "DTSTART;VALUE=DATE:20240304", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=5MO"],
         "LOCATION", ["BYDAY 5MO (Webex knows FIRST..FOURTH and LAST)"]),
        (["SUMMARY:Lost", "DTSTART;VALUE=DATE:20240304", "RRULE:FREQ=YEARLY;BYDAY=1MO"],
         "LOCATION", ["BYDAY 1MO without BYMONTH (Webex counts weeks in a month)"]),
        (["SUMMARY:Lost", "DTSTART;VALUE=DATE:20240304", "RRULE:FREQ=YEARLY;BYMONTHDAY=4"],
         "LOCATION", ["BYMONTHDAY without BYMONTH in a yearly rule (that repeats monthly)"]),
        (["SUMMARY:Lost", "DTSTART;VALUE=DATE:20240304",
          "RRULE:FREQ=YEARLY;INTERVAL=2;BYMONTH=3,4;BYMONTHDAY=-1"], "LOCATION",
         ["yearly INTERVAL=2", "BYMONTH with more than one month",
          "BYMONTHDAY -1 (Webex counts days from the start of the month)"]),
        (["SUMMARY:Lost", "DTSTART;VALUE=DATE:20240304", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=MO"],
         "LOCATION", ["BYDAY MO without a week number in a yearly rule"]),
        (["SUMMARY:Late", "DTSTART:20240304T080030Z"], "PEOPLE", ["times with seconds"]),
        (["SUMMARY:Back", "DTSTART:20240304T080000Z", "DTEND:20240304T070000Z"], "PEOPLE",
         ["DTEND before DTSTART"]),
        (["SUMMARY:Back", "DTSTART;VALUE=DATE:20240304", "DTEND;VALUE=DATE:20240303"], "PEOPLE",
         ["DTEND before DTSTART"]),
        (["SUMMARY:Both", "DTSTART:20240304T080000Z", "DTEND:20240304T090000Z", "DURATION:PT1H"],
         "PEOPLE", ["both DTEND and DURATION"]),
        (["SUMMARY:Half", "DTSTART;VALUE=DATE:20240304", "DURATION:PT12H"], "PEOPLE",
         ["DURATION with hours on an all-day event"]),
        (["SUMMARY:Mixed", "DTSTART;VALUE=DATE:20240304", "DTEND:20240305T000000Z"], "PEOPLE",
         ["DTEND and DTSTART of different value types (DATE vs DATE-TIME)"]),
        (["SUMMARY:Nothing"], "PEOPLE", ["missing DTSTART"]),
        (["DTSTART;VALUE=DATE:20240304"], "PEOPLE",
         ["missing SUMMARY (a Webex event needs a name)"]),
        (["SUMMARY:Standup", "DTSTART;TZID=America/New_York:20240304T093000",
          "RRULE:FREQ=DAILY"], "PEOPLE",
         ["recurring event in time zone America/New_York; this schedule runs in Europe/Paris"]),
        (["SUMMARY:Standup", "DTSTART:20240304T093000Z", "RRULE:FREQ=DAILY"], "PEOPLE",
         ["recurring event in time zone UTC; this schedule runs in Europe/Paris"]),
        (timed("EXRULE:FREQ=WEEKLY;BYDAY=MO", "RRULE:FREQ=DAILY;X-NAME=1"), "PEOPLE",
         ["EXRULE", "RRULE part X-NAME"]),
    ],
)  # fmt: skip
def test_parts_a_target_cannot_hold_are_named(
    content: list[str], level: Level, parts: list[str]
) -> None:
    assert refused(*content, level=level) == parts


def test_dst_edge_events_come_back_as_they_were_read() -> None:
    data = json.loads((FIXTURES / "person_dst_edges.json").read_text(encoding="utf-8"))
    schedule = parse_schedule(data, where="x")
    by_id = {event.id: event for event in schedule.events}
    for converted in to_vevents(schedule, tz=PARIS, level="PEOPLE", owner_name="o"):
        back = from_vevent(Event.from_ical(converted.component.to_ical()), level="PEOPLE", tz=PARIS)
        original = by_id[converted.native_key]
        if original.allDayEnabled:  # stray times on an all-day event carry no meaning
            original = original.model_copy(update={"startTime": None, "endTime": None})
        assert back == original.model_copy(update={"id": None})


@pytest.mark.parametrize("level", ["PEOPLE", "LOCATION"])
def test_interval_0_is_refused_naming_the_event_not_sent_as_interval_1(level: Level) -> None:
    # Issue 19 (minor): RFC 5545 wants INTERVAL to be a positive integer.
    with pytest.raises(UnsupportedByTarget) as err:
        wire(*timed("RRULE:FREQ=WEEKLY;INTERVAL=0;BYDAY=MO"), level=level)
    who = "person" if level == "PEOPLE" else "location"
    assert str(err.value) == (
        f"event ev-1@example.org: Webex {who} schedule cannot hold: unreadable RRULE "
        "(INTERVAL=0: RFC 5545 wants a positive integer, e.g. 1)"
    )
