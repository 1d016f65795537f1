"""``[daemon].state``: a SQLite file (the embedded default) or a PostgreSQL database.

``state = "state.sqlite"`` is a path, relative to the config file's directory.
``state = "postgresql://user@host/dbname"`` (or ``"postgresql:///dbname?host=/run/postgresql"``,
any libpq URI) selects PostgreSQL, which several daemons can share. The password never
sits in that text: the DSN is shown in ``check``, logs and errors as it is written, so a
password goes in ``state_password`` as a secret reference (``env:NAME``, ``file:PATH``,
``credential:NAME``), or in libpq's own ``PGPASSFILE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias
from urllib.parse import parse_qsl, urlsplit

from pydantic import ValidationInfo

from icsbridge.config import fields
from icsbridge.config.secrets import SecretRef

_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class PostgresState:
    """A state held in PostgreSQL: ``dsn`` as written (it holds no password) and where
    its password is read from, if anywhere. ``str()`` is the DSN, safe to show."""

    dsn: str
    password: SecretRef | None = None

    def __str__(self) -> str:
        return self.dsn


StateLocation: TypeAlias = Path | PostgresState
"""Where the state lives: a SQLite file, or a PostgreSQL database."""


def is_dsn(text: str) -> bool:
    return text.startswith(_SCHEMES)


def check_state(value: object, info: ValidationInfo) -> StateLocation:
    """``[daemon].state``: a DSN when it starts with ``postgresql://``, else a path."""
    if isinstance(value, PostgresState):
        return value
    password = info.data.get("state_password")
    if isinstance(value, str) and is_dsn(value):
        return PostgresState(
            check_dsn(value), password if isinstance(password, SecretRef) else None
        )
    if password is not None:
        raise fields.problem(
            'state_password is for a "postgresql://..." state; a SQLite state has none'
        )
    return fields.relative_path(value, info)


def check_dsn(text: str) -> str:
    """A libpq URI without a password in it, else one line saying where it goes."""
    move = (
        "a password in the state DSN would be shown wherever the DSN is; remove it and "
        'set state_password = "env:NAME" (or file:PATH, credential:NAME) instead'
    )
    try:
        parts = urlsplit(text)
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise fields.problem(
            "expected a PostgreSQL URI like postgresql://icsbridge@db.example.com/icsbridge "
            "or postgresql:///icsbridge?host=/run/postgresql"
        ) from None
    if parts.password is not None or any(key == "password" for key, _ in query):
        raise fields.problem(move)
    if parts.fragment:
        raise fields.problem("a PostgreSQL URI has no #fragment; remove it")
    return text
