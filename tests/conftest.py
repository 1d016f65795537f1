"""Suite-wide settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from support.postgres import Cluster

from icsbridge.config.daemon.state import PostgresState, StateLocation

# Property tests judge results, never speed: Hypothesis' per-example deadline turned a
# loaded machine into failures (test_prepared_path_gives_the_same_bytes_and_hash under a
# load average of 6). Speed is measured in bench/, side by side with a reference.
settings.register_profile("icsbridge", deadline=None)
settings.load_profile("icsbridge")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """The session's throwaway PostgreSQL (started by the first test that asks)."""
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_dsn(postgres_cluster: Cluster) -> str:
    """A fresh, empty database of the session's cluster."""
    return postgres_cluster.database()


@pytest.fixture(params=["sqlite", "postgresql"])
def new_state(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], StateLocation]:
    """Makes a test's states, once per backend: ``new_state("cached.sqlite")`` is that
    file in ``tmp_path``, or a fresh database of the session's PostgreSQL."""
    if request.param == "sqlite":
        return lambda name: tmp_path / name
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    return lambda _name: PostgresState(cluster.database())


@pytest.fixture
def state_at(new_state: Callable[[str], StateLocation]) -> StateLocation:
    """Where a test's one state lives, once per backend (see :func:`new_state`)."""
    return new_state("state.sqlite")


# Left out of a --state-backend=postgresql run: tests of the SQLite file itself (damaged,
# deleted, replaced, full disk, locked, its trace callback, its migrations from a file) and
# tests whose state is opened by child processes this process cannot map. They run on
# SQLite in the normal run; PostgreSQL's own failures have tests of their own
# (tests/daemon/store/test_postgres_*.py, tests/daemon/service/test_several_daemons*.py).
SQLITE_ONLY = (
    "tests/daemon/store/test_state_failures.py::",
    "tests/daemon/store/test_state.py::test_new_state_file_is_private",
    "tests/daemon/store/test_state.py::test_state_from_a_newer_icsbridge_is_refused",
    "tests/daemon/store/test_state.py::test_garbage_state_file_gives_one_line",
    "tests/daemon/store/test_state.py::test_version_1_state_is_migrated",
    "tests/daemon/store/test_state.py::test_the_calendars_of_many_uids_are_read_in_chunks",
    "tests/daemon/store/test_state.py::test_the_row_of_one_uid_is_read_alone",
    "tests/daemon/push/test_uid_owner.py::test_the_owners_of_an_uploads_new_uids_are_read",
    "tests/daemon/push/test_crash.py::",  # `icsbridge push` children
    "tests/daemon/service/test_state_file.py::test_a_state_file_",
    "tests/daemon/web/test_writes_state.py::",  # full disk, a state that cannot save
    "tests/daemon/cli/test_check.py::test_check_refuses_what_run_refuses_in_the_same_line[state",
    "tests/daemon/feeds/test_store_shared.py::test_a_sqlite_state_",
    "tests/daemon/sync/test_turn.py::test_a_sqlite_state_",
    "tests/daemon/web/test_metrics.py::test_a_sqlite_state_",
    "tests/daemon/feeds/test_store_windows.py::test_check_feeds_",  # check reads the file
    "tests/daemon/feeds/test_store_windows.py::test_a_feed_over_its_budget_is_named",
    # On PostgreSQL a restarted daemon serves the stored feeds at once, before its sync.
    "tests/daemon/caldav/test_restart.py::test_events_are_503_until_the_first_sync",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--state-backend") != "postgresql":
        return
    kept = [item for item in items if not item.nodeid.startswith(SQLITE_ONLY)]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--state-backend",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="postgresql: every state a test opens by a SQLite path is a fresh database of "
        "the session's PostgreSQL instead (the same path, the same database)",
    )


@pytest.fixture(autouse=True)
def _state_backend(request: pytest.FixtureRequest) -> Iterator[None]:
    """With ``--state-backend=postgresql``, every StateStore opened on a SQLite path in
    this process opens a database of the session's PostgreSQL instead (the same path, the
    same database): the state-touching suite, run once more on the other backend. Its own
    MonkeyPatch, so a test's ``monkeypatch.undo()`` leaves it in place."""
    if request.config.getoption("--state-backend") != "postgresql":
        yield
        return
    from icsbridge.daemon.store.state import StateStore

    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    databases: dict[Path, PostgresState] = {}
    opened = StateStore.__init__

    def on_postgresql(self: StateStore, location: StateLocation) -> None:
        if isinstance(location, Path):
            key = location.resolve()
            if key not in databases:
                databases[key] = PostgresState(cluster.database())
            location = databases[key]
        opened(self, location)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(StateStore, "__init__", on_postgresql)
        yield
