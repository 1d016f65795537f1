"""Data for the Webex simulator: the demo org (webex/demo.json) and a bulk builder.

Both go through the same Control Hub operations as tests, except that :func:`fill_bulk`
stores its (well-formed by construction) events directly, so large benchmark orgs build
fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any

from icsbridge.daemon.simulators.webex.events import WEEKDAYS
from icsbridge.daemon.simulators.webex.state import WebexSimState
from icsbridge.daemon.simulators.webex.store import SimSchedule

DEMO_FILE = "demo.json"
PEOPLE_PER_BULK_LOCATION = 50
_BULK_ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo", "Europe/London")
_BULK_START = date(2025, 1, 6)  # a Monday: weekly events below count days from it


def read_demo() -> dict[str, Any]:
    """The demo seed as parsed JSON."""
    text = (
        resources.files("icsbridge.daemon.simulators.webex").joinpath(DEMO_FILE).read_text("utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


def load_demo(state: WebexSimState, data: dict[str, Any]) -> None:
    """Add the seed's locations, people and schedules to ``state``."""
    location_ids: dict[str, str] = {}
    for location in data["locations"]:
        location_id = state.add_location(
            location["name"], location.get("timeZone"), address=location.get("address")
        )
        location_ids[location["key"]] = location_id
        _add_schedules(state, location_id, location.get("schedules", []))
    for person in data["people"]:
        person_id = state.add_person(
            person["displayName"],
            person["email"],
            location_id=location_ids[person["location"]],
            time_zone=person.get("timeZone"),
        )
        _add_schedules(state, person_id, person.get("schedules", []))


def _add_schedules(state: WebexSimState, owner_id: str, schedules: list[dict[str, Any]]) -> None:
    for schedule in schedules:
        state.add_schedule(owner_id, schedule["type"], schedule["name"], schedule["events"])


def fill_bulk(
    state: WebexSimState, people: int, schedules_per_person: int, events_per_schedule: int
) -> None:
    """A deterministic org: ``people`` users, each with the given schedules and events.

    One location per 50 people (each with one businessHours and one holidays schedule);
    person schedules alternate businessHours/holidays and mix weekly, daily-with-count,
    single timed and all-day events.
    """
    location_ids: list[str] = []
    for index in range(max(1, -(-people // PEOPLE_PER_BULK_LOCATION))):
        zone = _BULK_ZONES[index % len(_BULK_ZONES)]
        location_id = state.add_location(f"Bench Site {index:03d}", zone)
        location_ids.append(location_id)
        owner = state.location(location_id)
        owner.schedules.append(
            SimSchedule("Site Hours", "businessHours", _events("Hours", 5, weekly=True))
        )
        owner.schedules.append(SimSchedule("Site Holidays", "holidays", _events("Holiday", 5)))
    for number in range(people):
        person_id = state.add_person(
            f"Bench User {number:05d}",
            f"bench.user{number:05d}@example.com",
            location_id=location_ids[number // PEOPLE_PER_BULK_LOCATION],
            time_zone=_BULK_ZONES[number % len(_BULK_ZONES)] if number % 3 else None,
        )
        person = state.person(person_id)
        for index in range(schedules_per_person):
            schedule_type = "businessHours" if index % 2 == 0 else "holidays"
            events = _events(f"Event {number:05d}-{index:03d}", events_per_schedule, daily=True)
            person.schedules.append(SimSchedule(f"Schedule {index:03d}", schedule_type, events))


def _events(
    prefix: str, count: int, *, weekly: bool = False, daily: bool = False
) -> dict[str, dict[str, Any]]:
    """``count`` valid, already normalised events cycling through the allowed shapes."""
    events: dict[str, dict[str, Any]] = {}
    for k in range(count):
        name = f"{prefix} {k:04d}"
        day = _BULK_START + timedelta(days=k)
        event: dict[str, Any] = {"name": name, "startDate": day.isoformat()}
        shape = k % 4
        if shape == 3:
            event.update(endDate=(day + timedelta(days=k % 3)).isoformat(), allDayEnabled=True)
        else:
            event.update(endDate=day.isoformat(), startTime="09:00", endTime="17:30")
            event["allDayEnabled"] = False
        if shape == 0 or (weekly and shape != 3):
            flags = {d: d == WEEKDAYS[day.weekday()] for d in _SUNDAY_FIRST}
            event["recurrence"] = {
                "recurForEver": True,
                "recurWeekly": {"recurInterval": 1, **flags},
            }
        elif shape == 1 and daily:
            event["recurrence"] = {
                "recurEndOccurrence": 5 + k % 7,
                "recurDaily": {"recurInterval": 1},
            }
        events[name] = event
    return events


_SUNDAY_FIRST = ("sunday", *WEEKDAYS[:6])


def demo_state(now: Callable[[], datetime] | None = None) -> WebexSimState:
    """The demo org from webex/demo.json, token ``demo-token``, demo OAuth client."""
    data = read_demo()
    state = WebexSimState(org_name=data["org"]["name"], now=now)
    load_demo(state, data)
    state.add_demo_credentials()
    return state


def bulk_state(
    people: int,
    schedules_per_person: int,
    events_per_schedule: int,
    now: Callable[[], datetime] | None = None,
) -> WebexSimState:
    """A deterministic large org for benchmarks (same credentials as the demo)."""
    state = WebexSimState(org_name="icsbridge Bench", now=now)
    fill_bulk(state, people, schedules_per_person, events_per_schedule)
    state.add_demo_credentials()
    return state
