"""The creation cap beside the deletion cap (test_engine): a whole-calendar upload that
would create more events than ``max_creates`` applies nothing, for every writable kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from icalendar import Event
from support.push_world import WRITABLE_KINDS, PushWorld, events_of, with_events, with_uid

from icsbridge.daemon.push.plan import PushRefused

pytestmark = pytest.mark.anyio


@pytest.fixture(params=WRITABLE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _new_events(feed: bytes, n: int) -> list[Event]:
    """``n`` events made in a calendar app: copies of the feed's first, each with a UID and
    a name of its own (Webex and APIO key events by name)."""
    template = events_of(feed)[sorted(events_of(feed))[0]]
    return [with_uid(template, f"new-{i}@example.org", f"Made here {i}") for i in range(n)]


async def test_an_upload_creating_more_than_max_creates_applies_nothing(
    tmp_path: Path, kind: str
) -> None:
    # Nothing capped creates: a 50,000-event upload planned 50,000 POSTs.
    async with PushWorld(tmp_path, kind, extra="max_creates = 1\n") as w:
        feed = await w.feed()
        kept = list(events_of(feed).values())
        new = _new_events(feed, 2)
        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, with_events(feed, [*kept, *new]))

        assert info.value.status == 422
        assert info.value.message == (
            "the upload would create 2 events, more than max_creates = 1; nothing was "
            "applied (raise max_creates on the source if meant)"
        )
        assert sorted(info.value.lines) == [
            "new-0@example.org: would be created",
            "new-1@example.org: would be created",
        ]
        assert w.writes_sent() == []
        assert set(events_of(await w.feed())) == set(events_of(feed))
        # Within the cap it applies.
        out = await w.push(w.calendar, with_events(feed, [*kept, new[0]]))
        assert len(out.plan) == 1 and out.plan[0].startswith("POST ")
        assert set(events_of(await w.feed())) == set(events_of(feed)) | {"new-0@example.org"}


async def test_the_default_creation_cap_is_a_hundred(tmp_path: Path) -> None:
    async with PushWorld(tmp_path, "b2core") as w:
        feed = await w.feed()
        kept = list(events_of(feed).values())
        new = _new_events(feed, 101)
        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, with_events(feed, [*kept, *new]), dry_run=True)
        assert info.value.status == 422
        assert "would create 101 events, more than max_creates = 100" in info.value.message
        assert len(info.value.lines) == 101
        out = await w.push(w.calendar, with_events(feed, [*kept, *new[:100]]), dry_run=True)
        assert len(out.plan) == 100
        assert w.writes_sent() == []


async def test_a_one_event_put_is_not_counted_against_max_creates(tmp_path: Path) -> None:
    # As max_deletes counts only whole-calendar uploads, so does max_creates.
    async with PushWorld(tmp_path, "b2core", extra="max_creates = 0\n") as w:
        feed = await w.feed()
        out = await w.push(w.calendar, with_events(feed, _new_events(feed, 1)), scope="event")
        assert len(out.plan) == 1 and out.plan[0].startswith("POST ")
