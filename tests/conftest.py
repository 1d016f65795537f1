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
