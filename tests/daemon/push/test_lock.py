"""One push per source at a time, across processes: `icsbridge push` and the daemon share
the state file, so a push holds a lock beside it and a sync leaves its journal alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.push_world import NOW, PushWorld, events_of, renamed, with_events

from icsbridge.daemon.push.journal import push_lock
from icsbridge.daemon.push.plan import PushRefused
from icsbridge.daemon.sources.writes import PlannedWrite
from icsbridge.daemon.store.state import StateStore

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("push_state")]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_push_while_another_holds_the_lock_is_409_and_sends_nothing(
    tmp_path: Path,
) -> None:
    async with PushWorld(tmp_path, "b2core") as w:
        feed = await w.feed()
        first = events_of(feed)[sorted(events_of(feed))[0]]
        upload = with_events(
            feed, [renamed(first, "Locked out"), *list(events_of(feed).values())[1:]]
        )
        # Another process holds it: another connection to the same state.
        with StateStore(w.location) as other, push_lock(other, w.name) as taken:
            assert taken
            with pytest.raises(PushRefused) as info:
                await w.push(w.calendar, upload)
        assert info.value.status == 409
        assert info.value.message.startswith(f'another push to source "{w.name}" is running')
        assert w.writes_sent() == []
        await w.push(w.calendar, upload)  # the lock is free again
        assert len(w.writes_sent()) == 1


async def test_a_sync_leaves_the_pending_calls_of_a_running_push_alone(tmp_path: Path) -> None:
    async with PushWorld(tmp_path, "b2core") as w:
        await w.feed()
        ref = await w.ref(w.calendar)
        write = w.source.plan_write(  # type: ignore[attr-defined]
            ref,
            "create",
            "other-process@example.com",
            native_key=None,
            payload={
                "caption": "Being sent",
                "description": "",
                "startDate": "2026-12-01T09:00:00+00:00",
                "endDate": "2026-12-01T10:00:00+00:00",
                "notifications": [],
                "recipients": [],
            },
            base=None,
        )
        assert isinstance(write, PlannedWrite)
        with w.state.transaction():
            w.state.journal_add("b", w.name, w.calendar, [json.dumps(write.to_json())], NOW)
        with StateStore(w.location) as other, push_lock(other, w.name):  # another process
            # is pushing
            await w.sync()
        assert len(w.state.journal_pending(w.name)) == 1
        assert w.writes_sent() == []
        await w.sync()  # that process died: the next sync settles it
        assert w.state.journal_pending(w.name) == []
        assert w.writes_sent() == ["POST /api/v2/calendars/events"]
