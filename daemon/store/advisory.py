"""One holder per source at a time, across processes and daemons: the source lock.

A push (and, on PostgreSQL, a sync) holds its source's lock while it reads, sends and
records. Two kinds, chosen by the state's backend:

- SQLite: an ``flock`` on ``<state>.push-<source>.lock`` beside the state file, so
  ``icsbridge push`` and a running daemon on one machine exclude each other; the kernel
  drops it when the process dies.
- PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on the very connection
  the store commits on. A daemon that dies, or loses its connection, loses the lock
  with the connection, and then cannot commit anything either: what it had not
  committed is redone by whichever daemon takes the source next (the push journal says
  what was sent). A session lock is re-entrant within its session, so each process keeps
  an in-process lock in front of it (the push service's per-source ``asyncio.Lock``);
  a transaction-mode pooler (pgbouncer) between daemon and database would break it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from icsbridge.daemon.store.backend import Backend


def source_lock_key(source: str) -> int:
    """The advisory lock key of ``source``: 64 bits of a hash of its name, signed as
    PostgreSQL's bigint (stable across daemons and versions)."""
    digest = hashlib.sha256(f"icsbridge source {source}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def file_lock(state: Path, source: str) -> Iterator[bool]:
    """Try to take ``source``'s flock beside the SQLite ``state``; yields whether taken."""
    path = state.with_name(f"{state.name}.push-{source}.lock")
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def advisory_lock(db: Backend, source: str) -> Iterator[bool]:
    """Try to take ``source``'s session advisory lock on ``db``; yields whether taken."""
    key = source_lock_key(source)
    taken = bool(db.execute("SELECT pg_try_advisory_lock(?)", (key,)).fetchone()[0])
    try:
        yield taken
    finally:
        if taken and db.file_problem() is None:  # a lost connection has let go already
            db.execute("SELECT pg_advisory_unlock(?)", (key,))


PUBLISH_WAIT = 10
"""Seconds a daemon waits for another's publishing before its own fails (StateUnavailable)."""


def publish_lock(db: Backend) -> None:
    """Take the lock daemons sharing a PostgreSQL state publish feeds under, for the rest
    of the open transaction (``daemon.feeds.shared``): a merged feed is assembled from
    what the others stored, and two daemons assembling it at once would each miss the
    other's part. Held for the few milliseconds of a render, never across an await."""
    key = int.from_bytes(hashlib.sha256(b"icsbridge feeds").digest()[:8], "big", signed=True)
    db.execute("SELECT set_config('lock_timeout', ?, true)", (f"{PUBLISH_WAIT}s",))
    db.execute("SELECT pg_advisory_xact_lock(?)", (key,))


def lock_holders(db: Backend, sources: Iterable[str]) -> dict[str, str]:
    """Source -> the ``host:pid`` of the daemon whose session holds its advisory lock now
    (from its connection's application_name), for those of ``sources`` held; one query
    over ``pg_locks`` in this database (another database's icsbridge is not ours)."""
    mask = 0xFFFF_FFFF_FFFF_FFFF  # pg_locks splits the key unsigned, in two halves
    wanted = {source_lock_key(s) & mask: s for s in sources}
    if not wanted:
        return {}
    rows = db.execute(
        "SELECT CAST(l.classid AS BIGINT), CAST(l.objid AS BIGINT), a.application_name"
        " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchall()
    held: dict[str, str] = {}
    for high, low, name in rows:
        source = wanted.get((int(high) << 32) | int(low))
        if source is not None:
            held[source] = str(name).removeprefix("icsbridge ")
    return held


def lock_holder(db: Backend, source: str) -> str | None:
    """The ``host:pid`` of the daemon holding ``source``'s advisory lock now, or None."""
    return lock_holders(db, [source]).get(source)
