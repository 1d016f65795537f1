"""Conflicts: the API changed an event since the last sync and the calendar changed it
too; each ``conflict`` policy, for every writable kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from icalendar import Event
from support.push_world import (
    WRITABLE_KINDS,
    PushWorld,
    events_of,
    renamed,
    summary_of,
    with_events,
)

from icsbridge.daemon.push.plan import PushRefused

pytestmark = pytest.mark.anyio

REFUSED = (
    "1 event(s) changed on both sides since the last sync; nothing was applied "
    "(re-subscribe or re-sync to get the API's version, or set "
    'conflict = "local-wins" / "remote-wins" on the source)'
)


@pytest.fixture(params=WRITABLE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _policy(name: str) -> str:
    return f'conflict = "{name}"\n'


async def _two_sided(w: PushWorld) -> tuple[bytes, Event, Event, list[Event], dict[str, str]]:
    """Sync; then the API changes event A (not its name). Returns the feed, A, B and the
    rest of the feed's events, and the calendar's ref."""
    feed = await w.feed()
    a, b, *rest = [events_of(feed)[uid] for uid in sorted(events_of(feed))]
    ref = await w.ref(w.calendar)
    w.remote_edit(ref, summary_of(a))
    return feed, a, b, rest, ref


async def test_reject_refuses_an_edit_of_an_event_the_api_changed(
    tmp_path: Path, kind: str
) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed, a, b, rest, ref = await _two_sided(w)
        api_before = {k: dict(v) for k, v in w.api_events(ref).items()}
        upload = with_events(feed, [renamed(a, "Edited A"), renamed(b, "Edited B"), *rest])

        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, upload)

        assert info.value.status == 409
        assert info.value.message == REFUSED
        assert info.value.lines == [
            f"{a['UID']}: changed in the API since the last sync, and edited here"
        ]
        assert w.writes_sent() == []
        assert {k: dict(v) for k, v in w.api_events(ref).items()} == api_before


async def test_reject_is_the_default_and_names_every_conflict(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed, a, b, rest, ref = await _two_sided(w)
        w.remote_edit(ref, summary_of(b))
        c, *others = rest
        # A edited, B deleted here; C edited only here.
        upload = with_events(feed, [renamed(a, "Edited A"), renamed(c, "Edited C"), *others])
        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, upload)
        assert info.value.status == 409
        assert info.value.message.startswith("2 event(s) changed on both sides")
        assert sorted(info.value.lines) == sorted(
            [
                f"{a['UID']}: changed in the API since the last sync, and edited here",
                f"{b['UID']}: changed in the API since the last sync, and deleted here",
            ]
        )
        assert w.writes_sent() == []


async def test_remote_wins_keeps_the_api_version_and_applies_the_rest(
    tmp_path: Path, kind: str
) -> None:
    async with PushWorld(tmp_path, kind, extra=_policy("remote-wins")) as w:
        feed, a, b, rest, ref = await _two_sided(w)
        changed_in_api = dict(w.api_events(ref)[summary_of(a)])
        upload = with_events(feed, [renamed(a, "Edited A"), renamed(b, "Edited B"), *rest])

        out = await w.push(w.calendar, upload)

        assert out.notes == [f"{a['UID']}: changed in the API since the last sync; kept the API's"]
        assert len(out.plan) == 1 and "Edited B" in out.plan[0]
        api = w.api_events(ref)
        assert "Edited B" in api and summary_of(b) not in api
        assert api[summary_of(a)] == changed_in_api
        after = events_of(await w.feed())
        assert summary_of(after[str(a["UID"])]) == summary_of(a)
        assert summary_of(after[str(b["UID"])]) == "Edited B"


async def test_local_wins_writes_the_calendar_version(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind, extra=_policy("local-wins")) as w:
        feed, a, b, rest, ref = await _two_sided(w)
        out = await w.push(w.calendar, with_events(feed, [renamed(a, "Edited A"), b, *rest]))

        assert out.notes == []
        assert len(out.plan) == 1 and "Edited A" in out.plan[0]
        api = w.api_events(ref)
        assert summary_of(a) not in api
        # The calendar's version whole: the API's change to A is overwritten too.
        again = await w.feed()
        for name in ("DTEND", "DESCRIPTION"):
            assert events_of(again)[str(a["UID"])][name].to_ical() == a[name].to_ical()
        assert summary_of(events_of(again)[str(a["UID"])]) == "Edited A"


@pytest.mark.parametrize(
    ("policy", "deleted", "note"),
    [
        ("remote-wins", False, "changed in the API since the last sync; not deleted"),
        ("local-wins", True, None),
    ],
)
async def test_a_local_delete_of_an_event_the_api_changed(
    tmp_path: Path, kind: str, policy: str, deleted: bool, note: str | None
) -> None:
    async with PushWorld(tmp_path, kind, extra=_policy(policy)) as w:
        feed, a, b, rest, ref = await _two_sided(w)
        out = await w.push(w.calendar, with_events(feed, [renamed(b, "Edited B"), *rest]))

        assert out.notes == ([f"{a['UID']}: {note}"] if note else [])
        assert (summary_of(a) in w.api_events(ref)) is not deleted
        assert "Edited B" in w.api_events(ref)
        assert (str(a["UID"]) in events_of(await w.feed())) is not deleted


@pytest.mark.parametrize("policy", ["reject", "remote-wins", "local-wins"])
async def test_a_local_edit_of_an_event_the_api_deleted(
    tmp_path: Path, kind: str, policy: str
) -> None:
    async with PushWorld(tmp_path, kind, extra=_policy(policy)) as w:
        feed = await w.feed()
        a, *rest = [events_of(feed)[uid] for uid in sorted(events_of(feed))]
        ref = await w.ref(w.calendar)
        w.remote_delete(ref, summary_of(a))
        upload = with_events(feed, [renamed(a, "Edited A"), *rest])
        if policy == "reject":
            with pytest.raises(PushRefused) as info:
                await w.push(w.calendar, upload)
            assert info.value.status == 409
            assert info.value.lines == [
                f"{a['UID']}: deleted in the API since the last sync, and edited here"
            ]
            assert w.writes_sent() == []
            return
        out = await w.push(w.calendar, upload)
        if policy == "remote-wins":
            assert out.notes == [
                f"{a['UID']}: deleted in the API since the last sync; kept the API's"
            ]
            assert w.writes_sent() == []
            assert str(a["UID"]) not in events_of(await w.feed())
        else:  # local-wins: made again, under its UID
            assert [line.split(" ", 1)[0] for line in out.plan] == ["POST"]
            assert summary_of(events_of(await w.feed())[str(a["UID"])]) == "Edited A"
