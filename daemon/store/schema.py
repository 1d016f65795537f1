"""The state's schema: one migration per version, applied in order on either backend.

Each entry of ``MIGRATIONS`` upgrades version N-1 to N. The texts are SQLite's; a backend
translates their column types (``Backend.ddl``). A migration applies whole or not at all.
"""

from __future__ import annotations

import contextlib

from icsbridge.daemon.store.backend import Backend
from icsbridge.daemon.store.caldav import SCHEMA as CALDAV_SCHEMA
from icsbridge.daemon.store.errors import StateUnavailable

SCHEMA_VERSION = 6

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE items (
        uid            TEXT PRIMARY KEY,
        source         TEXT NOT NULL,
        calendar       TEXT NOT NULL,
        native_key     TEXT NOT NULL,
        rename_hint    TEXT NOT NULL,
        content_hash   TEXT NOT NULL,
        remote_version TEXT,
        published_hash TEXT,
        modified       TEXT NOT NULL,
        sequence       INTEGER NOT NULL DEFAULT 0,
        UNIQUE (source, calendar, native_key)
    );
    CREATE TABLE calendars (
        source   TEXT NOT NULL,
        calendar TEXT NOT NULL,
        path     TEXT NOT NULL,
        PRIMARY KEY (source, calendar)
    );
    CREATE TABLE sources (
        name         TEXT PRIMARY KEY,
        last_attempt TEXT,
        last_success TEXT,
        last_error   TEXT
    );
    CREATE TABLE secrets (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    2: """
    CREATE TABLE feed_tokens (
        feed    TEXT PRIMARY KEY,
        token   TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL
    );
    CREATE TABLE feeds (
        name          TEXT PRIMARY KEY,
        path          TEXT NOT NULL,
        etag          TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        events        INTEGER NOT NULL,
        size          INTEGER NOT NULL
    );
    """,
    3: """
    CREATE TABLE journal (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        batch      TEXT NOT NULL,
        source     TEXT NOT NULL,
        calendar   TEXT NOT NULL,
        write      TEXT NOT NULL,
        status     TEXT NOT NULL,
        result_key TEXT,
        detail     TEXT,
        created    TEXT NOT NULL,
        finished   TEXT
    );
    CREATE INDEX journal_open ON journal (source, status);
    CREATE TABLE vdir_files (
        source   TEXT NOT NULL,
        calendar TEXT NOT NULL,
        uid      TEXT NOT NULL,
        hash     TEXT NOT NULL,
        PRIMARY KEY (source, calendar, uid)
    );
    """,
    4: CALDAV_SCHEMA,
    5: """
    ALTER TABLE sources ADD COLUMN synced_by TEXT
    """,
    # What daemons sharing a PostgreSQL state serve and assemble feeds from (the feed's
    # bytes beside its record; each calendar's rendered events): ``daemon.feeds.shared``.
    # A SQLite state has one daemon and leaves both empty.
    6: """
    ALTER TABLE feeds ADD COLUMN data BLOB;
    CREATE TABLE feed_pieces (
        calendar TEXT PRIMARY KEY,
        source   TEXT NOT NULL,
        digest   TEXT NOT NULL,
        basis    BLOB NOT NULL,
        pieces   BLOB NOT NULL
    )
    """,
}


def migrate(db: Backend) -> None:
    """Bring ``db`` to :data:`SCHEMA_VERSION` (the caller refuses a newer one first).
    Processes starting together migrate in turn (``Backend.schema_lock``), and each reads
    the version only once it holds that lock."""
    with db.schema_lock():
        for target in range(db.schema_version() + 1, SCHEMA_VERSION + 1):
            # executescript() would COMMIT on its own: run statement by statement so a
            # migration applies whole or not at all.
            db.begin()
            try:
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        db.execute(db.ddl(statement))
                db.set_schema_version(target)
            except BaseException:
                if db.in_transaction:  # as StateStore.transaction: keep the first error
                    with contextlib.suppress(StateUnavailable):
                        db.rollback()
                raise
            db.commit()
