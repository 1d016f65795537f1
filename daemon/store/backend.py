"""The state's backend contract, and its SQLite implementation (the embedded default).

A :class:`Backend` is one open connection in one SQL dialect. The store's SQL is one text
for both dialects: ``?`` placeholders, ``INSERT ... ON CONFLICT`` upserts, ``RETURNING``
instead of ``lastrowid``, explicit ``BEGIN``/``COMMIT``. What differs lives here and in
``daemon.store.postgres.backend``: how a writing transaction begins, where the schema version is
kept, the migrations' column types (:meth:`Backend.ddl`), and how a driver error reads.

A backend raises :class:`~icsbridge.daemon.store.errors.StateFull` and
:class:`~icsbridge.daemon.store.errors.StateUnavailable` for what goes wrong with the state
while it runs (SQLite's through ``daemon.store.connection``, PostgreSQL's in its module).
Any other driver error it lets through is one of :attr:`Backend.driver_errors`;
:meth:`Backend.problem_line` says it as one line naming the state, so the store can raise
one error type (``StateError``) whatever the backend.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Protocol

from icsbridge.daemon.store.connection import connect
from icsbridge.daemon.store.location import newer_schema_line, not_sqlite_line

Param = str | int | bytes | None
IN_CHUNK = 500  # values per IN (...): under SQLite's variable limit (999 before 3.32)


def process_name() -> str:
    """This process as health names it among daemons sharing a state: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Rows(Protocol):
    """What :meth:`Backend.execute` returns: a DB-API cursor's reading half."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Backend(ABC):
    """One connection to the state. Rows come back as tuples of str, int and None."""

    dialect: ClassVar[str]
    driver_errors: ClassVar[tuple[type[Exception], ...]]
    where: str
    """What messages name: the SQLite path or the DSN as configured (never a password)."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Param] = ()) -> Rows:
        """Run one statement of the store's SQL (``?`` placeholders)."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[Param]]) -> None: ...

    def rows_in(self, sql: str, values: Iterable[str]) -> list[Any]:
        """The rows of ``sql``, whose one ``IN ({})`` is filled with placeholders for
        ``values`` (sorted, each once), run once per :data:`IN_CHUNK` of them."""
        wanted, rows = sorted(set(values)), list[Any]()
        for at in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[at : at + IN_CHUNK]
            rows += self.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall()
        return rows

    @abstractmethod
    def begin(self) -> None:
        """Begin a transaction that writes (SQLite takes the write lock at once)."""

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")

    @property
    @abstractmethod
    def in_transaction(self) -> bool:
        """Whether a transaction is open (a failed one may have been ended already)."""

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version stored, 0 for a state never migrated."""

    @abstractmethod
    def set_schema_version(self, version: int) -> None:
        """Store ``version`` (inside the migration's transaction)."""

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """Held around the migrations, outside their transactions: keeps a second process
        from migrating at the same time (on SQLite each ``BEGIN IMMEDIATE`` does)."""
        yield

    def ddl(self, statement: str) -> str:
        """A migration statement in this dialect (they are written for SQLite)."""
        return statement

    @abstractmethod
    def problem_line(self, exc: Exception) -> str:
        """One of :attr:`driver_errors` as one line naming the state and what to do."""

    @abstractmethod
    def newer_line(self, version: int, understood: int) -> str:
        """The refusal of a state whose schema ``version`` is newer than ``understood``."""

    def file_problem(self) -> str | None:
        """None while the state this backend has open is still where it was found."""
        return None

    @abstractmethod
    def close(self) -> None: ...


class SqliteBackend(Backend):
    """A SQLite file in WAL mode, created 0600 (it may hold a refresh token), through a
    :class:`~icsbridge.daemon.store.connection.StateConnection`."""

    dialect = "sqlite"
    driver_errors = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Create it private before SQLite writes anything into it.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._db = connect(path, timeout=30)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            opened = os.stat(path)  # the file SQLite has open: it created or read it above
        except BaseException:
            self._db.close()
            raise
        self._opened = (opened.st_dev, opened.st_ino)

    def execute(self, sql: str, params: Sequence[Param] = ()) -> Rows:
        return self._db.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Param]]) -> None:
        self._db.executemany(sql, rows)

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, version: int) -> None:
        self._db.execute(f"PRAGMA user_version = {int(version)}")

    def problem_line(self, exc: Exception) -> str:
        return not_sqlite_line(self.path, str(exc))

    def newer_line(self, version: int, understood: int) -> str:
        return newer_schema_line(self.path, version, understood)

    def file_problem(self) -> str | None:
        """None while ``path`` is still the file this store has open, else one line: a
        state deleted or replaced under a running daemon would be lost at its restart."""
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return (
                f"state file {self.path} was deleted while icsbridge runs: it goes on with "
                "the open copy, but its next start begins afresh (new feed URLs and event "
                "UIDs); put the file back from a backup before restarting it"
            )
        except OSError as exc:
            return f"state file {self.path}: {exc.strerror}; check [daemon].state"
        if (now.st_dev, now.st_ino) != self._opened:
            return (
                f"state file {self.path} was replaced while icsbridge runs; it keeps "
                "writing the file it opened: restart it to use the new one"
            )
        return None

    def close(self) -> None:
        self._db.close()
