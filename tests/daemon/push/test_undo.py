"""A push the API refuses part way (something no plan can know, like a name taken in the
API since the pull) is undone: the calls applied before the refusal are taken back from
the journal, and the answer names what was undone and what still stands (issue 14: the
schedule was left with 2 of 111 events)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from icalendar import Event
from support.push_world import (
    WRITABLE_KINDS,
    PushWorld,
    by_summary,
    events_of,
    renamed,
    summary_of,
    with_events,
    with_uid,
)

from icsbridge.daemon.push.plan import PushRefused
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.writes import PlannedWrite

pytestmark = pytest.mark.anyio

NEW_UID = "made-offline@example.org"
CREATES = {"webex": "/events", "apio": "calendar_schedules", "b2core": "/calendars/events"}
"""Per kind, a part of the path its create (POST) goes to."""


@pytest.fixture(params=WRITABLE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _upload(feed: bytes) -> tuple[bytes, Event, Event]:
    """Delete B, rename A, create one: DELETE, then the rename, then the POST."""
    a, b, *rest = sorted(events_of(feed).values(), key=summary_of)
    new = with_uid(a, NEW_UID, "Created offline")
    return with_events(feed, [renamed(a, "Renamed offline"), *rest, new]), a, b


async def _api_names(w: PushWorld) -> list[str]:
    ref = await w.ref(w.calendar)
    if w.kind == "b2core":
        return sorted(str(ev["caption"]) for ev in w.sim.events.values())
    return sorted(w.api_events(ref))


async def test_a_refusal_half_way_undoes_what_applied(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        before_names = await _api_names(w)
        upload, a, b = _upload(feed)
        w.sim.inject(409, method="POST", path_contains=CREATES[kind])

        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, upload)

        message = info.value.message
        assert info.value.status == 502
        assert message.startswith("2 of 3 API call(s) applied; then POST ")
        assert message.endswith(
            "; the 2 call(s) applied before it were undone: nothing of it stands"
        )
        assert [line.split(":", 1)[0] for line in info.value.lines] == ["undone", "undone"]
        assert f"(UID {b['UID']})" in info.value.lines[0]  # the delete, oldest first
        assert f"(UID {a['UID']})" in info.value.lines[1]
        assert await _api_names(w) == before_names
        assert w.state.journal_pending(w.name) == []
        # Every event is back under its UID (a re-created one too, under a new key).
        assert by_summary(await w.feed()) == by_summary(feed)
        # The same upload, sent again once the API takes it, applies whole.
        out = await w.push(w.calendar, upload)
        assert len(out.plan) == 3
        after = by_summary(await w.feed())
        assert after["Renamed offline"] == str(a["UID"])
        assert after["Created offline"] == NEW_UID
        assert summary_of(b) not in after


async def test_an_undo_the_api_refuses_is_named_with_what_stands(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        upload, a, b = _upload(feed)
        # The create is refused, and so is creating the deleted event again.
        w.sim.inject(409, method="POST", path_contains=CREATES[kind], times=2)

        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, upload)

        message = info.value.message
        assert "; 1 of the 2 call(s) applied before it were undone, then undoing with POST " in (
            message
        )
        assert f'still standing: delete "{summary_of(b)}" (UID {b["UID"]})' in message
        assert [line.split(":", 1)[0] for line in info.value.lines] == ["undone", "stands"]
        assert info.value.lines[1].startswith("stands: DELETE ")
        after = by_summary(await w.feed())
        assert after[summary_of(a)] == str(a["UID"])  # renamed back
        assert summary_of(b) not in after  # what stands
        assert w.state.journal_pending(w.name) == []


def _refuse_call(w: PushWorld, call: int) -> None:
    """API call number ``call`` (0-based) of the next push is refused (409)."""
    send = w.source.send_write  # type: ignore[attr-defined]
    calls = {"n": 0}

    async def refusing(ref: Mapping[str, str], write: PlannedWrite) -> str | None:
        calls["n"] += 1
        if calls["n"] - 1 == call:
            raise SourceError(f"{write.method} {write.path}: 409 name taken", status=409)
        key: str | None = await send(ref, write)
        return key

    w.source.send_write = refusing  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["webex", "apio"])
async def test_a_swap_refused_at_its_last_call_is_renamed_back(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        before_names = await _api_names(w)
        a, b, *rest = sorted(events_of(feed).values(), key=summary_of)
        _refuse_call(w, 2)  # A aside, B -> A, then A -> B is refused

        with pytest.raises(PushRefused) as info:
            await w.push(
                w.calendar,
                with_events(feed, [renamed(a, summary_of(b)), renamed(b, summary_of(a)), *rest]),
            )

        assert info.value.message.endswith("were undone: nothing of it stands")
        assert await _api_names(w) == before_names  # no temporary name left
        assert by_summary(await w.feed()) == by_summary(feed)
        assert w.state.journal_pending(w.name) == []


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not even ``except Exception``)."""


@pytest.mark.parametrize("after_sending", [False, True])
async def test_an_undo_killed_part_way_is_finished_by_the_next_sync(
    tmp_path: Path, kind: str, after_sending: bool
) -> None:
    """The inverses are journalled: a kill at the first of them leaves the rest to the
    next sync, which finishes the undo."""
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        before_names = await _api_names(w)
        upload, _a, _b = _upload(feed)
        send = w.source.send_write  # type: ignore[attr-defined]
        calls = {"n": 0}

        async def failing(ref: Mapping[str, str], write: PlannedWrite) -> str | None:
            calls["n"] += 1
            if calls["n"] == 3:
                raise SourceError("409 name taken", status=409)
            if calls["n"] == 4 and not after_sending:
                raise Killed
            key: str | None = await send(ref, write)
            if calls["n"] == 4:
                raise Killed
            return key

        w.source.send_write = failing  # type: ignore[attr-defined]
        with pytest.raises(Killed):
            await w.push(w.calendar, upload)

        w.restart()
        assert by_summary(await w.feed()) == by_summary(feed)
        assert await _api_names(w) == before_names
        assert w.state.journal_pending(w.name) == []
