"""Pushing to B2CORE: an update PATCHes only the fields that changed and keeps the id;
repeating, all-day and other events B2CORE cannot hold are refused, every one named."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from icalendar import Event, vDDDTypes
from support.push_world import (
    PushWorld,
    events_of,
    fixture_events,
    renamed,
    summary_of,
    with_events,
)

from icsbridge.daemon.push.plan import PushRefused

pytestmark = pytest.mark.anyio


def _an_hour_later(event: Event) -> Event:
    copy = Event.from_ical(event.to_ical())
    for name in ("DTSTART", "DTEND"):
        copy[name] = vDDDTypes(event[name].dt + timedelta(hours=1))
    return copy


def _patches(w: PushWorld) -> list[tuple[str, dict[str, object]]]:
    return [(r.url.path, json.loads(r.content)) for r in w.requests if r.method == "PATCH"]


async def test_an_update_patches_only_the_changed_fields(tmp_path: Path) -> None:
    async with PushWorld(tmp_path, "b2core") as w:
        feed = await w.feed()
        (uid_a, a), (uid_b, b), *rest = sorted(events_of(feed).items())
        id_a = w.state.item_by_uid(uid_a).native_key  # type: ignore[union-attr]
        id_b = w.state.item_by_uid(uid_b).native_key  # type: ignore[union-attr]
        upload = with_events(
            feed, [renamed(a, "New caption"), _an_hour_later(b), *(e for _, e in rest)]
        )

        out = await w.push(w.calendar, upload)

        assert out.plan[0] == (
            f'PATCH /api/v2/calendars/events/{id_a}: update "{summary_of(a)}" (UID {uid_a}): '
            f"caption {summary_of(a)} -> New caption"
        )
        assert out.plan[1].startswith(f"PATCH /api/v2/calendars/events/{id_b}: update ")
        patches = _patches(w)
        assert patches[0] == (f"/api/v2/calendars/events/{id_a}", {"caption": "New caption"})
        assert patches[1][0] == f"/api/v2/calendars/events/{id_b}"
        assert sorted(patches[1][1]) == ["endDate", "startDate"]
        stored = w.sim.event(id_b)
        before = b["DTSTART"].dt
        assert stored["startDate"].startswith((before + timedelta(hours=1)).strftime("%Y-%m-%dT%H"))
        # B2CORE ids survive edits: the rows keep their keys.
        assert w.state.item_by_uid(uid_a).native_key == id_a  # type: ignore[union-attr]
        after = events_of(await w.feed())
        assert summary_of(after[uid_a]) == "New caption"
        assert after[uid_b]["DTSTART"].dt == before + timedelta(hours=1)


async def test_what_b2core_cannot_hold_is_refused(tmp_path: Path) -> None:
    async with PushWorld(tmp_path, "b2core") as w:
        feed = await w.feed()
        first, *rest = [events_of(feed)[u] for u in sorted(events_of(feed))]
        upload = with_events(
            feed,
            [renamed(first, "A valid edit"), *rest, *fixture_events("push_b2core_unsupported.ics")],
        )
        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, upload)

        assert info.value.status == 422
        assert info.value.message == (
            "4 event(s) cannot be written to the b2core API; nothing was applied"
        )
        cannot = "B2CORE calendar event cannot hold: "
        assert info.value.lines == [
            f"b2core-rrule@example.org: {cannot}RRULE (B2CORE events do not repeat; each "
            "occurrence would need its own event)",
            f"b2core-allday@example.org: {cannot}all-day DTSTART;VALUE=DATE (B2CORE has no "
            "all-day events; give a start time)",
            f"b2core-rdate@example.org: {cannot}RDATE (B2CORE events do not repeat)",
            f"b2core-attendee@example.org: {cannot}ATTENDEE tel:+33123456789 (B2CORE "
            "recipients are e-mail addresses, mailto:)",
        ]
        assert w.writes_sent() == []
        assert "A valid edit" not in w.api_events(await w.ref(w.calendar))
