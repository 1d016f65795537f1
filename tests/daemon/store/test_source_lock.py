"""The source lock across processes, on both backends: an flock beside a SQLite file, a
session advisory lock on PostgreSQL that goes with its connection."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from support.postgres import Cluster

from icsbridge.config.daemon.state import PostgresState, StateLocation
from icsbridge.daemon.store.advisory import source_lock_key
from icsbridge.daemon.store.errors import StateUnavailable
from icsbridge.daemon.store.state import StateStore

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_the_source_lock_excludes_another_process(state_at: StateLocation) -> None:
    with (
        StateStore(state_at) as first,
        StateStore(state_at) as second,
        first.source_lock("hq") as taken,
    ):
        assert taken
        with second.source_lock("hq") as also:
            assert not also
        with second.source_lock("branch") as other:
            assert other  # one lock per source


def test_a_daemon_that_lost_its_connection_lost_its_lock_and_saves_nothing(
    postgres_dsn: str,
) -> None:
    """The lock lives on the connection the results are committed on: once the holder's
    session is gone (its machine died, the server dropped it) another daemon takes the
    source, and the first can no longer write what it was doing."""
    location = PostgresState(postgres_dsn)
    with StateStore(location) as first, StateStore(location) as second:
        with first.source_lock("hq") as taken:
            assert taken
            pid = first._db.execute("SELECT pg_backend_pid()").fetchone()[0]
            # Waits (up to 5 s) until that backend has exited, its locks released.
            second._db.execute("SELECT pg_terminate_backend(?, 5000)", (pid,))
            with second.source_lock("hq") as now_taken:
                assert now_taken
            # The store's error for a lost connection (daemon.store.errors), from psycopg's.
            with pytest.raises(StateUnavailable) as err, first.transaction():
                first.record_attempt("hq", T0, None)
            assert isinstance(err.value.__cause__, psycopg.OperationalError)
            assert first.file_problem() == (
                f"state database {postgres_dsn}: the connection was lost; icsbridge goes on "
                "serving what it has and connects again at each source's next sync"
            )
        assert second.source_status("hq").last_success is None


def test_a_released_source_lock_can_be_taken_by_another(state_at: StateLocation) -> None:
    with StateStore(state_at) as first, StateStore(state_at) as second:
        with first.source_lock("hq") as taken:
            assert taken
        with second.source_lock("hq") as taken:
            assert taken


def test_lock_keys_are_stable_per_source_and_fit_a_bigint() -> None:
    assert source_lock_key("hq") == source_lock_key("hq") != source_lock_key("hq2")
    assert -(2**63) <= source_lock_key("hq") < 2**63
    assert source_lock_key("hq") == 597385583613570788  # daemons of any version agree


def test_a_lock_in_another_database_of_the_cluster_is_not_this_states(
    postgres_cluster: Cluster,
) -> None:
    """Two icsbridge deployments on one server, each with a source "branch": each
    database has its own advisory locks, but pg_locks lists every database's, so who
    holds a source is asked of this database's rows only."""
    mine, theirs = postgres_cluster.database(), postgres_cluster.database()
    with (
        StateStore(PostgresState(mine)) as here,
        StateStore(PostgresState(theirs)) as there,
        there.source_lock("branch") as taken,
    ):
        assert taken
        assert here.lock_holders(["hq", "branch"]) == {}
        assert here.lock_holder("branch") is None
        assert there.lock_holders(["hq", "branch"]).keys() == {"branch"}
