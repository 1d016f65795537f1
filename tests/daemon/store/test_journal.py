"""The state store's push tables: the journal and vdir file hashes (schema 3)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from icsbridge.config.daemon.state import StateLocation
from icsbridge.daemon.store.schema import MIGRATIONS, SCHEMA_VERSION
from icsbridge.daemon.store.state import ItemRow, StateStore

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_a_version_2_state_gets_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    db = sqlite3.connect(path)
    for version in (1, 2):
        for statement in MIGRATIONS[version].split(";"):
            if statement.strip():
                db.execute(statement)
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    with StateStore(path) as state:
        assert state.schema_version == SCHEMA_VERSION == 6
        with state.transaction():
            state.journal_add("b", "hq", "hq/c", ['{"x": 1}'], T0)
        assert [e.write for e in state.journal_pending("hq")] == ['{"x": 1}']


def test_journal_entries_are_pending_until_finished_in_order(state_at: StateLocation) -> None:
    with StateStore(state_at) as state:
        with state.transaction():
            ids = state.journal_add("b1", "hq", "hq/c", ["one", "two", "three"], T0)
            state.journal_add("b2", "other", "other/c", ["x"], T0)
        assert [e.write for e in state.journal_pending("hq")] == ["one", "two", "three"]
        with state.transaction():
            state.journal_finish(ids[0], "done", T0, result_key="k1")
            state.journal_finish(ids[2], "cancelled", T0, detail="an earlier call failed")
        assert [e.write for e in state.journal_pending("hq")] == ["two"]
        assert [e.status for e in state.journal_entries("b1")] == ["done", "pending", "cancelled"]


def test_settled_entries_older_than_30_days_go_pending_ones_stay(state_at: StateLocation) -> None:
    with StateStore(state_at) as state:
        with state.transaction():
            done, _pending = state.journal_add("old", "hq", "hq/c", ["done", "pending"], T0)
            state.journal_finish(done, "done", T0)
        later = T0 + timedelta(days=31)
        with state.transaction():
            state.journal_add("new", "hq", "hq/c", ["new"], later)
        assert [e.write for e in state.journal_entries("old")] == ["pending"]
        assert [e.write for e in state.journal_pending("hq")] == ["pending", "new"]


def test_put_item_replaces_by_uid_and_by_key(state_at: StateLocation) -> None:
    row = ItemRow("u1", "hq", "hq/c", "k1", "", "h", T0, 0)
    with StateStore(state_at) as state:
        with state.transaction():
            state.put_item(row)
            state.put_item(ItemRow("u1", "hq", "hq/c", "k2", "", "h2", T0, 1))  # re-keyed
            state.put_item(ItemRow("u2", "hq", "hq/c", "k2", "", "h3", T0, 0))  # takes k2
        assert [(r.uid, r.native_key) for r in state.items("hq", "hq/c")] == [("u2", "k2")]
        assert state.item_by_uid("u1") is None
        with state.transaction():
            state.forget_item("u2")
        assert state.items("hq", "hq/c") == []


def test_vdir_hashes_round_trip_per_calendar(state_at: StateLocation) -> None:
    with StateStore(state_at) as state:
        with state.transaction():
            state.set_vdir_hashes("hq", "hq/a", {"x.ics": "1", "y.ics": "2"})
            state.set_vdir_hashes("hq", "hq/b", {"z.ics": "3"})
            state.set_vdir_hashes("hq", "hq/a", {"y.ics": "4"})
        assert state.vdir_hashes("hq", "hq/a") == {"y.ics": "4"}
        assert state.vdir_hashes("hq", "hq/b") == {"z.ics": "3"}
        assert state.vdir_calendars("hq") == ["hq/a", "hq/b"]
        assert state.vdir_calendars("other") == []


def test_a_thousand_writes_are_journalled_in_one_statement_with_their_ids_in_order(
    state_at: StateLocation,
) -> None:
    # One INSERT round trip per write cost a 1,000-event upload ~40 ms of event loop on
    # PostgreSQL; the ids must still follow the writes' order (the engine applies by them).
    writes = [f"write {n}" for n in range(1000)]
    with StateStore(state_at) as state:
        with state.transaction():
            state.journal_add("b0", "hq", "hq/c", ["before"], T0)
            ids = state.journal_add("b1", "hq", "hq/c", writes, T0)
        assert ids == sorted(ids) and len(set(ids)) == 1000
        by_id = {e.id: e.write for e in state.journal_entries("b1")}
        assert [by_id[i] for i in ids] == writes
