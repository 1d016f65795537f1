"""APIO schedule answers (fixture files) -> VEVENTs: the exact lines icalendar writes."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Event
from support import paths

from icsbridge.converters.apio.convert import (
    REFERENCE_DATE,
    ApioSchedule,
    parse_schedule,
    to_vevents,
)
from icsbridge.converters.apio.wire import Family
from icsbridge.converters.errors import PayloadError

FIXTURES = paths.FIXTURES / "apio"
BRUSSELS = ZoneInfo("Europe/Brussels")
TIMING = ("DTSTART", "DTEND", "RRULE")


def raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def schedule(name: str, family: Family) -> ApioSchedule:
    return parse_schedule(raw(name), family=family, where=name)


def lines(component: Event) -> list[str]:
    """Content lines as written (CRLF, folds undone)."""
    text = component.to_ical().decode("utf-8")
    assert text.endswith("\r\n")
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def timing(name: str, family: Family) -> dict[str, list[str]]:
    """SUMMARY -> its DTSTART/DTEND/RRULE lines, for every period of a fixture."""
    result = {}
    for converted in to_vevents(schedule(name, family), family=family, tz=BRUSSELS, owner="g"):
        written = lines(converted.component)
        summary = next(line for line in written if line.startswith("SUMMARY:"))
        result[summary.removeprefix("SUMMARY:")] = [
            line for line in written if line.split(":")[0].split(";")[0] in TIMING
        ]
    return result


def test_seed_schedule_exact_vevents() -> None:
    converted = to_vevents(
        schedule("seed_time_schedule", "time"), family="time", tz=BRUSSELS, owner='group "foogroup"'
    )
    assert [c.native_key for c in converted] == [
        "APIO Test Group Period 1",
        "APIO Test Group Period 2",
    ]
    assert [lines(c.component) for c in converted] == [
        [
            "BEGIN:VEVENT",
            "SUMMARY:APIO Test Group Period 1",
            "DTSTART;TZID=Europe/Brussels:20240105T103000",
            "DTEND;TZID=Europe/Brussels:20240105T123000",
            "RRULE:FREQ=WEEKLY;BYDAY=FR",
            "CATEGORIES:Time schedule,APIO Test Time Schedule",
            'DESCRIPTION:APIO time schedule "APIO Test Time Schedule" of group "foogroup"',
            "TRANSP:TRANSPARENT",
            "X-ICSBRIDGE-APIO-FAMILY:time",
            "END:VEVENT",
        ],
        [
            "BEGIN:VEVENT",
            "SUMMARY:APIO Test Group Period 2",
            "DTSTART;TZID=Europe/Brussels:20240110T094500",
            "DTEND;TZID=Europe/Brussels:20240110T131500",
            "RRULE:FREQ=MONTHLY;BYMONTHDAY=10",
            "CATEGORIES:Time schedule,APIO Test Time Schedule",
            'DESCRIPTION:APIO time schedule "APIO Test Time Schedule" of group "foogroup"'
            "\\nInactive period (APIO active: false).",
            "STATUS:CANCELLED",
            "TRANSP:TRANSPARENT",
            "X-ICSBRIDGE-APIO-ACTIVE:FALSE",
            "X-ICSBRIDGE-APIO-FAMILY:time",
            "END:VEVENT",
        ],
    ]


def test_weekdays_anchor_on_the_first_matching_day_from_2024_01_01() -> None:
    assert REFERENCE_DATE.isoformat() == "2024-01-01"
    assert timing("time_every_weekday", "time") == {
        "Mon": [
            "DTSTART;TZID=Europe/Brussels:20240101T090000",
            "DTEND;TZID=Europe/Brussels:20240101T170000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO",
        ],
        "Tue": [
            "DTSTART;TZID=Europe/Brussels:20240102T090000",
            "DTEND;TZID=Europe/Brussels:20240102T170000",
            "RRULE:FREQ=WEEKLY;BYDAY=TU",
        ],
        "Wed": [
            "DTSTART;TZID=Europe/Brussels:20240103T090000",
            "DTEND;TZID=Europe/Brussels:20240103T170000",
            "RRULE:FREQ=WEEKLY;BYDAY=WE",
        ],
        "Thu": [
            "DTSTART;TZID=Europe/Brussels:20240104T090000",
            "DTEND;TZID=Europe/Brussels:20240104T170000",
            "RRULE:FREQ=WEEKLY;BYDAY=TH",
        ],
        # A stop before the start ends the next day.
        "Fri": [
            "DTSTART;TZID=Europe/Brussels:20240105T220000",
            "DTEND;TZID=Europe/Brussels:20240106T023000",
            "RRULE:FREQ=WEEKLY;BYDAY=FR",
        ],
        "Sat": [
            "DTSTART;TZID=Europe/Brussels:20240106T000000",
            "DTEND;TZID=Europe/Brussels:20240106T235900",
            "RRULE:FREQ=WEEKLY;BYDAY=SA",
        ],
        "Sun": [
            "DTSTART;TZID=Europe/Brussels:20240107T070500",
            "DTEND;TZID=Europe/Brussels:20240107T080000",
            "RRULE:FREQ=WEEKLY;BYDAY=SU",
        ],
        "Last": [
            "DTSTART;TZID=Europe/Brussels:20240131T180000",
            "DTEND;TZID=Europe/Brussels:20240201T000000",
            "RRULE:FREQ=MONTHLY;BYMONTHDAY=31",
        ],
    }


def test_hours_with_and_without_a_leading_zero_read_the_same() -> None:
    periods = {p.name: p for p in schedule("time_every_weekday", "time").periods}
    assert periods["Mon"].to_wire()["startTime"] == periods["Tue"].to_wire()["startTime"] == "9:00"
    assert periods["Mon"].startTime == periods["Tue"].startTime


def test_the_same_answer_gives_the_same_bytes_whatever_the_day() -> None:
    def render() -> list[bytes]:
        converted = to_vevents(
            schedule("time_every_weekday", "time"), family="time", tz=BRUSSELS, owner="g"
        )
        return [c.component.to_ical() for c in converted]

    assert render() == render()


def test_holidays_full_days_are_all_day_and_partial_days_are_timed() -> None:
    assert timing("holidays_full_and_partial", "holiday") == {
        "New Year": ["DTSTART;VALUE=DATE:20260101", "DTEND;VALUE=DATE:20260102"],
        # Inclusive stopDay -> exclusive DTEND; the times of a full-day period mean nothing.
        "Christmas": ["DTSTART;VALUE=DATE:20261225", "DTEND;VALUE=DATE:20261227"],
        "Christmas Eve": [
            "DTSTART;TZID=Europe/Brussels:20261224T120000",
            "DTEND;TZID=Europe/Brussels:20261224T170000",
        ],
        "Inventory Night": [
            "DTSTART;TZID=Europe/Brussels:20260328T220000",
            "DTEND;TZID=Europe/Brussels:20260329T060000",
        ],
        "Cancelled Closure": ["DTSTART;VALUE=DATE:20260810", "DTEND;VALUE=DATE:20260815"],
    }


def test_an_inactive_holiday_stays_visible_as_cancelled() -> None:
    converted = to_vevents(
        schedule("holidays_full_and_partial", "holiday"), family="holiday", tz=BRUSSELS, owner="g"
    )
    by_name = {c.native_key: lines(c.component) for c in converted}
    assert "STATUS:CANCELLED" in by_name["Cancelled Closure"]
    assert "X-ICSBRIDGE-APIO-ACTIVE:FALSE" in by_name["Cancelled Closure"]
    assert "CATEGORIES:Holiday schedule,Belgian Holidays" in by_name["New Year"]
    assert not any(line.startswith("STATUS") for line in by_name["New Year"])


def test_advanced_patterns_and_ends() -> None:
    assert timing("advanced_every_pattern", "advanced") == {
        "Daily Standup": [
            "DTSTART;TZID=Europe/Brussels:20260302T091500",
            "DTEND;TZID=Europe/Brussels:20260302T093000",
            "RRULE:FREQ=DAILY;COUNT=120",
        ],
        # startDate (a Tuesday) moved to the first occurrence; UNTIL in UTC (summer: +2).
        "Summer Hours": [
            "DTSTART;TZID=Europe/Brussels:20260701T080000",
            "DTEND;TZID=Europe/Brussels:20260701T160000",
            "RRULE:FREQ=WEEKLY;UNTIL=20260831T060000Z;BYDAY=MO,WE,FR",
        ],
        "Weekend Cover": [
            "DTSTART;TZID=Europe/Brussels:20260103T100000",
            "DTEND;TZID=Europe/Brussels:20260103T140000",
            "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,SU;WKST=SU",
        ],
        "Quarterly Review": [
            "DTSTART;TZID=Europe/Brussels:20260115T100000",
            "DTEND;TZID=Europe/Brussels:20260115T113000",
            "RRULE:FREQ=MONTHLY;COUNT=8;INTERVAL=3;BYMONTHDAY=15",
        ],
        "Inventory Day": [
            "DTSTART;TZID=Europe/Brussels:20260105T090000",
            "DTEND;TZID=Europe/Brussels:20260105T170000",
            "RRULE:FREQ=MONTHLY;BYDAY=1MO",
        ],
        "Founders Day": [
            "DTSTART;VALUE=DATE:20260612",
            "DTEND;VALUE=DATE:20260613",
            "RRULE:FREQ=YEARLY;UNTIL=20300612;BYMONTHDAY=12;BYMONTH=6",
        ],
        "Annual Shutdown": [
            "DTSTART;VALUE=DATE:20261225",
            "DTEND;VALUE=DATE:20261226",
            "RRULE:FREQ=YEARLY;BYDAY=-1FR;BYMONTH=12",
        ],
        "Board Meeting": [
            "DTSTART;TZID=Europe/Brussels:20261007T140000",
            "DTEND;TZID=Europe/Brussels:20261007T160000",
        ],
    }


def test_advanced_schedules_may_list_events_under_events() -> None:
    converted = to_vevents(
        schedule("advanced_events_key", "advanced"),
        family="advanced",
        tz=BRUSSELS,
        owner='group "g"',
        kind="holiday",
    )
    written = lines(converted[0].component)
    assert "RRULE:FREQ=YEARLY;BYMONTHDAY=25;BYMONTH=12" in written
    assert "CATEGORIES:Holiday schedule,Recurring Holidays" in written
    assert 'DESCRIPTION:APIO advanced holiday schedule "Recurring Holidays" of group "g"' in written


def test_rename_hint_ignores_the_name_only() -> None:
    periods = schedule("seed_time_schedule", "time").periods
    first = periods[0]
    renamed = first.model_copy(update={"name": "Renamed"})
    moved = first.model_copy(update={"name": "Renamed", "dayOfWeek": 0})

    def hint(period: Any) -> str:
        data = {"name": "S", "periods": [period.to_wire()]}
        sched = parse_schedule(data, family="time", where="-")
        return to_vevents(sched, family="time", tz=BRUSSELS, owner="g")[0].rename_hint

    assert hint(first) == hint(renamed)
    assert hint(first) != hint(moved)
    other_zone = to_vevents(
        parse_schedule({"name": "S", "periods": [first.to_wire()]}, family="time", where="-"),
        family="time",
        tz=ZoneInfo("UTC"),
        owner="g",
    )[0].rename_hint
    assert other_zone != hint(first)


def test_names_only_answer_is_a_payload_error() -> None:
    with pytest.raises(PayloadError) as caught:
        schedule("seed_time_schedule_names", "time")
    assert str(caught.value) == (
        'apio: seed_time_schedule_names: period "APIO Test Group Period 1": field "type": missing'
    )


@pytest.mark.parametrize("case", raw("bad_payloads")["cases"], ids=lambda c: c["message"][:50])
def test_bad_answers_give_one_line(case: dict[str, Any]) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_schedule(case["data"], family=case["family"], where='group "g" schedule "S"')
    assert str(caught.value) == f'apio: group "g" schedule "S": {case["message"]}'
    assert "\n" not in str(caught.value)


def test_not_an_object() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_schedule(["x"], family="time", where="w")
    assert str(caught.value) == 'apio: w: expected a JSON object, got ["x"]'
