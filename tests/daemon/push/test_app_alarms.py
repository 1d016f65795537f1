"""Alarms calendar apps add on their own are not edits (issue 14, item 3).

Apple's "no alert" placeholder became a B2CORE notification on every event of an
unchanged calendar (12 PATCHes), and a client's default 15-minute reminder one on every
event too (10 PATCHes). The fixtures hold the alarms as each app writes them; the tests
put them on the feed's own events, as the app does when it stores the calendar.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from icalendar import Alarm, Event
from support.push_world import (
    WRITABLE_KINDS,
    PushWorld,
    events_of,
    fixture_events,
    summary_of,
    with_events,
    with_uid,
)

pytestmark = pytest.mark.anyio

DEFAULT_REMINDERS = {
    "outlook": "push_alarm_outlook_default.ics",
    "google": "push_alarm_google_default.ics",
    "thunderbird": "push_alarm_thunderbird_default.ics",
}


def _alarms(fixture: str) -> list[Alarm]:
    return [alarm for event in fixture_events(fixture) for alarm in event.walk("VALARM")]


def _with_alarms(event: Event, alarms: list[Alarm]) -> Event:
    copy = Event.from_ical(event.to_ical())
    for alarm in alarms:
        copy.add_component(Alarm.from_ical(alarm.to_ical()))
    return copy


def _patches(w: PushWorld) -> list[tuple[str, dict[str, object]]]:
    return [(r.url.path, json.loads(r.content)) for r in w.requests if r.method == "PATCH"]


@pytest.mark.parametrize("kind", WRITABLE_KINDS)
async def test_an_apple_no_alert_placeholder_on_every_event_is_not_an_edit(
    tmp_path: Path, kind: str
) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        placeholder = _alarms("push_alarm_apple_placeholder.ics")
        events = [_with_alarms(ev, placeholder) for ev in events_of(feed).values()]

        out = await w.push(w.calendar, with_events(feed, events))

        assert (out.plan, out.notes, out.unchanged) == ([], [], len(events))
        assert w.writes_sent() == []


@pytest.mark.parametrize("app", sorted(DEFAULT_REMINDERS))
@pytest.mark.parametrize("kind", WRITABLE_KINDS)
async def test_a_default_reminder_on_every_event_is_not_an_edit(
    tmp_path: Path, kind: str, app: str
) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        reminder = _alarms(DEFAULT_REMINDERS[app])
        events = [_with_alarms(ev, reminder) for ev in events_of(feed).values()]

        out = await w.push(w.calendar, with_events(feed, events))

        assert (out.plan, out.notes, out.unchanged) == ([], [], len(events))
        assert w.writes_sent() == []


async def test_a_default_reminder_on_exactly_the_events_without_alarms_is_not_an_edit(
    tmp_path: Path,
) -> None:
    async with PushWorld(tmp_path, "b2core") as w:
        audit = w.api_events({})["Withdrawal queue audit"]
        w.sim.update_event(str(audit["id"]), {"notifications": []}, replace=False)
        feed = await w.feed()
        bare = {uid for uid, ev in events_of(feed).items() if not ev.walk("VALARM")}
        assert len(bare) == 2  # the audit and the risk committee
        reminder = _alarms(DEFAULT_REMINDERS["outlook"])
        events = [
            _with_alarms(ev, reminder) if uid in bare else ev for uid, ev in events_of(feed).items()
        ]

        out = await w.push(w.calendar, with_events(feed, events))

        assert (out.plan, out.unchanged) == ([], len(events))
        assert w.writes_sent() == []


async def test_a_reminder_the_user_adds_to_one_event_is_still_a_notification(
    tmp_path: Path,
) -> None:
    async with PushWorld(tmp_path, "b2core") as w:
        feed = await w.feed()
        uid, helios = next(
            (u, ev) for u, ev in events_of(feed).items() if summary_of(ev).startswith("Client")
        )
        event_id = w.state.item_by_uid(uid).native_key  # type: ignore[union-attr]
        reminder = _alarms(DEFAULT_REMINDERS["thunderbird"])
        events = [
            _with_alarms(ev, reminder) if u == uid else ev for u, ev in events_of(feed).items()
        ]

        out = await w.push(w.calendar, with_events(feed, events))

        assert out.plan == [
            f'PATCH /api/v2/calendars/events/{event_id}: update "{summary_of(helios)}" (UID '
            f"{uid}): notifications ['PT30M'] -> ['PT30M', 'PT15M']"
        ]
        assert out.notes == []  # B2CORE holds alarms: nothing to say
        assert _patches(w) == [
            (f"/api/v2/calendars/events/{event_id}", {"notifications": ["PT30M", "PT15M"]})
        ]


async def test_an_apple_placeholder_on_a_new_b2core_event_is_no_notification(
    tmp_path: Path,
) -> None:
    async with PushWorld(tmp_path, "b2core") as w:
        feed = await w.feed()
        first = next(iter(events_of(feed).values()))
        new = with_uid(first, "made-in-apple-calendar@example.org", "Made in Apple Calendar")
        for alarm in new.walk("VALARM"):
            new.subcomponents.remove(alarm)
        new = _with_alarms(new, _alarms("push_alarm_apple_placeholder.ics"))

        out = await w.push(w.calendar, with_events(feed, [*events_of(feed).values(), new]))

        assert len(out.plan) == 1 and out.plan[0].startswith("POST /api/v2/calendars/events:")
        created = w.api_events({})["Made in Apple Calendar"]
        assert created["notifications"] == []


@pytest.mark.parametrize("kind", ["webex", "apio"])
async def test_alarms_webex_and_apio_cannot_hold_are_said_in_the_plan(
    tmp_path: Path, kind: str
) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        uids = sorted(events_of(feed))
        reminder = _alarms(DEFAULT_REMINDERS["thunderbird"])
        # Two of the events only: a reminder on every one would be the app's default.
        events = [
            _with_alarms(ev, reminder) if u in uids[:2] else ev for u, ev in events_of(feed).items()
        ]

        out = await w.push(w.calendar, with_events(feed, events), dry_run=True)

        assert (out.plan, out.unchanged) == ([], len(events))
        assert out.notes == [
            f"alarms (VALARM) of 2 event(s) are not written: the {kind} API has no alarms "
            "(the calendar app keeps them)"
        ]
        assert (
            out.summary()
            == f"would send 0 API call(s); {len(events)} event(s) unchanged; 1 note(s)"
        )
