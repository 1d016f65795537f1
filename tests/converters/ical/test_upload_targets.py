"""Uploads as the apps write them, through every converter that takes edits.

What reached the converters (issue 14) and escaped as a bare exception type, or named a
zone by its Python repr (``<tzicalvtz 'Eastern'>``): each is now a refusal in words, or
the conversion the app meant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Event
from support import paths

from icsbridge.converters.apio import convert as apio
from icsbridge.converters.b2core import convert as b2core
from icsbridge.converters.errors import UnsupportedByTarget
from icsbridge.converters.ical.upload.read import parse_upload
from icsbridge.converters.webex import convert as webex

FIXTURES = paths.FIXTURES / "ics"
PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")
TARGETS: dict[str, Callable[[Event, ZoneInfo], Any]] = {
    "webex people": lambda v, tz: webex.from_vevent(v, level="PEOPLE", tz=tz),
    "webex location": lambda v, tz: webex.from_vevent(v, level="LOCATION", tz=tz),
    "apio holiday": lambda v, tz: apio.from_vevent(v, family="holiday", tz=tz),
    "apio time": lambda v, tz: apio.from_vevent(v, family="time", tz=tz),
    "apio advanced": lambda v, tz: apio.from_vevent(v, family="advanced", tz=tz),
    "b2core": lambda v, tz: b2core.from_vevent(v, tz=tz),
}


def _event(name: str) -> Event:
    (event,) = parse_upload((FIXTURES / name).read_bytes(), what=name).values()
    return event.component


def _outcome(target: str, event: Event, tz: ZoneInfo = PARIS) -> Any:
    """The payload, or the refusal's text (one line, never a repr)."""
    try:
        return TARGETS[target](event, tz)
    except UnsupportedByTarget as exc:
        text = str(exc)
        assert "\n" not in text and "<" not in text and "object" not in text, text
        return text


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize(
    "name",
    [
        "upload_trigger_value_time.ics",
        "upload_alarm_line_unreadable.ics",
        "upload_outlook_eastern_recurring.ics",
        "upload_lotus_notes_zone.ics",
        "upload_google_x_wr_timezone.ics",
        "upload_google_created_year_zero.ics",
        "upload_bom.ics",
    ],
)
def test_an_app_written_event_converts_or_is_refused_in_words(name: str, target: str) -> None:
    _outcome(target, _event(name))


def test_a_trigger_value_time_is_a_b2core_refusal_not_a_crash() -> None:
    event = _event("upload_trigger_value_time.ics")
    assert _outcome("b2core", event) == (
        "event 3b9c6e52-0d7a-4c4e-8f3a-9e1d2c5b7a20: B2CORE calendar event cannot hold: "
        "VALARM TRIGGER;VALUE=TIME 083000 (a trigger is a duration before the start, e.g. "
        "-PT15M, or a UTC date-time)"
    )
    assert not isinstance(_outcome("webex people", event), str)  # alarms are not its business


def test_an_unreadable_alarm_refuses_only_where_alarms_are_kept() -> None:
    event = _event("upload_alarm_line_unreadable.ics")
    assert _outcome("b2core", event) == (
        "event 9A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9: B2CORE calendar event cannot hold: "
        "VALARM with TRIGGER '-15 minutes' that cannot be read (a trigger is a duration "
        "before the start, e.g. TRIGGER:-PT15M, or a UTC date-time)"
    )
    assert not isinstance(_outcome("webex people", event), str)


def test_a_recurring_outlook_event_keeps_its_wall_time_on_a_new_york_schedule() -> None:
    payload = _outcome("webex people", _event("upload_outlook_eastern_recurring.ics"), NEW_YORK)
    assert (payload.startTime, payload.endTime) == (time(9, 0), time(10, 0))


@pytest.mark.parametrize(
    ("name", "tzid"),
    [
        ("upload_outlook_eastern_recurring.ics", "Eastern Standard Time"),
        ("upload_lotus_notes_zone.ics", "GMT +0100 (Standard) / GMT +0200 (Daylight)"),
    ],
)
def test_a_refused_zone_is_named_by_its_tzid_not_a_python_repr(name: str, tzid: str) -> None:
    text = _outcome("webex people", _event(name), PARIS)
    assert f"recurring event in time zone {tzid}; this schedule runs in Europe/Paris" in text


def test_a_floating_time_with_a_windows_x_wr_timezone_reaches_b2core_in_that_zone() -> None:
    payload = _outcome("b2core", _event("upload_x_wr_timezone_windows.ics"), NEW_YORK)
    assert payload.startDate == datetime(2026, 12, 1, 9, 0, tzinfo=PARIS)
