"""A UID is one item across the state store: an upload that brings another calendar's
UID into a calendar is refused (409) and names the calendar that has it."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.push_world import PushWorld, events_of, renamed, with_events, with_uid

from icsbridge.daemon.push.plan import PushRefused

pytestmark = pytest.mark.anyio

OTHER = {
    "webex": "webex-demo/locations/New York/holidays/US Holidays",
    "apio": "apio-demo/bargroup/holiday/Closures",
}


@pytest.mark.parametrize("kind", sorted(OTHER))
async def test_a_uid_of_another_calendar_is_409_naming_it_and_re_sending_does_not_churn(
    tmp_path: Path, kind: str
) -> None:
    # It was accepted, published under a generated UID without a word, and the event was
    # deleted and created again at every re-send of the same calendar.
    async with PushWorld(tmp_path, kind) as w:
        rendered = await w.sync()
        feed, other = rendered[w.calendar].data, rendered[OTHER[kind]].data
        uid, event = sorted(events_of(other).items())[0]
        copied = renamed(event, "Copied from the other one")
        upload = with_events(feed, [*events_of(feed).values(), copied])
        for _attempt in range(2):
            with pytest.raises(PushRefused) as info:
                await w.push(w.calendar, upload)
            assert info.value.status == 409
            assert info.value.message == (
                f'1 event(s) have a UID already used in calendar "{OTHER[kind]}"; nothing was '
                "applied (edit those events in their own calendar, or give them new UIDs)"
            )
            assert info.value.lines == [
                f'{uid}: already the UID of an event in calendar "{OTHER[kind]}"'
            ]
        assert w.writes_sent() == []
        again = await w.sync()
        assert again[w.calendar].data == feed
        assert again[OTHER[kind]].data == other
        assert w.state.calendar_of_uid(uid) == OTHER[kind]
        # A one-event PUT of that UID is refused the same way.
        with pytest.raises(PushRefused) as one:
            await w.push(w.calendar, with_events(feed, [copied]), scope="event", uid=uid)
        assert one.value.status == 409 and one.value.lines == info.value.lines


async def test_the_owners_of_an_uploads_new_uids_are_read_in_one_query_not_one_per_uid(
    tmp_path: Path,
) -> None:
    # Each new UID was looked up with its own SELECT, on the event loop.
    async with PushWorld(tmp_path, "webex") as w:
        feed = (await w.sync())[w.calendar].data
        first = next(iter(events_of(feed).values()))
        new = [with_uid(first, f"new-{n}@test", f"New {n}") for n in range(30)]
        statements: list[str] = []
        w.state._db._db.set_trace_callback(statements.append)
        upload = with_events(feed, [*events_of(feed).values(), *new])
        outcome = await w.push(w.calendar, upload, dry_run=True)
        assert len(outcome.plan) == 30
        lookups = [s for s in statements if "calendar FROM items WHERE uid" in s]
        assert len(lookups) == 1 and " IN (" in lookups[0]
