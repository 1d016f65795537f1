"""What a target cannot hold is said, never lost in silence (issue 14, item 4).

STATUS:CANCELLED became a live event on Webex and B2CORE; a B2CORE event created outside
the source's days_back/days_ahead window landed in the API and vanished from the feed,
after which its next edit was refused as "deleted in the API" (and local-wins would have
created a second copy).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from icalendar import Event, vDDDTypes, vText
from support.push_world import PushWorld, events_of, fixture_events, with_events

from icsbridge.daemon.push.plan import PushRefused

pytestmark = pytest.mark.anyio

CANCELLED = {e["UID"]: e for e in fixture_events("push_cancelled_event.ics")}
CLOSURE = "cancelled-closure@example.org"  # all-day: holiday schedules
MEETING = "cancelled-meeting@example.org"  # timed: B2CORE


def _cancelled(event: Event) -> Event:
    copy = Event.from_ical(event.to_ical())
    copy["STATUS"] = vText("CANCELLED")
    return copy


WEBEX_LINE = (
    "Webex location schedule cannot hold: STATUS:CANCELLED (a Webex event has no cancelled "
    "state, so it would stay live; delete the event to cancel it)"
)
B2CORE_LINE = (
    "B2CORE calendar event cannot hold: STATUS:CANCELLED (B2CORE has no cancelled state, so "
    "the event would stay live; delete the event to cancel it)"
)


@pytest.mark.parametrize(
    ("kind", "new", "line"), [("webex", CLOSURE, WEBEX_LINE), ("b2core", MEETING, B2CORE_LINE)]
)
async def test_a_cancelled_event_is_refused_not_made_live(
    tmp_path: Path, kind: str, new: str, line: str
) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        (uid, first), *rest = sorted(events_of(feed).items())
        upload = with_events(feed, [_cancelled(first), *(e for _, e in rest), CANCELLED[new]])

        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, upload)

        assert info.value.status == 422
        assert info.value.lines == [f"{uid}: {line}", f"{new}: {line}"]
        assert w.writes_sent() == []


async def test_a_cancelled_event_becomes_an_inactive_apio_period(tmp_path: Path) -> None:
    async with PushWorld(tmp_path, "apio") as w:
        feed = await w.feed()
        upload = with_events(feed, [*events_of(feed).values(), CANCELLED[CLOSURE]])

        out = await w.push(w.calendar, upload)

        assert len(out.plan) == 1
        period = w.api_events(await w.ref(w.calendar))["Office closure"]
        assert period["active"] is False
        assert events_of(await w.feed())[CLOSURE]["STATUS"] == "CANCELLED"


def _window_line(w: PushWorld, when: str, field: str, need: int) -> str:
    first, last = w.source.window()  # type: ignore[attr-defined]
    shown = f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
    fix = f"or set {field} = {need}" if need <= 3660 else f"({field} stops at 3660)"
    return (
        "B2CORE calendar event cannot hold: a time outside the window this source reads: "
        f"it {when}, the window is {shown} (days_back = 30, days_ahead = 180), so the feed "
        f"would never show it; move the event into the window {fix}"
    )


async def test_a_b2core_event_outside_the_window_is_refused_with_the_window_named(
    tmp_path: Path,
) -> None:
    async with PushWorld(tmp_path, "b2core") as w:
        feed = await w.feed()
        far = fixture_events("push_b2core_outside_window.ics")
        first, last = w.source.window()  # type: ignore[attr-defined]
        ahead = 180 + -(-(datetime(2099, 1, 5, 10, tzinfo=UTC) - last) // timedelta(days=1))
        behind = 30 + -(-(first - datetime(2001, 1, 5, 9, tzinfo=UTC)) // timedelta(days=1))

        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, with_events(feed, [*events_of(feed).values(), *far]))

        assert info.value.status == 422
        assert info.value.lines == [
            "b2core-far-ahead@example.org: "
            + _window_line(w, "ends 2099-01-05 10:00 UTC", "days_ahead", ahead),
            "b2core-far-behind@example.org: "
            + _window_line(w, "starts 2001-01-05 09:00 UTC", "days_back", behind),
        ]
        assert w.writes_sent() == []


async def test_a_b2core_event_moved_out_of_the_window_is_refused_not_lost_from_the_feed(
    tmp_path: Path,
) -> None:
    async with PushWorld(tmp_path, "b2core") as w:
        feed = await w.feed()
        (uid, event), *rest = sorted(events_of(feed).items())
        _, last = w.source.window()  # type: ignore[attr-defined]
        moved = Event.from_ical(event.to_ical())
        shift = last - event["DTSTART"].dt.astimezone(UTC) + timedelta(days=9)
        end: Any = event.get("DTEND", event["DTSTART"]).dt + shift
        moved["DTSTART"] = vDDDTypes(event["DTSTART"].dt + shift)
        if "DTEND" in event:
            moved["DTEND"] = vDDDTypes(end)
        need = 180 + -(-(end.astimezone(UTC) - last) // timedelta(days=1))

        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, with_events(feed, [moved, *(e for _, e in rest)]))

        assert info.value.lines == [
            f"{uid}: "
            + _window_line(w, f"ends {end.astimezone(UTC):%Y-%m-%d %H:%M} UTC", "days_ahead", need)
        ]
        assert w.writes_sent() == []
        assert uid in events_of(await w.feed())  # still there to be edited again
