"""Projects, jobs and orders as deadline events or VTODOs; edits to Wordbee are refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Event
from support import paths

from icsbridge.converters.errors import UnsupportedByTarget
from icsbridge.converters.ical.assembly import Stamp, assemble, finalize_event
from icsbridge.converters.ical.feedcheck.validate import validate_feed
from icsbridge.converters.ical.model import CalendarMeta, ConvertedEvent
from icsbridge.converters.wordbee.convert import (
    PersonContext,
    ReadOnlyTarget,
    from_vevent,
    merge_months,
    work_item_components,
)
from icsbridge.converters.wordbee.models import parse_view

FIXTURES = paths.FIXTURES / "wordbee"
PARIS = ZoneInfo("Europe/Paris")
CTX = PersonContext(uid=143, label="Younes Guarssifi", zone=PARIS, platform="t/a")


def seed_items(mode: str) -> dict[str, ConvertedEvent]:
    data: dict[str, Any] = json.loads((FIXTURES / "calendar_view_2017_07.json").read_text())
    merged = merge_months([parse_view(data, where="seed")])
    return {e.native_key: e for e in work_item_components(merged, CTX, mode)}  # type: ignore[arg-type]


def test_deadline_and_range_events_from_the_seed() -> None:
    events = seed_items("events")
    # Jobs without a deadline or a date range have nothing to place on a calendar.
    assert sorted(k for k in events if k.startswith("job:")) == ["job:9524", "job:9780"]
    assert len([k for k in events if k.startswith("project:")]) == 15
    assert len([k for k in events if k.startswith("order:")]) == 3

    deadline = events["project:639"].component
    # 07:00 UTC (no zone suffix) is 09:00 in Paris in August.
    assert deadline["DTSTART"].dt == datetime(2017, 8, 31, 9, tzinfo=PARIS)
    assert "DTEND" not in deadline  # a deadline is a moment
    assert str(deadline["SUMMARY"]) == "Deadline: project 111"
    assert [str(c) for c in deadline["CATEGORIES"].cats] == ["Project", "Deadline"]
    assert str(deadline["TRANSP"]) == "TRANSPARENT"
    assert str(deadline["X-WORDBEE-STATUS"]) == "3"
    assert "X-WORDBEE-MANAGER" not in deadline  # mname " " is no name

    ranged = events["project:664"].component
    assert (ranged["DTSTART"].dt, ranged["DTEND"].dt) == (
        datetime(2017, 7, 3, 10, 30, tzinfo=PARIS),
        datetime(2017, 7, 3, 14, 30, tzinfo=PARIS),
    )
    assert str(ranged["SUMMARY"]) == "Project 2017-174"
    assert str(ranged["X-WORDBEE-MANAGER"]) == "Florent Mauer"
    assert str(ranged["X-WORDBEE-REFERENCE"]) == "2017-174"
    assert str(ranged["DESCRIPTION"]).splitlines() == [
        "Wordbee project 664",
        "Reference: 2017-174",
        "Status: 0",
        "Client: Pons",
        "Manager: Florent Mauer",
        "Start: 2017-07-03 10:30 (Europe/Paris)",
        "End: 2017-07-03 14:30 (Europe/Paris)",
    ]

    job = events["job:9524"].component
    assert str(job["SUMMARY"]) == "Deadline: job Reportsv.1.docx (en → fr)"
    assert str(job["X-WORDBEE-STATUS"]) == "In progress"
    assert "Project: 2017-175" in str(job["DESCRIPTION"])

    order = events["order:335"].component
    assert "Submitted by: Stephan Bohmig" in str(order["DESCRIPTION"])

    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    finals = [
        finalize_event(e.component, Stamp(f"w{i}@t", stamp)) for i, e in enumerate(events.values())
    ]
    assert validate_feed(assemble(CalendarMeta(key="t/w", name="w"), finals)) == []


def test_todos_carry_due_start_and_status() -> None:
    todos = seed_items("todos")
    assert all(e.component.name == "VTODO" for e in todos.values())
    job = todos["job:9524"].component
    assert job["DUE"].dt == datetime(2017, 7, 27, 11, tzinfo=PARIS)
    assert job["DTSTART"].dt == datetime(2017, 7, 20, 15, 22, 45, tzinfo=PARIS)
    assert str(job["STATUS"]) == "IN-PROCESS"
    assert "TRANSP" not in job
    completed = todos["job:9780"].component  # no deadline: DUE is its end
    assert completed["DUE"].dt == datetime(2017, 7, 24, 10, 33, 21, tzinfo=PARIS)
    assert str(completed["STATUS"]) == "COMPLETED"
    project = todos["project:639"].component
    assert str(project["SUMMARY"]) == "Project 111"
    assert "STATUS" not in project  # a project's number status has no VTODO meaning
    # The rename hint differs by mode, so switching mode never keeps a stale identity.
    assert todos["project:639"].rename_hint != seed_items("events")["project:639"].rename_hint


def test_rename_hint_ignores_the_reference() -> None:
    data: dict[str, Any] = json.loads((FIXTURES / "calendar_view_2017_07.json").read_text())
    before = work_item_components(merge_months([parse_view(data, where="s")]), CTX, "events")
    for project in data["projects"]:
        project["ref"] = "renamed " + project["ref"]
    after = work_item_components(merge_months([parse_view(data, where="s")]), CTX, "events")
    assert [e.rename_hint for e in before] == [e.rename_hint for e in after]
    assert [str(e.component["SUMMARY"]) for e in before] != [
        str(e.component["SUMMARY"]) for e in after
    ]


def test_no_access_gives_no_items() -> None:
    merged = merge_months([parse_view({"projects": None, "jobs": None}, where="s")])
    assert work_item_components(merged, CTX, "events") == []


def test_edits_are_refused_with_a_clear_message() -> None:
    event = Event()
    event.add("uid", "abc@icsbridge")
    event.add("summary", "Team call")
    with pytest.raises(UnsupportedByTarget) as caught:
        from_vevent(event)
    assert isinstance(caught.value, ReadOnlyTarget)
    assert str(caught.value) == (
        "event abc@icsbridge: Wordbee does not accept edits: its calendars are read-only in "
        "icsbridge; make the change in Wordbee itself"
    )
    assert caught.value.target == "Wordbee"
    with pytest.raises(ReadOnlyTarget, match=r"^Wordbee does not accept edits"):
        from_vevent(Event())
