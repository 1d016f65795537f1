"""The CalDAV tables on both state backends (their SQL is one text: no INSERT OR REPLACE,
the column ``user`` quoted, blobs as BYTEA on PostgreSQL)."""

from __future__ import annotations

from icsbridge.config.daemon.state import StateLocation
from icsbridge.daemon.store.state import StateStore


def test_caldav_revisions_names_and_alarms_are_kept_on_either_backend(
    state_at: StateLocation,
) -> None:
    with StateStore(state_at) as state:
        first = state.caldav_observe("team", {"a.ics": '"1"', "b.ics": '"1"'})
        assert state.caldav_observe("team", {"a.ics": '"1"', "b.ics": '"1"'}) == first
        second = state.caldav_observe("team", {"a.ics": '"2"'})
        assert second.revision == first.revision + 1
        assert list(state.caldav_changes("team", first.revision)) == [
            ("a.ics", True),
            ("b.ics", False),
        ]
        state.set_caldav_name("team", "uid-1", "mine.ics")
        state.set_caldav_name("team", "uid-1", "renamed.ics")
        state.set_caldav_alarms("ana", "uid-1", b"BEGIN:VALARM\r\n")
        state.set_caldav_alarms("ana", "uid-1", b"BEGIN:VALARM\r\nEND:VALARM\r\n")
        state.set_caldav_alarms("ana", "uid-2", b"x")
        state.set_caldav_alarms("ana", "uid-2", None)
    with StateStore(state_at) as state:
        assert state.caldav_point("team") == second
        assert state.caldav_names("team") == {"uid-1": "renamed.ics"}
        assert state.caldav_alarms("ana", "uid-1") == b"BEGIN:VALARM\r\nEND:VALARM\r\n"
        assert state.caldav_user_alarms("ana") == {"uid-1": b"BEGIN:VALARM\r\nEND:VALARM\r\n"}
        assert state.caldav_alarms("ana", "uid-2") is None
