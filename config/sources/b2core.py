"""``kind = "b2core"`` settings: B2CORE back-office calendar events (B2Broker).

Auth is either ``token`` (a static bearer token) or ``email`` and ``password`` (the
back-office sign-in, which hands out access and refresh tokens). Events are read in a
window of ``days_back`` days before and ``days_ahead`` days after today (UTC), optionally
only those with one of the ``recipients``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from icsbridge.config import fields
from icsbridge.config.secrets import SecretRef
from icsbridge.config.sources.base import SourceSettingsBase, credentials_problem
from icsbridge.config.wording import quote, toml_type

LOGIN_FIELDS = ("email", "password")
MAX_WINDOW_DAYS = 3660
"""About ten years either way: the window is a filter, not an archive."""

_HOST_EXAMPLE = "https://backoffice.example.com"
# RFC 5646 in its common shapes: "en", "ja", "pt-BR", "zh-Hant-TW".
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
# Deliberately loose: the API checks that a recipient is a back-office user.
_EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+")


class B2coreSourceSettings(SourceSettingsBase):
    """``kind = "b2core"``: B2CORE back-office calendar events.

    ``base_url`` is the customer's own B2CORE host (no default: every customer has one);
    the API paths (``/api/v2/...``) are added by the source. ``timezone`` only names the
    zone calendar apps show (X-WR-TIMEZONE) and lets events whose offset matches it be
    written with that TZID: B2CORE instants carry their own UTC offset.
    """

    base_url_example = _HOST_EXAMPLE

    kind: Literal["b2core"] = "b2core"
    base_url: str
    token: SecretRef | None = None
    email: SecretRef | None = None
    password: SecretRef | None = None
    language: str = "en"
    days_back: int = 30
    days_ahead: int = 180
    recipients: list[str] = Field(default_factory=list)
    page_size: int = 100

    @classmethod
    def check_api_url(cls, url: str) -> str:
        if url.lower().endswith(("/api/v2", "/api")):
            raise fields.problem(
                f"{quote(url)} ends with the API path; give the host only "
                f"(e.g. {quote(_HOST_EXAMPLE)}), icsbridge adds /api/v2"
            )
        return url

    @field_validator("language", mode="plain")
    @classmethod
    def _check_language(cls, value: object) -> str:
        text = fields.expect_string(value, 'a language code (e.g. "en")')
        if not _LANGUAGE.fullmatch(text):
            raise fields.problem(f'{quote(text)} is not a language code (e.g. "en", "ja", "pt-BR")')
        return text

    @field_validator("days_back", "days_ahead", mode="plain")
    @classmethod
    def _check_days(cls, value: object) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise fields.problem(
                f"expected a number of days from 0 to {MAX_WINDOW_DAYS}, got {toml_type(value)}"
            )
        if not 0 <= value <= MAX_WINDOW_DAYS:
            raise fields.problem(f"{value} is out of range (0-{MAX_WINDOW_DAYS} days)")
        return value

    @field_validator("recipients", mode="plain")
    @classmethod
    def _check_recipients(cls, value: object) -> list[str]:
        if not isinstance(value, list):
            raise fields.problem(f"expected an array of e-mail addresses, got {toml_type(value)}")
        for number, item in enumerate(value, start=1):
            if not isinstance(item, str):
                raise fields.problem(
                    f"item {number}: expected an e-mail address, got {toml_type(item)}"
                )
            if not _EMAIL.fullmatch(item):
                raise fields.problem(
                    f"item {number}: {quote(item)} is not an e-mail address "
                    '(e.g. "ops@example.com")'
                )
        return list(dict.fromkeys(value))

    @classmethod
    def entry_problems(cls, data: Mapping[str, Any]) -> list[str]:
        credentials = _credentials_problem(data)
        return ([credentials] if credentials else []) + super().entry_problems(data)

    @property
    def uses_login(self) -> bool:
        """True when the source signs in with email and password (no static token)."""
        return self.token is None


def _credentials_problem(data: Mapping[str, Any]) -> str | None:
    return credentials_problem(
        data,
        LOGIN_FIELDS,
        joiner=" and ",
        needs="signing in needs email and password",
        nothing=(
            'no credentials: give token = "env:NAME" (or file:PATH, credential:NAME), '
            "or email and password of a back-office user"
        ),
    )
