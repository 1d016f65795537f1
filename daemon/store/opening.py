"""Opening the state: whether it can be opened (by looking, or by connecting), a checked
and migrated connection to it, and one daemon per SQLite state file.

One daemon per state file is an ``flock`` on ``<state>.lock``, held while it runs: two
daemons on one state both wrote it (a client's UID was replaced under concurrent PUTs).
The lock is separate from the per-source push locks (``<state>.push-<source>.lock``,
``daemon.push.journal``), so ``icsbridge push`` still runs beside a daemon. The kernel
drops the lock when the process dies; the file stays (removing it would let a third
process lock a new file while a second still holds the old one). A PostgreSQL state takes
no such lock: several daemons share it (``daemon.store.advisory``).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from icsbridge.config.daemon.state import PostgresState, StateLocation
from icsbridge.daemon.store.backend import Backend, SqliteBackend
from icsbridge.daemon.store.errors import StateError
from icsbridge.daemon.store.location import not_sqlite_line, state_path_problem
from icsbridge.daemon.store.postgres.backend import PostgresBackend
from icsbridge.daemon.store.postgres.backend import problem_line as postgres_problem_line
from icsbridge.daemon.store.schema import SCHEMA_VERSION, migrate


def state_problem(location: StateLocation) -> str | None:
    """Why a SQLite state cannot be opened (one line), by looking only: ``check`` asks it,
    and ``StateStore`` asks it first (see ``daemon.store.location``). A PostgreSQL state
    is judged by connecting: :func:`reach_problem`."""
    if isinstance(location, Path):
        return state_path_problem(location, SCHEMA_VERSION)
    return None


def reach_problem(location: StateLocation) -> str | None:
    """:func:`state_problem`, and for PostgreSQL whether the database answers through the
    connection ``run`` makes, with a schema this icsbridge reads (``check`` asks it)."""
    if isinstance(location, Path):
        return state_problem(location)
    try:
        db = PostgresBackend(location)
    except Exception as exc:
        if isinstance(exc, PostgresBackend.driver_errors):
            return postgres_problem_line(location, exc)
        raise
    try:
        version = db.schema_version()
        return None if version <= SCHEMA_VERSION else db.newer_line(version, SCHEMA_VERSION)
    except StateError as exc:
        return str(exc)
    except PostgresBackend.driver_errors as exc:
        return db.problem_line(exc)
    finally:
        db.close()


def open_backend(location: StateLocation) -> Backend:
    """A connection to the state at ``location`` (StateError with one line if not)."""
    try:
        if isinstance(location, Path):
            return SqliteBackend(location)
        return PostgresBackend(location)
    except StateError:
        raise
    except sqlite3.DatabaseError as exc:
        assert isinstance(location, Path)
        raise StateError(not_sqlite_line(location, str(exc))) from exc
    except OSError as exc:
        raise StateError(
            f"state file {location}: {exc.strerror}; check [daemon].state and permissions"
        ) from exc
    except PostgresBackend.driver_errors as exc:
        assert isinstance(location, PostgresState)
        raise StateError(postgres_problem_line(location, exc)) from exc


def opened_backend(location: StateLocation) -> Backend:
    """:func:`open_backend`, its schema checked and migrated (StateError if not)."""
    db = open_backend(location)
    try:
        version = db.schema_version()
        if version > SCHEMA_VERSION:
            raise StateError(db.newer_line(version, SCHEMA_VERSION))
        migrate(db)
    except BaseException as exc:
        db.close()
        if isinstance(exc, db.driver_errors):
            raise StateError(db.problem_line(exc)) from exc
        raise
    return db


class StateInUse(StateError):
    """Another process holds the state file's daemon lock."""


def lock_path(state: Path) -> Path:
    return state.with_name(f"{state.name}.lock")


@contextmanager
def daemon_lock(state: StateLocation) -> Iterator[None]:
    """Hold ``<state>.lock`` for the ``with`` block, or raise :class:`StateInUse` at once.

    The holder's pid is written into the file, so the refusal can name it. A PostgreSQL
    state takes no such lock: several daemons share it, one sync per source at a time
    (``daemon.store.advisory``).
    """
    if not isinstance(state, Path):
        yield
        return
    problem = state_problem(state)
    if problem is not None:  # said as check says it, not as the lock file's error
        raise StateError(problem)
    path = lock_path(state)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StateError(
            f"state file {state}: cannot open its lock {path.name}: {exc.strerror}; "
            "check [daemon].state and permissions"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            pid = f" (pid {holder})" if holder.isdigit() else ""
            raise StateInUse(
                f"state file {state} is in use by another icsbridge run{pid}; "
                "stop that one, or give this one its own [daemon].state"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
