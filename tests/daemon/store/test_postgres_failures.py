"""PostgreSQL's failures are the store's errors, one line each, as SQLite's are: a full
disk (SQLSTATE 53100) is StateFull, a lost connection StateUnavailable, and a transaction
that meets one is rolled back without a second error hiding the first."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from icsbridge.config.daemon.state import PostgresState
from icsbridge.daemon.store.errors import StateFull, StateUnavailable
from icsbridge.daemon.store.postgres.backend import state_failure
from icsbridge.daemon.store.state import StateStore

DSN = "postgresql://icsbridge@db.invalid/icsbridge"


def test_a_full_disk_on_the_server_is_state_full_in_one_line() -> None:
    failure = state_failure(PostgresState(DSN), errors.DiskFull("could not extend file\nHINT"))
    assert isinstance(failure, StateFull)
    assert str(failure) == (
        f"state database {DSN}: cannot save, the server's disk is full (could not extend "
        "file HINT); free space on it"
    )


def test_a_bug_in_the_sql_is_not_mistaken_for_an_unavailable_state() -> None:
    assert state_failure(PostgresState(DSN), errors.UndefinedTable("no such table")) is None


def test_a_connection_the_server_dropped_is_state_unavailable_and_rolls_back(
    postgres_dsn: str,
) -> None:
    with StateStore(PostgresState(postgres_dsn)) as state:
        state.set_secret("k", "kept")
        admin = psycopg.connect(postgres_dsn, autocommit=True)
        with admin, pytest.raises(StateUnavailable) as err, state.transaction():
            state.set_secret("k", "lost")
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            state.set_secret("k", "lost again")
    assert str(err.value).startswith(f"state database {postgres_dsn}: cannot be read or saved")
    assert "\n" not in str(err.value)
    with StateStore(PostgresState(postgres_dsn)) as state:
        assert state.get_secret("k") == "kept"
