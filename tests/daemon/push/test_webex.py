"""Pushing to Webex Calling schedules: a rename gives the event a new Webex id (the UID
stays), and every recurrence a location or person schedule cannot hold is refused."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
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

PERSON_LEAVE = "webex-demo/people/Alice Martin/holidays/Alice Leave"


async def test_a_rename_changes_the_webex_id_and_keeps_the_uid(tmp_path: Path) -> None:
    async with PushWorld(tmp_path, "webex") as w:
        feed = await w.feed()
        uid, event = next((u, e) for u, e in events_of(feed).items() if "RRULE" in e)
        old_name = summary_of(event)
        old_id = w.state.item_by_uid(uid).native_key  # type: ignore[union-attr]
        others = [e for u, e in events_of(feed).items() if u != uid]
        ref = await w.ref(w.calendar)
        held = dict(w.api_events(ref)[old_name])

        out = await w.push(w.calendar, with_events(feed, [*others, renamed(event, "Noel")]))

        assert len(out.plan) == 1
        assert out.plan[0].startswith("PUT /telephony/config/locations/")
        assert out.plan[0].split(": ", 1)[0].endswith(f"/events/{quote(old_id, safe='')}")
        assert out.plan[0].endswith(f'update "{old_name}" (UID {uid}): name {old_name} -> Noel')
        sent = next(r for r in w.requests if r.method == "PUT")
        assert json.loads(sent.content)["name"] == old_name
        assert json.loads(sent.content)["newName"] == "Noel"

        stored = w.sim.get_event(ref["owner_id"], ref["type"], "French Holidays", "Noel")
        assert stored["id"] != old_id
        assert w.state.item_by_uid(uid).native_key == stored["id"]  # type: ignore[union-attr]
        assert old_name not in w.api_events(ref)
        assert {k: v for k, v in stored.items() if k not in ("id", "name")} == {
            k: v for k, v in held.items() if k != "name"
        }
        after = events_of(await w.feed())
        assert summary_of(after[uid]) == "Noel"
        assert after[uid]["RRULE"].to_ical() == event["RRULE"].to_ical()
        assert len(after) == len(events_of(feed))


async def test_every_rule_a_location_schedule_cannot_hold_is_named(tmp_path: Path) -> None:
    async with PushWorld(tmp_path, "webex") as w:
        feed = await w.feed()
        first, *rest = [events_of(feed)[u] for u in sorted(events_of(feed))]
        upload = with_events(
            feed,
            [
                renamed(first, "A valid edit"),
                *rest,
                *fixture_events("push_webex_location_unsupported.ics"),
            ],
        )
        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, upload)

        assert info.value.status == 422
        assert info.value.message == (
            "6 event(s) cannot be written to the webex API; nothing was applied"
        )
        cannot = "Webex location schedule cannot hold: "
        assert info.value.lines == [
            f"webex-count@example.org: {cannot}"
            "COUNT (location schedules end only forever or on a date)",
            f"webex-daily@example.org: {cannot}daily recurrence (location schedules)",
            f"webex-monthly@example.org: {cannot}monthly recurrence (RRULE FREQ=MONTHLY)",
            f"webex-bysetpos@example.org: {cannot}BYSETPOS; BYDAY with more than one day "
            "in a yearly rule; BYDAY MO without a week number in a yearly rule",
            f"webex-interval@example.org: {cannot}yearly INTERVAL=2",
            f"webex-exdate@example.org: {cannot}EXDATE",
        ]
        assert w.writes_sent() == []
        assert "A valid edit" not in w.api_events(await w.ref(w.calendar))


async def test_a_person_schedule_refuses_yearly_rules(tmp_path: Path) -> None:
    async with PushWorld(tmp_path, "webex") as w:
        feed = await w.feed(PERSON_LEAVE)
        upload = with_events(
            feed,
            [*events_of(feed).values(), *fixture_events("push_webex_person_unsupported.ics")],
        )
        with pytest.raises(PushRefused) as info:
            await w.push(PERSON_LEAVE, upload)
        assert info.value.status == 422
        assert info.value.lines == [
            "webex-person-yearly@example.org: Webex person schedule cannot hold: "
            "yearly recurrence (person schedules)",
            "webex-person-nosummary@example.org: Webex person schedule cannot hold: "
            "missing SUMMARY (a Webex event needs a name)",
        ]
        assert w.writes_sent() == []
