from __future__ import annotations

import os
import socket
import sqlite3
import stat
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import ANY

import pytest

from icsbridge.config.daemon.state import PostgresState, StateLocation
from icsbridge.daemon.store.feeds import FeedRecord
from icsbridge.daemon.store.opening import reach_problem
from icsbridge.daemon.store.postgres.backend import PostgresBackend
from icsbridge.daemon.store.schema import MIGRATIONS, SCHEMA_VERSION
from icsbridge.daemon.store.state import (
    ItemRow,
    StateError,
    StateStore,
    rows_digest,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _row(uid: str, key: str, calendar: str = "hq/cal") -> ItemRow:
    return ItemRow(
        uid=uid,
        source="hq",
        calendar=calendar,
        native_key=key,
        rename_hint="h-" + key,
        content_hash="c-" + key,
        modified=T0,
        sequence=0,
    )


def test_new_state_file_is_private_and_at_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.sqlite"
    with StateStore(path) as state:
        assert state.schema_version == SCHEMA_VERSION
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_items_survive_reopening(state_at: StateLocation) -> None:
    with StateStore(state_at) as state, state.transaction():
        state.replace_items("hq", "hq/cal", [_row("u1@x", "k1"), _row("u2@x", "k2")])
    with StateStore(state_at) as state:
        rows = state.items("hq", "hq/cal")
    assert [r.uid for r in rows] == ["u1@x", "u2@x"]
    assert rows[0].modified == T0


def test_failed_transaction_changes_nothing(state_at: StateLocation) -> None:
    with StateStore(state_at) as state:
        with state.transaction():
            state.replace_items("hq", "hq/cal", [_row("u1@x", "k1")])
        with pytest.raises(RuntimeError), state.transaction():
            state.replace_items("hq", "hq/cal", [_row("u9@x", "k9")])
            raise RuntimeError("boom")
        assert [r.uid for r in state.items("hq", "hq/cal")] == ["u1@x"]


def test_state_from_a_newer_icsbridge_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    StateStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="newer than this icsbridge understands"):
        StateStore(path)


def test_garbage_state_file_gives_one_line(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError) as err:
        StateStore(path)
    assert str(err.value).startswith(f"state file {path}: cannot be used as a SQLite database")
    assert "\n" not in str(err.value)


def test_secrets_and_source_status(state_at: StateLocation) -> None:
    with StateStore(state_at) as state:
        assert state.get_secret("webex:hq:refresh_token") is None
        state.set_secret("webex:hq:refresh_token", "r1")
        state.set_secret("webex:hq:refresh_token", "r2")
        state.record_attempt("hq", T0, None)
        state.record_attempt("hq", T0.replace(hour=10), 'source "hq": boom')
    with StateStore(state_at) as state:
        assert state.get_secret("webex:hq:refresh_token") == "r2"
        status = state.source_status("hq")
        assert status.last_success == T0
        assert status.last_attempt == T0.replace(hour=10)
        assert status.last_error == 'source "hq": boom'


def test_naive_datetimes_are_refused(state_at: StateLocation) -> None:
    with StateStore(state_at) as state, pytest.raises(ValueError, match="naive"):
        state.record_attempt("hq", datetime(2026, 1, 1), None)


