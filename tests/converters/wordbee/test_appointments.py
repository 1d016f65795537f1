"""Appointments: all-day spans, attendees and organizer, alarms, and series as one RRULE
(across a DST change) or as tied single events when the rule cannot be trusted."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from support import paths

from icsbridge.converters.ical.assembly import Stamp, assemble, finalize_event
from icsbridge.converters.ical.feedcheck.validate import validate_feed
from icsbridge.converters.ical.model import CalendarMeta, ConvertedEvent
from icsbridge.converters.wordbee.appointments import person_address, readable_rule
from icsbridge.converters.wordbee.convert import PersonContext, appointment_events, merge_months
from icsbridge.converters.wordbee.models import parse_view

FIXTURES = paths.FIXTURES / "wordbee"
PARIS = ZoneInfo("Europe/Paris")
CTX = PersonContext(uid=635, label="Anna Weber", zone=PARIS, platform="acme.example/acme")
MARCH_APRIL = (datetime(2026, 2, 28, 23, tzinfo=UTC), datetime(2026, 4, 30, 22, tzinfo=UTC))


def months() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "months_2026_03_04.json").read_text())
    return data


def convert(
    data: dict[str, Any], keys: tuple[str, ...] = ("2026-03", "2026-04"), window: Any = None
) -> dict[str, ConvertedEvent]:
    merged = merge_months([parse_view(data[key], where=key) for key in keys])
    events = appointment_events(merged.appointments, CTX, window or MARCH_APRIL)
    return {event.native_key: event for event in events}


def starts_utc(event: ConvertedEvent) -> list[datetime]:
    """Occurrence starts of a converted event, expanded by dateutil on its wall clock."""
    start = event.component["DTSTART"].dt
    rule = event.component.get("RRULE")
    if rule is None:
        return [start.astimezone(UTC)]
    # dateutil keeps the wall time of an aware DTSTART across DST changes, as RFC 5545 does.
    return [s.astimezone(UTC) for s in rrulestr(rule.to_ical().decode(), dtstart=start)]


def feed(events: list[ConvertedEvent]) -> bytes:
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    finals = [finalize_event(e.component, Stamp(f"a{i}@t", stamp)) for i, e in enumerate(events)]
    return assemble(CalendarMeta(key="t/x", name="x"), finals)


def test_seed_appointments_are_all_day_with_attendees_and_an_organizer() -> None:
    data = json.loads((FIXTURES / "calendar_view_2017_07.json").read_text())
    view = parse_view(data, where="seed")
    window = (datetime(2017, 6, 30, 22, tzinfo=UTC), datetime(2017, 7, 31, 22, tzinfo=UTC))
    events = {e.native_key: e for e in appointment_events(view.appointments, CTX, window)}
    assert sorted(events) == ["appointment:88", "appointment:89"]
    c = events["appointment:89"].component
    # 22:00Z to 22:00Z is midnight to midnight in Paris (summer): a whole day.
    assert (c["DTSTART"].dt, c["DTEND"].dt) == (date(2017, 7, 6), date(2017, 7, 7))
    assert str(c["SUMMARY"]) == "Test appointments"
    assert "DESCRIPTION" not in c  # empty desc
    names = [str(a.params["CN"]) for a in c["ATTENDEE"]]
    assert sorted(names) == ["Thierry Hund", "Younes Guarssifi"]
    assert all(str(a).startswith("urn:uuid:") for a in c["ATTENDEE"])
    organizer = c["ORGANIZER"]
    assert (str(organizer.params["CN"]), str(organizer.params["CUTYPE"])) == (
        "Wordbee company 1",
        "GROUP",
    )
    assert str(c["X-WORDBEE-APPID"]) == "89"
    assert validate_feed(feed(list(events.values()))) == []


def test_a_weekly_series_is_one_rrule_that_follows_the_dst_change() -> None:
    events = convert(months())
    series = events["series:500"]
    assert not any(key.startswith("appointment:5000") for key in events)
    c = series.component
    assert c["DTSTART"].dt == datetime(2026, 3, 17, 10, tzinfo=PARIS)
    assert c["DTEND"].dt == datetime(2026, 3, 17, 11, tzinfo=PARIS)
    assert c["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6;BYDAY=TU"
    assert str(c["X-WORDBEE-SERIES"]) == "500"
    # Summer time starts on 29 March: 10:00 in Paris is 09:00Z before and 08:00Z after,
    # exactly as Wordbee lists the occurrences.
    listed = sorted(
        datetime.fromisoformat(a["dtfrom"])
        for month in months().values()
        for a in month["appointments"]
        if a["appid"] == 500 or a["rcparent"] == 500
    )
    assert starts_utc(series) == listed
    assert [s.hour for s in listed] == [9, 9, 8, 8, 8, 8]
    alarm = c.subcomponents[0]
    assert (alarm.name, alarm["TRIGGER"].to_ical()) == ("VALARM", b"-PT15M")
    assert str(alarm["ACTION"]) == "DISPLAY"


def test_singles_boundary_once_zero_length_and_addresses() -> None:
    events = convert(months())
    assert sorted(events) == [
        "appointment:600",
        "appointment:601",
        "appointment:602",
        "appointment:603",
        "series:500",
    ]
    release = events["appointment:600"].component
    assert release["DTSTART"].dt == datetime(2026, 3, 31, 22, tzinfo=PARIS)
    assert release["DTEND"].dt == datetime(2026, 4, 1, 1, tzinfo=PARIS)
    assert str(release["DESCRIPTION"]) == "Deploy 4.2\nthen check"
    attendees = {str(a.params["CN"]): a for a in release["ATTENDEE"]}
    assert str(attendees["Thierry Hund"]) == "mailto:thierry@example.com"
    assert str(attendees["Renault"].params["CUTYPE"]) == "GROUP"
    assert str(attendees["Younes Guarssifi"]) == person_address(CTX, "person", 143)
    assert str(release["ORGANIZER"].params["CN"]) == "Anna Weber"
    # Zero-length: no DTEND; an unreadable reminder is kept, not guessed.
    invoices = events["appointment:602"].component
    assert "DTEND" not in invoices
    assert str(invoices["X-WORDBEE-REMINDER"]) == "not a duration"
    assert not invoices.subcomponents
    assert "ATTENDEE" not in invoices and "ORGANIZER" not in invoices
    offsite = events["appointment:601"].component
    assert (offsite["DTSTART"].dt, offsite["DTEND"].dt) == (date(2026, 3, 20), date(2026, 3, 21))
    review = events["appointment:603"].component
    assert review.subcomponents[0]["TRIGGER"].to_ical() == b"-PT30M"
    assert validate_feed(feed(list(events.values()))) == []


def _series_members(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        a
        for month in data.values()
        for a in month["appointments"]
        if a["appid"] == 500 or a["rcparent"] == 500
    ]


def _assert_tied_singles(events: dict[str, ConvertedEvent], rule: str, count: int = 6) -> None:
    singles = [e for key, e in events.items() if key.startswith("appointment:500")]
    assert "series:500" not in events
    assert len(singles) == count
    for event in singles:
        assert str(event.component["X-WORDBEE-SERIES"]) == "500"
        assert str(event.component["X-WORDBEE-RCULE"]) == rule
        assert "RRULE" not in event.component


def test_an_unreadable_rule_gives_tied_single_events() -> None:
    data = months()
    for app in _series_members(data):
        app["rcule"] = "Every Tuesday, 6 times"
    events = convert(data)
    _assert_tied_singles(events, "Every Tuesday, 6 times")
    starts = sorted(s for key, e in events.items() if "500" in key for s in starts_utc(e))
    assert starts == sorted(datetime.fromisoformat(a["dtfrom"]) for a in _series_members(months()))


@pytest.mark.parametrize("change", ["moved", "renamed", "deleted", "longer"])
def test_an_occurrence_changed_on_its_own_keeps_the_series_as_singles(change: str) -> None:
    data = months()
    april = data["2026-04"]["appointments"]
    target = next(a for a in april if a["appid"] == 500004)
    if change == "moved":
        target["dtfrom"], target["dtto"] = "2026-04-14T09:00:00Z", "2026-04-14T10:00:00Z"
    elif change == "renamed":
        target["subject"] = "Team call (with the client)"
    elif change == "longer":
        target["dtto"] = "2026-04-14T10:00:00Z"
    else:
        april.remove(target)
    events = convert(data)
    _assert_tied_singles(events, "FREQ=WEEKLY;BYDAY=TU;COUNT=6", 5 if change == "deleted" else 6)


def test_without_the_parent_a_count_cannot_be_placed_but_an_open_rule_can() -> None:
    april_only = (datetime(2026, 3, 31, 22, tzinfo=UTC), datetime(2026, 4, 30, 22, tzinfo=UTC))
    events = convert(months(), ("2026-04",), april_only)
    _assert_tied_singles(events, "FREQ=WEEKLY;BYDAY=TU;COUNT=6", 3)

    data = months()
    for app in _series_members(data):
        app["rcule"] = "RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20260421"
    events = convert(data, ("2026-04",), april_only)
    series = events["series:500"].component
    assert series["DTSTART"].dt == datetime(2026, 4, 7, 10, tzinfo=PARIS)
    # A date UNTIL on a timed series: through that day in Paris, written in UTC.
    assert series["RRULE"]["UNTIL"] == datetime(2026, 4, 21, 21, 59, 59, tzinfo=UTC)
    assert [s.isoformat() for s in starts_utc(events["series:500"])] == [
        "2026-04-07T08:00:00+00:00",
        "2026-04-14T08:00:00+00:00",
        "2026-04-21T08:00:00+00:00",
    ]
    assert validate_feed(feed(list(events.values()))) == []


def test_a_parent_listed_alone_is_taken_at_its_rules_word() -> None:
    data = months()
    data["2026-03"]["appointments"] = [
        a for a in data["2026-03"]["appointments"] if a["rcparent"] != 500
    ]
    data["2026-04"]["appointments"] = [
        a for a in data["2026-04"]["appointments"] if a["rcparent"] != 500
    ]
    events = convert(data)
    assert events["series:500"].component["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6;BYDAY=TU"
    # ...unless the rule does not produce the parent's own start (readers would drop it).
    for month in data.values():
        for app in month["appointments"]:
            if app["appid"] == 500:
                app["rcule"] = "FREQ=WEEKLY;BYDAY=WE;COUNT=6"
    _assert_tied_singles(convert(data), "FREQ=WEEKLY;BYDAY=WE;COUNT=6", 1)


def test_an_all_day_series_keeps_date_values() -> None:
    def friday(k: int) -> dict[str, Any]:
        day = 6 + 7 * k  # Fridays of March 2026, midnight Paris = 23:00Z the day before
        return {
            "appid": 700 if k == 0 else 700000 + k,
            "dtfrom": f"2026-03-{day - 1:02d}T23:00:00Z",
            "dtto": f"2026-03-{day:02d}T23:00:00Z",
            "subject": "Home office",
            "rcule": "FREQ=WEEKLY;BYDAY=FR;UNTIL=20260320T230000Z",
            "rcparent": None if k == 0 else 700,
        }

    view = parse_view({"appointments": [friday(k) for k in range(3)]}, where="t")
    window = (datetime(2026, 2, 28, 23, tzinfo=UTC), datetime(2026, 3, 31, 22, tzinfo=UTC))
    (event,) = appointment_events(view.appointments, CTX, window)
    c = event.component
    assert (c["DTSTART"].dt, c["DTEND"].dt) == (date(2026, 3, 6), date(2026, 3, 7))
    assert c["RRULE"]["UNTIL"] == date(2026, 3, 21)
    assert validate_feed(feed([event])) == []


@pytest.mark.parametrize(
    ("text", "readable"),
    [
        ("FREQ=WEEKLY;BYDAY=TU", True),
        ("RRULE:FREQ=MONTHLY;BYDAY=1MO;COUNT=8", True),
        ("FREQ=DAILY;INTERVAL=2;UNTIL=20260401T000000Z", True),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20260401", False),
        ("FREQ=HOURLY", False),
        ("FREQ=MONTHLY;BYSETPOS=-1;BYDAY=FR", False),
        ("Every Tuesday", False),
        ('<RecurrenceInfo Start="2026-03-17" />', False),
        ("", False),
    ],
)
def test_readable_rules(text: str, readable: bool) -> None:
    assert (readable_rule(text) is not None) is readable


def test_rename_hint_ignores_the_subject_and_the_feed_bytes_are_stable() -> None:
    first = convert(months())
    data = months()
    for month in data.values():
        for app in month["appointments"]:
            app["subject"] = app["subject"].upper()
    renamed = convert(data)
    assert {k: e.rename_hint for k, e in first.items()} == {
        k: e.rename_hint for k, e in renamed.items()
    }
    shuffled = months()
    for month in shuffled.values():
        month["appointments"].reverse()
    assert feed(list(convert(shuffled).values())) == feed(list(first.values()))
