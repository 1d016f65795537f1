"""Webex schedule answers (fixture files) -> VEVENTs: the exact lines icalendar writes."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from icalendar import Event
from support import paths

from icsbridge.converters.webex.convert import Level, WebexSchedule, parse_schedule, to_vevents

FIXTURES = paths.FIXTURES / "webex"
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
TIMING = ("DTSTART", "DTEND", "RRULE")


def schedule(name: str) -> WebexSchedule:
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return parse_schedule(data, where=name)


def lines(component: Event) -> list[str]:
    """Content lines as written (CRLF, folds undone)."""
    text = component.to_ical().decode("utf-8")
    assert text.endswith("\r\n")
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def timing(name: str, tz: ZoneInfo = PARIS, level: Level = "PEOPLE") -> dict[str, list[str]]:
    """SUMMARY -> its DTSTART/DTEND/RRULE lines, for every event of a fixture."""
    result = {}
    for converted in to_vevents(schedule(name), tz=tz, level=level, owner_name="Alice Smith"):
        written = lines(converted.component)
        summary = next(line for line in written if line.startswith("SUMMARY:"))
        result[summary.removeprefix("SUMMARY:")] = [
            line for line in written if line.split(":")[0].split(";")[0] in TIMING
        ]
    return result


def test_all_day_holidays_single_multi_day_and_weekly_until_date() -> None:
    assert timing("person_holidays_all_day") == {
        "New_Year": ["DTSTART;VALUE=DATE:20250101", "DTEND;VALUE=DATE:20250102"],
        "Christmas_Break": ["DTSTART;VALUE=DATE:20241224", "DTEND;VALUE=DATE:20241227"],
        "Summer_Fridays": [
            "DTSTART;VALUE=DATE:20240705",
            "DTEND;VALUE=DATE:20240706",
            "RRULE:FREQ=WEEKLY;UNTIL=20240830;BYDAY=FR",
        ],
    }


def test_weekly_shift_monday_to_friday_and_start_moved_to_first_occurrence() -> None:
    assert timing("person_weekly_shift") == {
        "Day_Shift": [
            "DTSTART;TZID=Europe/Paris:20240304T080000",
            "DTEND;TZID=Europe/Paris:20240304T170000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        ],
        "Spring_Mornings": [
            "DTSTART;TZID=Europe/Paris:20240304T073000",
            "DTEND;TZID=Europe/Paris:20240304T120000",
            "RRULE:FREQ=WEEKLY;UNTIL=20240426T053000Z;BYDAY=MO,FR",
        ],
        # startDate 2024-03-17 is a Sunday; the first Monday/Wednesday is the 18th.
        "Late_Desk": [
            "DTSTART;TZID=Europe/Paris:20240318T180000",
            "DTEND;TZID=Europe/Paris:20240318T200000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO,WE",
        ],
    }


def test_weekly_interval_two_says_weeks_start_on_sunday_when_it_matters() -> None:
    assert timing("person_weekly_interval2") == {
        "Alternate_Saturday": [
            "DTSTART;TZID=Europe/Paris:20240302T090000",
            "DTEND;TZID=Europe/Paris:20240302T130000",
            "RRULE:FREQ=WEEKLY;UNTIL=20240629T070000Z;INTERVAL=2;BYDAY=SA",
        ],
        "Weekend_Rota": [
            "DTSTART;TZID=Europe/Paris:20240302T100000",
            "DTEND;TZID=Europe/Paris:20240302T160000",
            "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SA,SU;WKST=SU",
        ],
    }


def test_daily_with_count_and_zero_length_event_without_dtend() -> None:
    assert timing("person_daily_count") == {
        "Induction": [
            "DTSTART;TZID=Europe/Paris:20241021T090000",
            "DTEND;TZID=Europe/Paris:20241021T103000",
            "RRULE:FREQ=DAILY;COUNT=10",
        ],
        "Every_Third_Day": [
            "DTSTART;TZID=Europe/Paris:20241021T140000",
            "RRULE:FREQ=DAILY;UNTIL=20241119T130000Z;INTERVAL=3",
        ],
    }


def test_location_yearly_by_date_and_by_nth_weekday() -> None:
    assert timing("location_yearly_holidays", level="LOCATION") == {
        "Christmas_Day": [
            "DTSTART;VALUE=DATE:20241225",
            "DTEND;VALUE=DATE:20241226",
            "RRULE:FREQ=YEARLY;BYMONTHDAY=25;BYMONTH=12",
        ],
        "Thanksgiving": [
            "DTSTART;VALUE=DATE:20241128",
            "DTEND;VALUE=DATE:20241130",
            "RRULE:FREQ=YEARLY;BYDAY=4TH;BYMONTH=11",
        ],
        "Memorial_Day": [
            "DTSTART;VALUE=DATE:20240527",
            "DTEND;VALUE=DATE:20240528",
            "RRULE:FREQ=YEARLY;UNTIL=20301231;BYDAY=-1MO;BYMONTH=5",
        ],
        "Founders_Lunch": [
            "DTSTART;TZID=Europe/Paris:20240902T120000",
            "DTEND;TZID=Europe/Paris:20240902T140000",
            "RRULE:FREQ=YEARLY;UNTIL=20270901T100000Z;BYDAY=1MO;BYMONTH=9",
        ],
    }


def test_overnight_shift_crosses_midnight() -> None:
    assert timing("person_overnight_shift") == {
        "Night_Shift": [
            "DTSTART;TZID=Europe/Paris:20241021T220000",
            "DTEND;TZID=Europe/Paris:20241022T060000",
            "RRULE:FREQ=WEEKLY;UNTIL=20241107T210000Z;BYDAY=MO,TU,WE,TH",
        ],
        "Saturday_Night": [
            "DTSTART;TZID=Europe/Paris:20241026T230000",
            "DTEND;TZID=Europe/Paris:20241027T070000",
        ],
    }


def test_descriptive_properties_and_no_identity_properties() -> None:
    converted = to_vevents(
        schedule("location_yearly_holidays"), tz=PARIS, level="LOCATION", owner_name="Paris HQ"
    )[0]
    written = lines(converted.component)
    assert written[0] == "BEGIN:VEVENT"
    assert "CATEGORIES:Holidays,HQ holidays" in written
    assert "X-ICSBRIDGE-SCHEDULE-TYPE:holidays" in written
    assert "TRANSP:TRANSPARENT" in written
    assert 'DESCRIPTION:Webex Calling holidays schedule "HQ holidays" of location Paris HQ' in (
        written
    )
    names = {line.split(":")[0].split(";")[0] for line in written}
    assert not names & {"UID", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE"}

    person = to_vevents(
        schedule("person_weekly_shift"), tz=PARIS, level="PEOPLE", owner_name="Alice Smith"
    )[0]
    assert (
        'DESCRIPTION:Webex Calling businessHours schedule "Office hours" of Alice Smith'
        in lines(person.component)
    )
    assert "CATEGORIES:Business hours,Office hours" in lines(person.component)


def test_native_key_is_the_event_id_and_order_is_by_id_whatever_the_input_order() -> None:
    data = json.loads((FIXTURES / "person_weekly_shift.json").read_text(encoding="utf-8"))
    forward = to_vevents(parse_schedule(data, where="x"), tz=PARIS, level="PEOPLE", owner_name="A")
    data["events"].reverse()
    backward = to_vevents(parse_schedule(data, where="x"), tz=PARIS, level="PEOPLE", owner_name="A")
    keys = [converted.native_key for converted in forward]
    assert keys == sorted(event["id"] for event in data["events"])
    assert [c.native_key for c in backward] == keys
    assert [c.component.to_ical() for c in backward] == [c.component.to_ical() for c in forward]
    assert [c.rename_hint for c in backward] == [c.rename_hint for c in forward]


def renamed(data: dict[str, Any], field: str, value: object) -> list[str]:
    data["events"][0][field] = value
    converted = to_vevents(
        parse_schedule(data, where="x"), tz=PARIS, level="PEOPLE", owner_name="A"
    )
    return [c.rename_hint for c in converted if c.native_key == data["events"][0]["id"]]


def test_rename_hint_ignores_the_name_and_id_but_not_the_rest() -> None:
    data = json.loads((FIXTURES / "person_holidays_all_day.json").read_text(encoding="utf-8"))
    original = renamed(data, "name", data["events"][0]["name"])
    assert len(original) == 1
    assert len(original[0]) == 64
    assert renamed(data, "name", "Jour_de_l_An") == original
    assert renamed(data, "endDate", "2025-01-02") != original


# --- UNTIL read back by python-dateutil, across DST changes -------------------------------


def dateutil_occurrences(component: Event) -> list[datetime | date]:
    """What python-dateutil makes of the DTSTART and RRULE lines exactly as written."""
    text = "\n".join(line for line in lines(component) if line.startswith(("DTSTART", "RRULE")))
    return list(rrulestr(text))


def converted_by_name(name: str, tz: ZoneInfo) -> dict[str, Event]:
    return {
        str(c.component["SUMMARY"]): c.component
        for c in to_vevents(schedule(name), tz=tz, level="PEOPLE", owner_name="A")
    }


@pytest.mark.parametrize(
    ("fixture", "summary", "first_wall", "last_wall", "count"),
    [
        # Starts in winter time, ends in summer time (Paris 31 March, New York 10 March).
        ("person_weekly_shift", "Spring_Mornings", "2024-03-04 07:30", "2024-04-26 07:30", 16),
        # Starts in summer time, ends in winter time (Paris 27 Oct, New York 3 Nov); the last
        # occurrence is before recurEndDate (every third day).
        ("person_daily_count", "Every_Third_Day", "2024-10-21 14:00", "2024-11-17 14:00", 10),
        ("person_overnight_shift", "Night_Shift", "2024-10-21 22:00", "2024-11-07 22:00", 12),
        (
            "person_weekly_interval2",
            "Alternate_Saturday",
            "2024-03-02 09:00",
            "2024-06-22 09:00",
            9,
        ),
    ],
)
@pytest.mark.parametrize("tz", [PARIS, NEW_YORK], ids=["paris", "new_york"])
def test_until_is_utc_and_keeps_the_last_occurrence(
    fixture: str, summary: str, first_wall: str, last_wall: str, count: int, tz: ZoneInfo
) -> None:
    component = converted_by_name(fixture, tz)[summary]
    rrule_line = next(line for line in lines(component) if line.startswith("RRULE:"))
    assert re.search(r"UNTIL=[0-9]{8}T[0-9]{6}Z[;]", rrule_line)
    occurrences = dateutil_occurrences(component)
    expected_first = datetime.fromisoformat(first_wall).replace(tzinfo=tz)
    expected_last = datetime.fromisoformat(last_wall).replace(tzinfo=tz)
    assert isinstance(occurrences[0], datetime)
    assert occurrences[0].astimezone(UTC) == expected_first.astimezone(UTC)
    assert occurrences[-1].astimezone(UTC) == expected_last.astimezone(UTC)
    assert len(occurrences) == count
    # Every occurrence keeps the wall time across the DST change.
    assert {o.astimezone(tz).time() for o in occurrences} == {expected_first.time()}


def test_all_day_until_is_a_date_that_dateutil_reads() -> None:
    component = converted_by_name("person_holidays_all_day", PARIS)["Summer_Fridays"]
    occurrences = dateutil_occurrences(component)
    assert occurrences[0] == datetime(2024, 7, 5)
    assert occurrences[-1] == datetime(2024, 8, 30)
    assert len(occurrences) == 9


def test_count_gives_that_many_occurrences() -> None:
    component = converted_by_name("person_daily_count", NEW_YORK)["Induction"]
    occurrences = dateutil_occurrences(component)
    assert len(occurrences) == 10
    assert occurrences[-1].astimezone(UTC) == datetime(2024, 10, 30, 9, 0, tzinfo=NEW_YORK)


def test_dst_edges_keep_wall_times_and_all_day_ignores_stray_times() -> None:
    assert timing("person_dst_edges") == {
        # 02:30 does not exist on 31 March in Paris: RFC 5545 and zoneinfo (fold=0) both
        # read it with the offset before the gap, so UNTIL is 01:30Z.
        "Spring_Forward_Maintenance": [
            "DTSTART;TZID=Europe/Paris:20240324T023000",
            "DTEND;TZID=Europe/Paris:20240324T033000",
            "RRULE:FREQ=WEEKLY;UNTIL=20240331T013000Z;BYDAY=SU",
        ],
        # 02:30 happens twice on 27 October: the first one (summer time) is the last start.
        "Fall_Back_Maintenance": [
            "DTSTART;TZID=Europe/Paris:20241020T023000",
            "DTEND;TZID=Europe/Paris:20241020T024500",
            "RRULE:FREQ=WEEKLY;UNTIL=20241027T003000Z;BYDAY=SU",
        ],
        "Closed_All_Day": ["DTSTART;VALUE=DATE:20240815", "DTEND;VALUE=DATE:20240816"],
    }
    components = converted_by_name("person_dst_edges", PARIS)
    for summary, last in [
        ("Spring_Forward_Maintenance", date(2024, 3, 31)),
        ("Fall_Back_Maintenance", date(2024, 10, 27)),
    ]:
        occurrences = dateutil_occurrences(components[summary])
        assert len(occurrences) == 2
        assert isinstance(occurrences[-1], datetime)
        assert occurrences[-1].date() == last


def test_backslash_n_in_an_event_name_survives_the_feed() -> None:
    """A name holding backslash + N must not come back as a line break (icalendar 7.3's
    own writer turns it into one; the feed serializer must not)."""
    import json
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from icalendar import Calendar

    from icsbridge.converters.ical.assembly import Stamp, assemble, finalize_event
    from icsbridge.converters.ical.model import CalendarMeta
    from icsbridge.converters.webex.convert import from_vevent, parse_schedule, to_vevents

    raw = json.loads((FIXTURES / "name_with_backslash_n.json").read_text())
    schedule = parse_schedule(raw, where="fixture")
    tz = ZoneInfo("Europe/Paris")
    (converted,) = to_vevents(schedule, tz=tz, level="PEOPLE", owner_name="Alice")
    stamp = Stamp(uid="u@test", modified=datetime(2026, 1, 1, tzinfo=UTC))
    data = assemble(CalendarMeta(key="t/s", name="S"), [finalize_event(converted.component, stamp)])
    assert b"SUMMARY:Shift \\\\N 2\r\n" in data
    (event,) = Calendar.from_ical(data).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Shift \\N 2"
    assert from_vevent(event, level="PEOPLE", tz=tz).name == "Shift \\N 2"
