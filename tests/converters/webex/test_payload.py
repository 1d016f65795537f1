"""Webex payload models: strict parsing, one-line PayloadError texts, exact wire JSON."""

from __future__ import annotations

import copy
import json
from datetime import date, time
from typing import Any

import pytest
from support import paths

from icsbridge.converters.errors import PayloadError
from icsbridge.converters.webex.convert import WebexEvent, WebexRecurrence, parse_schedule

FIXTURES = paths.FIXTURES / "webex"
WHERE = 'schedule "Office hours" (businessHours)'
PREFIX = f"webex: {WHERE}: "
SCHEDULE_FIXTURES = sorted(path.name for path in FIXTURES.glob("*.json") if "seed" not in path.name)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def seed_schedule() -> dict[str, Any]:
    """The API documentation's sample event, untouched, inside a schedule answer."""
    return {
        "id": "U0NIRURVTEU",
        "name": "Office hours",
        "type": "businessHours",
        "events": [load("seed_day_shift_event.json")],
    }


def weekly_schedule() -> dict[str, Any]:
    """The seed sample made well-formed: weekly Wednesdays only, forever."""
    data = seed_schedule()
    del data["events"][0]["recurrence"]["recurDaily"]
    return data


def problem(data: object) -> str:
    with pytest.raises(PayloadError) as caught:
        parse_schedule(data, where=WHERE)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("name", SCHEDULE_FIXTURES)
def test_fixture_parses_and_serialises_back_to_the_same_wire_json(name: str) -> None:
    data = load(name)
    assert parse_schedule(data, where=WHERE).to_wire() == data


def test_seed_sample_has_two_patterns_and_is_refused() -> None:
    assert problem(seed_schedule()) == (
        PREFIX + 'event "Day_Shift": field "recurrence": has both recurDaily and recurWeekly'
        " (an unknown recurrence shape)"
    )


def test_seed_sample_end_fields_follow_precedence_forever_first() -> None:
    event = parse_schedule(weekly_schedule(), where=WHERE).events[0]
    assert event.recurrence is not None
    assert event.recurrence.end_date is None
    assert event.recurrence.end_count is None
    # The redundant end fields stay on the wire: we echo what the API sent.
    assert event.to_wire()["recurrence"]["recurEndOccurrence"] == 1


def test_end_date_wins_over_occurrence_count_when_not_forever() -> None:
    recurrence = WebexRecurrence.model_validate(
        {
            "recurForEver": False,
            "recurEndDate": "2020-04-01",
            "recurEndOccurrence": 3,
            "recurDaily": {"recurInterval": 1},
        }
    )
    assert (recurrence.end_date, recurrence.end_count) == (date(2020, 4, 1), None)


def test_unknown_fields_are_ignored_known_ones_kept() -> None:
    data = weekly_schedule()
    data["level"] = "PEOPLE"
    data["events"][0]["color"] = "blue"
    data["events"][0]["recurrence"]["recurWeekly"]["holidaysObserved"] = True
    schedule = parse_schedule(data, where=WHERE)
    wire = schedule.to_wire()
    assert "level" not in wire
    assert "color" not in wire["events"][0]
    assert wire["events"][0]["startTime"] == "08:00"


def test_to_wire_leaves_out_none_and_writes_text_dates_and_times() -> None:
    event = WebexEvent(
        name="Lunch",
        startDate=date(2024, 5, 2),
        endDate=date(2024, 5, 2),
        startTime=time(12, 0),
        endTime=time(13, 5),
    )
    assert event.to_wire() == {
        "name": "Lunch",
        "startDate": "2024-05-02",
        "endDate": "2024-05-02",
        "startTime": "12:00",
        "endTime": "13:05",
        "allDayEnabled": False,
    }


def mutate(path: list[str | int], value: object) -> dict[str, Any]:
    """weekly_schedule() with the value at path replaced (a missing marker deletes it)."""
    data = weekly_schedule()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is MISSING:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


