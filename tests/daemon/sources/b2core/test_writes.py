"""B2CORE writes: create (POST), update (PATCH with the changed fields, PUT when asked),
delete (204), and the way from an edited VEVENT to a PATCH."""

from __future__ import annotations

import logging
import random
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from icalendar import vDDDTypes, vText
from support.fakes import DictTokens

from icsbridge.config.sources.b2core import B2coreSourceSettings
from icsbridge.converters.b2core.models import B2coreEvent
from icsbridge.converters.errors import UnsupportedByTarget
from icsbridge.daemon.simulators.b2core import seed as b2core_seed
from icsbridge.daemon.simulators.b2core.app import B2coreSimState, create_app
from icsbridge.daemon.simulators.b2core.state import DEMO_TOKEN
from icsbridge.daemon.sources.b2core.source import B2coreSource
from icsbridge.daemon.sources.http import SourceError

pytestmark = pytest.mark.anyio
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
REF = {"timezone": "Europe/Paris", "organizer": "noreply@bo.example.com"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sim() -> B2coreSimState:
    return b2core_seed.demo_state(date(2025, 3, 1), now=lambda: NOW)


@pytest.fixture
def source(sim: B2coreSimState, monkeypatch: pytest.MonkeyPatch) -> B2coreSource:
    monkeypatch.setenv("B2CORE_TEST_TOKEN", DEMO_TOKEN)
    settings = B2coreSourceSettings.model_validate(
        {
            "name": "bo",
            "kind": "b2core",
            "interval": "15m",
            "base_url": "https://bo.example.com",
            "token": "env:B2CORE_TEST_TOKEN",
            "timezone": "Europe/Paris",
        }
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(sim)))

    async def no_sleep(_seconds: float) -> None:
        return None

    return B2coreSource(
        settings,
        client,
        tokens=DictTokens(),
        sleep=no_sleep,
        rng=random.Random(1),
        clock=lambda: NOW,
    )


def new_event(**changes: Any) -> B2coreEvent:
    fields: dict[str, Any] = {
        "caption": "Client call: Orion Fund",
        "description": "Margin terms",
        "startDate": "2025-03-12T10:00:00+01:00",
        "endDate": "2025-03-12T10:30:00+01:00",
        "notifications": ["PT15M"],
        "recipients": ["marco.rossi@broker.example"],
    }
    fields.update(changes)
    return B2coreEvent.model_validate(fields)


def writes(sim: B2coreSimState) -> list[tuple[str, str, Any]]:
    return [(r.method, r.path, r.json() if r.body else None) for r in sim.writes()]


async def test_create(source: B2coreSource, sim: B2coreSimState) -> None:
    event = new_event()
    new_id = await source.create_event(REF, event)
    assert new_id == "15"
    assert writes(sim) == [("POST", "/api/v2/calendars/events", event.to_wire())]
    assert await source.get_event(REF, new_id) == event.model_copy(update={"id": "15"})


async def test_create_and_read_with_wrapped_objects(
    source: B2coreSource, sim: B2coreSimState
) -> None:
    sim.list_shape = "data"
    new_id = await source.create_event(REF, new_event())
    assert (await source.get_event(REF, new_id)).caption == "Client call: Orion Fund"


async def test_patch_sends_only_the_changed_fields(
    source: B2coreSource, sim: B2coreSimState
) -> None:
    before = await source.get_event(REF, "3")
    after = before.model_copy(update={"caption": "KYC review (postponed)", "notifications": []})
    assert await source.update_event(REF, "3", after, previous=before) == "3"
    assert writes(sim) == [
        (
            "PATCH",
            "/api/v2/calendars/events/3",
            {"caption": "KYC review (postponed)", "notifications": []},
        )
    ]
    assert sim.events[3]["caption"] == "KYC review (postponed)"
    assert sim.events[3]["recipients"] == ["anna.keller@broker.example"]  # untouched


async def test_patch_reads_the_event_when_no_previous_is_given(
    source: B2coreSource, sim: B2coreSimState
) -> None:
    current = await source.get_event(REF, "3")
    sim.requests.clear()
    moved = current.model_copy(update={"startDate": current.startDate.replace(hour=15)})
    await source.update_event(REF, "3", moved)
    assert [(r.method, r.path) for r in sim.requests] == [
        ("GET", "/api/v2/calendars/events/3"),
        ("PATCH", "/api/v2/calendars/events/3"),
    ]
    assert sim.requests[-1].json() == {"startDate": "2025-03-03T15:00:00+01:00"}


async def test_nothing_is_sent_when_nothing_changed(
    source: B2coreSource, sim: B2coreSimState
) -> None:
    current = await source.get_event(REF, "3")
    same_instants_in_utc = current.model_copy(
        update={"startDate": current.startDate.astimezone(UTC), "id": None}
    )
    await source.update_event(REF, "3", same_instants_in_utc, previous=current)
    assert writes(sim) == []


async def test_put_when_asked_sends_every_field(source: B2coreSource, sim: B2coreSimState) -> None:
    replacement = new_event(description=None, notifications=[], recipients=[])
    await source.update_event(REF, "3", replacement, replace=True)
    assert writes(sim) == [("PUT", "/api/v2/calendars/events/3", replacement.to_wire())]
    assert sim.requests[-1].json()["description"] == ""
    assert (sim.events[3]["notifications"], sim.events[3]["recipients"]) == ([], [])


async def test_delete_answers_204_and_a_second_delete_is_fine(
    source: B2coreSource, sim: B2coreSimState, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="icsbridge.b2core")
    await source.delete_event(REF, "3")
    assert 3 not in sim.events
    await source.delete_event(REF, "3")
    assert [r.status for r in sim.writes()] == [204, 404]
    assert "event 3 was already deleted" in caplog.text


async def test_a_refused_write_says_why(source: B2coreSource) -> None:
    with pytest.raises(SourceError) as caught:
        await source.create_event(REF, new_event(recipients=["stranger@elsewhere.example"]))
    message = str(caught.value)
    assert message.startswith(
        'source "bo": POST /api/v2/calendars/events: 422 Unprocessable Entity: '
        "The given data was invalid."
    )
    assert message.endswith("; the back office refused the event's fields")
    assert caught.value.status == 422


async def test_an_edited_vevent_becomes_a_patch(source: B2coreSource, sim: B2coreSimState) -> None:
    [calendar] = await source.pull()
    converted = next(e for e in calendar.events if e.native_key == "2")
    edited = converted.component
    edited["SUMMARY"] = vText("Onboarding call: Northwind Capital (moved)")
    before = await source.get_event(calendar.ref, "2")
    payload = source.event_from_vevent(calendar.ref, edited)
    await source.update_event(calendar.ref, "2", payload, previous=before)
    assert writes(sim) == [
        (
            "PATCH",
            "/api/v2/calendars/events/2",
            {"caption": "Onboarding call: Northwind Capital (moved)"},
        )
    ]


async def test_an_all_day_vevent_is_refused_before_any_request(
    source: B2coreSource, sim: B2coreSimState
) -> None:
    [calendar] = await source.pull()
    component = calendar.events[0].component
    component["DTSTART"] = vDDDTypes(date(2025, 3, 3))
    component.pop("DTEND")
    with pytest.raises(UnsupportedByTarget, match="B2CORE has no all-day events"):
        source.event_from_vevent(calendar.ref, component)
    assert writes(sim) == []
