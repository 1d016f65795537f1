"""The grants README's "Running several daemons" asks for: a role that owns the schema
migrates it, and a daemon's role with only SELECT, INSERT, UPDATE, DELETE on the tables
runs (its state, the journal's identity column: no grant on a sequence, the source lock
and who holds it); without the migration first it is refused with one line."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest
from support.postgres import Cluster

from icsbridge.config.daemon.state import PostgresState
from icsbridge.daemon.store.errors import StateError
from icsbridge.daemon.store.state import StateStore

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
_NAMES = count(1)


def _database_with_roles(cluster: Cluster) -> tuple[str, str]:
    """A database owned by a new role (it may create in its schema, as PostgreSQL 15
    gives the database owner) and a second, plain login role: their DSNs."""
    n = next(_NAMES)
    owner, app, database = f"icsb_owner{n}", f"icsb_app{n}", f"roles{n}"
    cluster.admin.execute(f"CREATE ROLE {owner} LOGIN")
    cluster.admin.execute(f"CREATE ROLE {app} LOGIN")
    cluster.admin.execute(f"CREATE DATABASE {database} OWNER {owner} TEMPLATE template0")
    dsn = cluster.dsn(database)
    return dsn.replace("user=postgres", f"user={owner}"), dsn.replace(
        "user=postgres", f"user={app}"
    )


def test_a_role_with_table_grants_only_runs_on_a_schema_another_role_migrated(
    postgres_cluster: Cluster,
) -> None:
    owner_dsn, app_dsn = _database_with_roles(postgres_cluster)
    app = app_dsn.rsplit("user=", 1)[1]
    with StateStore(PostgresState(owner_dsn)) as owner:  # creates and migrates the tables
        owner._db.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}"
        )
    with StateStore(PostgresState(app_dsn)) as state, StateStore(PostgresState(app_dsn)) as other:
        with state.transaction():
            state.journal_add("b1", "hq", "cal", ['{"op": "create"}'], T0)  # an identity column
            state.set_secret("webex-refresh", "r1")
        state.record_attempt("hq", T0, None)
        assert other.source_status("hq").last_success == T0
        with state.source_lock("hq") as taken:
            assert taken
            assert other.lock_holders(["hq"]) == {"hq": state.source_status("hq").synced_by}
        assert [e.calendar for e in other.journal_pending("hq")] == ["cal"]


def test_a_role_that_may_not_create_tables_is_told_so_in_one_line(
    postgres_cluster: Cluster,
) -> None:
    _owner_dsn, app_dsn = _database_with_roles(postgres_cluster)
    with pytest.raises(StateError) as err:
        StateStore(PostgresState(app_dsn))
    line = str(err.value)
    assert line.startswith(f"state database {app_dsn}: permission denied for schema public")
    assert line.endswith(
        "check [daemon].state, that the server runs and that the role may connect and create tables"
    )
    assert "\n" not in line