def test_version_1_state_is_migrated_keeping_its_items(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[1].split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO items (uid, source, calendar, native_key, rename_hint, content_hash,"
        " modified, sequence) VALUES ('u@x', 'hq', 'hq/c', 'k', 'h', 'c', ?, 0)",
        (T0.isoformat(),),
    )
    db.commit()
    db.close()
    with StateStore(path) as state:
        assert state.schema_version == SCHEMA_VERSION
        assert [r.uid for r in state.items("hq", "hq/c")] == ["u@x"]
        state.set_feed_token("hq/c", "tok", T0)
        assert state.feed_tokens() == {"hq/c": "tok"}


def test_feed_tokens_rotate_and_records_round_trip(state_at: StateLocation) -> None:
    with StateStore(state_at) as state:
        state.set_feed_token("support", "old", T0)
        state.set_feed_token("support", "new", T0)
        assert state.feed_tokens() == {"support": "new"}
        record = FeedRecord("support", "/f/support.ics", '"abc"', T0, 3, 1200)
        state.set_feed_record(record)
        assert state.feed_records() == {"support": record}
        state.forget_feed("support")
        assert state.feed_records() == {}


def test_items_digest_matches_the_rows_written_and_moves_with_them(state_at: StateLocation) -> None:
    """The daemon reuses a calendar whole when its rows' digest is unchanged: the digest
    read back must equal the one of the rows written, and differ once one changes."""
    rows = [_row("b@x", "kb"), _row("a@x", "ka")]  # written in any order
    with StateStore(state_at) as store:
        with store.transaction():
            store.replace_items("hq", "hq/cal", rows)
        assert store.items_digest("hq", "hq/cal") == rows_digest(rows)
        store.put_item(replace(rows[0], sequence=rows[0].sequence + 1))
        assert store.items_digest("hq", "hq/cal") != rows_digest(rows)
        assert store.items_digest("hq", "hq/other") == rows_digest([])


def test_the_digests_of_a_sources_calendars_read_at_once_equal_each_calendars(
    state_at: StateLocation,
) -> None:
    """A sync reads every calendar's digest in one query: each must be the one the
    calendar's own query gives, another source's rows must not count, and a calendar
    without rows is absent."""
    cal = [_row("b@x", "kb"), _row("a@x", "ka")]
    other = [_row("c@x", "kc", calendar="hq/other")]
    elsewhere = [replace(_row("d@x", "kd"), source="branch", calendar="branch/cal")]
    with StateStore(state_at) as store:
        with store.transaction():
            store.replace_items("hq", "hq/cal", cal)
            store.replace_items("hq", "hq/other", other)
            store.replace_items("branch", "branch/cal", elsewhere)
        assert store.items_digests("hq") == {
            "hq/cal": store.items_digest("hq", "hq/cal"),
            "hq/other": store.items_digest("hq", "hq/other"),
        }
        assert store.items_digests("hq")["hq/cal"] == rows_digest(cal)
        assert store.items_digests("nobody") == {}


def test_the_digests_a_sync_reads_follow_every_write_to_the_items(
    state_at: StateLocation,
) -> None:
    """On SQLite the digests are kept while nothing wrote to the items: every write
    through the store, a transaction rolled back after a read inside it, and a commit
    by another connection (another process) must each be seen at the next read."""
    cal = [_row("a@x", "ka"), _row("b@x", "kb")]

    def fresh(store: StateStore) -> dict[str, bytes]:
        return {"hq/cal": store.items_digest("hq", "hq/cal")}

    with StateStore(state_at) as store, StateStore(state_at) as other:
        with store.transaction():
            store.replace_items("hq", "hq/cal", cal)
        assert store.items_digests("hq") == fresh(store) == {"hq/cal": rows_digest(cal)}
        store.put_item(replace(cal[0], sequence=5))
        assert store.items_digests("hq") == fresh(store)
        store.forget_item("b@x")
        assert store.items_digests("hq") == fresh(store)
        before = store.items_digests("hq")
        with pytest.raises(RuntimeError), store.transaction():
            store.replace_items("hq", "hq/cal", cal)
            assert store.items_digests("hq") == {"hq/cal": rows_digest(cal)}
            raise RuntimeError("undone")
        assert store.items_digests("hq") == before == fresh(store)
        with other.transaction():  # another connection commits
            other.replace_items("hq", "hq/cal", [replace(cal[1], sequence=9)])
        assert store.items_digests("hq") == fresh(store) != before
        store.items_digests("hq")
        with store.transaction():  # a sync's own write keeps the digests, updated
            store.replace_items("hq", "hq/cal", cal)
            store.replace_items("hq", "hq/new", [_row("n@x", "kn", calendar="hq/new")])
        assert (
            store.items_digests("hq")
            == {**fresh(store), "hq/new": ANY}
            == {
                "hq/cal": rows_digest(cal),
                "hq/new": store.items_digest("hq", "hq/new"),
            }
        )
        with store.transaction():
            store.replace_items("hq", "hq/new", [])
        assert store.items_digests("hq") == fresh(store)
        store.forget_calendar("hq", "hq/cal")
        assert store.items_digests("hq") == {}


def test_the_calendars_of_many_uids_are_read_in_chunks_under_sqlites_variable_limit(
    tmp_path: Path,
) -> None:
    # One query per UID cost an upload of N new events N SELECTs on the loop; one IN (...)
    # of them all would pass SQLite's limit on variables (32,766) for a big upload.
    with StateStore(tmp_path / "s.sqlite") as state:
        with state.transaction():
            state.replace_items("hq", "hq/a", [_row("u1", "k1", "hq/a")])
            state.replace_items("hq", "hq/b", [_row("u2", "k2", "hq/b")])
        statements: list[str] = []
        state._db._db.set_trace_callback(statements.append)
        wanted = [f"new-{n}" for n in range(40_000)] + ["u2", "u1"]
        assert state.calendars_of_uids(wanted) == {"u1": "hq/a", "u2": "hq/b"}
        assert len(statements) == -(-len(wanted) // 500)
        assert state.calendar_of_uid("u2") == "hq/b"
        assert state.calendar_of_uid("nobody") is None


def test_the_row_of_one_uid_is_read_alone_not_with_its_whole_calendar(tmp_path: Path) -> None:
    # A push recorded each applied update by reading every row of its calendar: a push of
    # N updates read N x N rows, on the loop.
    with StateStore(tmp_path / "s.sqlite") as state:
        rows = [_row(f"u{n}", f"k{n}") for n in range(50)]
        with state.transaction():
            state.replace_items("hq", "hq/cal", rows)
        statements: list[str] = []
        state._db._db.set_trace_callback(statements.append)
        assert state.item_by_uid("u7") == rows[7]
        assert state.item_by_uid("nobody") is None
        assert len(statements) == 2
        assert not any("calendar = " in s for s in statements)


def test_key_columns_sort_in_binary_order_on_both_backends(state_at: StateLocation) -> None:
    """Digests compare rows in ``ORDER BY uid`` order with Python's sort: a language
    collation (the test databases' default) orders these three otherwise."""
    rows = [_row("a1@x", "k1"), _row("_z@x", "k2"), _row("B@x", "k3")]
    with StateStore(state_at) as state:
        with state.transaction():
            state.replace_items("hq", "hq/cal", rows)
        assert [r.uid for r in state.items("hq", "hq/cal")] == ["B@x", "_z@x", "a1@x"]
        assert state.items_digest("hq", "hq/cal") == rows_digest(rows)


def test_a_version_1_postgresql_state_is_migrated_keeping_its_items(postgres_dsn: str) -> None:
    location = PostgresState(postgres_dsn)
    db = PostgresBackend(location)
    for statement in MIGRATIONS[1].split(";"):
        if statement.strip():
            db.execute(db.ddl(statement))
    db.set_schema_version(1)
    db.execute(
        "INSERT INTO items (uid, source, calendar, native_key, rename_hint, content_hash,"
        " modified, sequence) VALUES ('u@x', 'hq', 'hq/c', 'k', 'h', 'c', ?, 0)",
        (T0.isoformat(),),
    )
    db.close()
    with StateStore(location) as state:
        assert state.schema_version == SCHEMA_VERSION
        assert [r.uid for r in state.items("hq", "hq/c")] == ["u@x"]
        with state.transaction():
            ids = state.journal_add("b", "hq", "hq/c", ["one", "two"], T0)
        assert ids == [ids[0], ids[0] + 1]


def test_postgresql_state_from_a_newer_icsbridge_is_refused(postgres_dsn: str) -> None:
    location = PostgresState(postgres_dsn)
    StateStore(location).close()
    db = PostgresBackend(location)
    db.set_schema_version(SCHEMA_VERSION + 1)
    db.close()
    with pytest.raises(StateError) as err:
        StateStore(location)
    assert str(err.value) == (
        f"state database {postgres_dsn}: schema version {SCHEMA_VERSION + 1} is newer than "
        f"this icsbridge understands ({SCHEMA_VERSION}); upgrade icsbridge"
    )
    assert reach_problem(location) == str(err.value)


def test_an_unreachable_postgresql_state_is_one_line(tmp_path: Path) -> None:
    location = PostgresState(f"postgresql:///nodb?host={tmp_path}&user=icsbridge")
    with pytest.raises(StateError) as err:
        StateStore(location)
    line = str(err.value)
    assert line.startswith(f"state database {location.dsn}: ")
    assert line.endswith(
        "; check [daemon].state, that the server runs and that the role may connect "
        "and create tables"
    )
    assert "\n" not in line
    assert reach_problem(location) == line


def test_the_process_whose_sync_succeeded_is_recorded(state_at: StateLocation) -> None:
    me = f"{socket.gethostname()}:{os.getpid()}"
    with StateStore(state_at) as state:
        state.record_attempt("hq", T0, 'source "hq": boom')
        assert state.source_status("hq").synced_by is None
        state.record_attempt("hq", T0, None)
        state.record_attempt("hq", T0.replace(hour=10), 'source "hq": boom')
        assert state.source_status("hq").synced_by == me
        assert state.lock_holder("hq") is None
