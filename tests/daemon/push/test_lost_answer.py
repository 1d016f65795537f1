"""A call the API applied but whose answer never came (a dropped connection, a timeout):
the push fails, and the event must still end up in the API once, under the client's UID.

Found by the soak (tests/soak): a B2CORE create whose answer was lost was created twice.
The failed push re-read the API, the re-read gave the landed event a UID of its own, and
the next sync's settling then took it for another item's event and sent the create again.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from support.push_world import WRITABLE_KINDS, PushWorld, by_summary, events_of, with_events
from support.push_world import with_uid as copied_as

from icsbridge.daemon.push.plan import PushRefused
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.writes import PlannedWrite

pytestmark = pytest.mark.anyio

NEW_UID = "answer-lost@example.org"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=WRITABLE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _names(w: PushWorld, ref: dict[str, str]) -> list[str]:
    if w.kind == "b2core":
        return [str(ev["caption"]) for ev in w.sim.events.values()]
    return list(w.api_events(ref))


async def test_a_create_whose_answer_was_lost_is_not_sent_again_after_the_re_read(
    tmp_path: Path, kind: str
) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        ref = await w.ref(w.calendar)
        events = events_of(feed)
        new = copied_as(events[sorted(events)[0]], NEW_UID, "Answer lost")
        send = w.source.send_write  # type: ignore[attr-defined]

        async def answer_lost(ref: Mapping[str, str], write: PlannedWrite) -> str | None:
            await send(ref, write)  # the API applies it...
            raise SourceError("POST: no answer (RemoteProtocolError); not retried")

        w.source.send_write = answer_lost  # type: ignore[attr-defined]
        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, with_events(feed, [*events.values(), new]))
        assert info.value.status == 502
        w.restart()
        after = await w.feed()  # the next sync settles the journal

        assert _names(w, ref).count("Answer lost") == 1
        assert [c for c in w.writes_sent() if c.startswith("POST")] != []
        assert len([c for c in w.writes_sent() if c.startswith("POST")]) == 1
        assert w.state.journal_pending(w.name) == []
        assert by_summary(after)["Answer lost"] == NEW_UID
