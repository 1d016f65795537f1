"""Pushing to APIO (BroadWorks) schedules: periods are keyed by name, so a rename goes
through the schedule PUT with newName and re-keys the UID's row; what the simple
families cannot hold is refused, every event named."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from icalendar import Event, vDDDTypes
from support.push_world import (
    PushWorld,
    by_summary,
    events_of,
    fixture_events,
    renamed,
    summary_of,
    with_events,
)

from icsbridge.daemon.push.plan import PushRefused

pytestmark = pytest.mark.anyio

OFFICE_HOURS = "apio-demo/foogroup/time/Office Hours"
HOLIDAYS_PATH = "/tenants/foo/groups/foogroup/calendar_schedules/Belgian%20Holidays%202026/"


def _one_day_longer(event: Event) -> Event:
    copy = Event.from_ical(event.to_ical())
    copy["DTEND"] = vDDDTypes(event["DTEND"].dt + timedelta(days=1))
    return copy


@pytest.mark.parametrize(
    "calendar", ["apio-demo/foogroup/holiday/Belgian Holidays 2026", OFFICE_HOURS]
)
async def test_a_period_rename_rekeys_the_uid(tmp_path: Path, calendar: str) -> None:
    async with PushWorld(tmp_path, "apio") as w:
        feed = await w.feed(calendar)
        uid, event = sorted(events_of(feed).items())[0]
        old = summary_of(event)
        others = [e for u, e in events_of(feed).items() if u != uid]
        assert w.state.item_by_uid(uid).native_key == old  # type: ignore[union-attr]

        out = await w.push(calendar, with_events(feed, [*others, renamed(event, "Renamed period")]))

        assert len(out.plan) == 1
        method_path, _, what = out.plan[0].partition(": ")
        assert method_path.startswith("PUT /tenants/foo/groups/foogroup/") and method_path.endswith(
            "/"
        )
        assert what == f'update "{old}" (UID {uid}): name {old} -> Renamed period'
        sent = next(r for r in w.requests if r.method == "PUT")
        body = json.loads(sent.content)
        assert [(p["name"], p["newName"]) for p in body["periods"]] == [(old, "Renamed period")]
        ref = await w.ref(calendar)
        assert "Renamed period" in w.api_events(ref) and old not in w.api_events(ref)
        assert w.state.item_by_uid(uid).native_key == "Renamed period"  # type: ignore[union-attr]
        assert by_summary(await w.feed(calendar))["Renamed period"] == uid


async def test_a_change_without_rename_goes_to_the_period(tmp_path: Path) -> None:
    async with PushWorld(tmp_path, "apio") as w:
        feed = await w.feed()
        uid, event = next(
            (u, e) for u, e in sorted(events_of(feed).items()) if summary_of(e) == "Labour Day"
        )
        others = [e for u, e in events_of(feed).items() if u != uid]
        out = await w.push(w.calendar, with_events(feed, [*others, _one_day_longer(event)]))

        assert out.plan == [
            f'PUT {HOLIDAYS_PATH}Labour%20Day/: update "Labour Day" (UID {uid}): '
            "stopDay 2026-05-01 -> 2026-05-02"
        ]
        period = w.api_events(await w.ref(w.calendar))["Labour Day"]
        assert (period["startDay"], period["stopDay"]) == ("2026-05-01", "2026-05-02")


@pytest.mark.parametrize(
    ("calendar", "fixture", "lines"),
    [
        (
            "apio-demo/foogroup/holiday/Belgian Holidays 2026",
            "push_apio_holiday_unsupported.ics",
            [
                "apio-holiday-rrule@example.org: APIO holiday schedule period cannot hold: "
                "RRULE (a holiday period happens once) (the advanced family can hold it)",
                "apio-holiday-rdate@example.org: APIO holiday schedule period cannot hold: RDATE",
                "apio-holiday-zero@example.org: APIO holiday schedule period cannot hold: "
                "a zero-length event (a partial-day period needs a stop after its start)",
            ],
        ),
        (
            OFFICE_HOURS,
            "push_apio_time_unsupported.ics",
            [
                "apio-time-single@example.org: APIO time schedule period cannot hold: a single "
                "event without RRULE (a time period repeats every week or month; the holiday "
                "family can hold it)",
                "apio-time-interval@example.org: APIO time schedule period cannot hold: "
                "INTERVAL=2 (a time period repeats every week or month) (the advanced family "
                "can hold it)",
                "apio-time-count@example.org: APIO time schedule period cannot hold: COUNT=5 "
                "(a time period never ends) (the advanced family can hold it)",
                "apio-time-allday@example.org: APIO time schedule period cannot hold: an all-day "
                "event (a time period has start and stop times) (the advanced family can hold it)",
                "apio-time-twodays@example.org: APIO time schedule period cannot hold: more than "
                "one weekday (BYDAY=TH,FR) (the advanced family can hold it)",
            ],
        ),
    ],
    ids=["holiday", "time"],
)
async def test_what_a_simple_family_cannot_hold_is_refused(
    tmp_path: Path, calendar: str, fixture: str, lines: list[str]
) -> None:
    async with PushWorld(tmp_path, "apio") as w:
        feed = await w.feed(calendar)
        first, *rest = [events_of(feed)[u] for u in sorted(events_of(feed))]
        upload = with_events(
            feed, [renamed(first, "A valid edit"), *rest, *fixture_events(fixture)]
        )
        with pytest.raises(PushRefused) as info:
            await w.push(calendar, upload)
        assert info.value.status == 422
        assert info.value.message == (
            f"{len(lines)} event(s) cannot be written to the apio API; nothing was applied"
        )
        assert info.value.lines == lines
        assert w.writes_sent() == []
        assert "A valid edit" not in w.api_events(await w.ref(calendar))