MISSING = object()
EVENT = ["events", 0]
RECURRENCE = [*EVENT, "recurrence"]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            [*EVENT, "startTime"],
            "8:00",
            'event "Day_Shift": field "startTime": "8:00" is not a time HH:MM (24 h)',
        ),
        (
            [*EVENT, "endTime"],
            "24:00",
            'event "Day_Shift": field "endTime": "24:00" is not a time HH:MM (24 h)',
        ),
        (
            [*EVENT, "endTime"],
            "17:00:00",
            'event "Day_Shift": field "endTime": "17:00:00" is not a time HH:MM (24 h)',
        ),
        (
            [*EVENT, "startDate"],
            "2020-3-18",
            'event "Day_Shift": field "startDate": "2020-3-18" is not a date YYYY-MM-DD',
        ),
        (
            [*EVENT, "startDate"],
            "2020-02-30",
            'event "Day_Shift": field "startDate": "2020-02-30" is not a date YYYY-MM-DD',
        ),
        ([*EVENT, "startDate"], MISSING, 'event "Day_Shift": field "startDate": missing'),
        (
            [*EVENT, "allDayEnabled"],
            "false",
            'event "Day_Shift": field "allDayEnabled": "false" is not true or false',
        ),
        (
            [*EVENT, "endTime"],
            MISSING,
            'event "Day_Shift": field "endTime": missing (needed unless allDayEnabled is true)',
        ),
        (
            [*EVENT, "endTime"],
            "07:00",
            'event "Day_Shift": field "endTime": the event ends (2020-03-18 07:00)'
            " before it starts (2020-03-18 08:00)",
        ),
        (
            [*EVENT, "endDate"],
            "2020-03-17",
            'event "Day_Shift": field "endDate": 2020-03-17 is before startDate 2020-03-18',
        ),
        ([*EVENT, "name"], 7, 'event #1: field "name": 7 is not a string'),
        (
            RECURRENCE,
            {"recurEndDate": "2020-03-17", "recurWeekly": {"wednesday": True}},
            'event "Day_Shift": field "recurrence": no occurrence from startDate 2020-03-18'
            " on or before recurEndDate 2020-03-17",
        ),
        (
            RECURRENCE,
            {"recurWeekly": {"monday": True}},
            'event "Day_Shift": field "recurrence": has no end'
            " (recurForEver true, recurEndDate or recurEndOccurrence is needed)",
        ),
        (
            RECURRENCE,
            {"recurForEver": True},
            'event "Day_Shift": field "recurrence": has no pattern'
            " (one of recurDaily, recurWeekly, recurYearlyByDate, recurYearlyByDay is needed)",
        ),
        (
            [*RECURRENCE, "recurWeekly", "wednesday"],
            False,
            'event "Day_Shift": field "recurrence.recurWeekly": selects no day of the week',
        ),
        (
            [*RECURRENCE, "recurWeekly", "recurInterval"],
            0,
            'event "Day_Shift": field "recurrence.recurWeekly.recurInterval": 0:'
            " input should be greater than or equal to 1",
        ),
        (
            [*RECURRENCE, "recurYearlyByDate"],
            {"dayOfMonth": 25, "month": "DECEMBER"},
            'event "Day_Shift": field "recurrence": has both recurWeekly and recurYearlyByDate'
            " (an unknown recurrence shape)",
        ),
        (
            RECURRENCE,
            {"recurForEver": True, "recurYearlyByDate": {"dayOfMonth": 30, "month": "FEBRUARY"}},
            'event "Day_Shift": field "recurrence.recurYearlyByDate": FEBRUARY has no day 30',
        ),
        (
            RECURRENCE,
            {
                "recurForEver": True,
                "recurYearlyByDay": {"day": "MON", "week": "FIRST", "month": "MAY"},
            },
            'event "Day_Shift": field "recurrence.recurYearlyByDay.day": "MON": input should be'
            " 'SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY' or 'SATURDAY'",
        ),
        (
            ["type"],
            "weekly",
            "field \"type\": \"weekly\": input should be 'businessHours' or 'holidays'",
        ),
        (["events"], {}, 'field "events": {} is not a JSON array'),
        (EVENT, "Day_Shift", 'event #1: "Day_Shift" is not a JSON object'),
        (["id"], MISSING, 'field "id": missing'),
        ([*EVENT, "id"], MISSING, 'event "Day_Shift": field "id": missing'),
    ],
)
def test_malformed_payload_gives_one_exact_line(
    path: list[str | int], value: object, expected: str
) -> None:
    assert problem(mutate(path, value)) == PREFIX + expected


def test_not_an_object() -> None:
    assert problem([1, 2]) == PREFIX + "expected a JSON object, got [1, 2]"


def test_event_names_and_ids_are_unique() -> None:
    data = weekly_schedule()
    twin = copy.deepcopy(data["events"][0])
    data["events"].append(twin)
    assert (
        problem(data)
        == PREFIX + 'event "Day_Shift": field "id": "' + twin["id"] + '" is used twice'
    )
    twin["id"] = "T1RIRVI"
    assert problem(data) == PREFIX + 'event "Day_Shift": the name is used by two events'


def test_a_schedule_answer_without_events_is_malformed_not_empty() -> None:
    # Read as "no events", four holiday calendars were published empty with health 200.
    # webex.md: GET .../{type}/{scheduleId} -> {id,name,type,events:[...]}, always.
    data = json.loads((FIXTURES / "malformed" / "holidays_without_events.json").read_text())
    where = 'schedule "French Holidays" (holidays) of location Paris HQ'
    with pytest.raises(PayloadError) as caught:
        parse_schedule(data, where=where)
    assert str(caught.value) == f'webex: {where}: field "events": missing'
    # An empty list is a schedule without events, as before.
    assert parse_schedule({**data, "events": []}, where=where).events == []


def test_python_values_must_be_whole_minutes() -> None:
    with pytest.raises(ValueError, match="12:00:30 is not a whole minute wall-clock time"):
        WebexEvent(
            name="x",
            startDate=date(2024, 1, 1),
            endDate=date(2024, 1, 1),
            startTime=time(12, 0, 30),
            endTime=time(13, 0),
        )
