"""``kind = "wordbee"`` settings: Wordbee Translator person calendars (read-only)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator

from icsbridge.config import fields
from icsbridge.config.durations import parse_duration
from icsbridge.config.secrets import SecretRef
from icsbridge.config.sources.base import SourceSettingsBase
from icsbridge.config.wording import quote, toml_type

WorkItems = Literal["events", "todos", "none"]

MAX_MONTHS = 24
"""months_back and months_ahead stop here: each month is one call per person."""
MIN_THROTTLE_WAIT = 10.0
"""Wordbee asks for at least 10 s after a 429 that carries no Retry-After."""
MAX_THROTTLE_WAIT = 3600.0
MAX_HOURLY_QUOTA = 100_000
MAX_PERSON_ID = 2**63 - 1
"""Ids are 64-bit integers at most, as JSON APIs and SQLite hold them."""


class WordbeeSourceSettings(SourceSettingsBase):
    """``kind = "wordbee"``: the calendars of Wordbee persons, read month by month.

    ``persons`` are Wordbee person ids (``uid``). Each person gives a calendar of
    non-worked and exceptionally worked days and appointments, and (unless
    ``work_items = "none"``) one of project, job and order deadlines. ``timezone`` is
    only used when Wordbee names a zone that cannot be mapped to IANA.
    """

    base_url_example = "https://company.wordbee-translator.com/api"
    writable = False  # the Wordbee calendar API is read here, never written

    kind: Literal["wordbee"] = "wordbee"
    base_url: str
    account_id: str
    key: SecretRef
    persons: list[int]
    months_back: int = 1
    months_ahead: int = 6
    work_items: WorkItems = "events"
    hourly_quota: int = 1000
    throttle_wait: float = Field(default=MIN_THROTTLE_WAIT)
    """Seconds to wait after a 429 that says nothing about when to come back."""

    @field_validator("account_id", mode="plain")
    @classmethod
    def _check_account_id(cls, value: object) -> str:
        return fields.check_text(value, 'an account id (e.g. "acme")', empty="an account id")

    @field_validator("persons", mode="plain")
    @classmethod
    def _check_persons(cls, value: object) -> list[int]:
        return check_person_ids(value)

    @field_validator("months_back", "months_ahead", mode="plain")
    @classmethod
    def _check_months(cls, value: object) -> int:
        return fields.check_whole_number(value, 0, MAX_MONTHS)

    @field_validator("hourly_quota", mode="plain")
    @classmethod
    def _check_quota(cls, value: object) -> int:
        return fields.check_whole_number(value, 1, MAX_HOURLY_QUOTA)

    @field_validator("work_items", mode="plain")
    @classmethod
    def _check_work_items(cls, value: object) -> WorkItems:
        if value == "events" or value == "todos" or value == "none":
            return value
        shown = quote(value) if isinstance(value, str) else toml_type(value)
        raise fields.problem(f'{shown} is not one of "events", "todos", "none"')

    @field_validator("throttle_wait", mode="plain")
    @classmethod
    def _check_throttle_wait(cls, value: object) -> float:
        return check_throttle_wait(value)

    @property
    def months_read(self) -> int:
        """Calls per person and sync: one per month of the window."""
        return self.months_back + 1 + self.months_ahead


def check_person_ids(value: object) -> list[int]:
    """A non-empty list of Wordbee person ids: positive integers (digit strings allowed)."""
    if not isinstance(value, list):
        raise fields.problem(f"expected an array of person ids like [635], got {toml_type(value)}")
    if not value:
        raise fields.problem("no person given; list Wordbee person ids (e.g. persons = [635])")
    ids: list[int] = []
    for number, item in enumerate(value, start=1):
        if isinstance(item, str) and item.strip().isascii() and item.strip().isdigit():
            item = int(item.strip())
        if not isinstance(item, int) or isinstance(item, bool):
            raise fields.problem(
                f"item {number}: expected a person id number, got {toml_type(item)}"
            )
        if item <= 0:
            raise fields.problem(f"item {number}: {item} is not a person id (ids are above 0)")
        if item > MAX_PERSON_ID:
            raise fields.problem(
                f"item {number}: {item} is too large for a person id (at most {MAX_PERSON_ID})"
            )
        ids.append(item)
    return ids


def check_throttle_wait(value: object) -> float:
    """Seconds as a number or a duration ("30s", "1m"), from 10 s to an hour."""
    if isinstance(value, str):
        try:
            seconds = parse_duration(value).total_seconds()
        except ValueError as exc:
            raise fields.problem(str(exc)) from None
        shown = quote(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        shown = f"{value} seconds"
        if isinstance(value, int) and value > MAX_THROTTLE_WAIT:  # float() overflows on huge ones
            raise fields.problem(f"{shown} is longer than the maximum of one hour")
        seconds = float(value)
        if not math.isfinite(seconds):
            raise fields.problem(f"{value} is not a number of seconds")
    else:
        raise fields.problem(f'expected seconds (e.g. 10 or "30s"), got {toml_type(value)}')
    if seconds < MIN_THROTTLE_WAIT:
        raise fields.problem(f"{shown} is shorter than the minimum 10 seconds")
    if seconds > MAX_THROTTLE_WAIT:
        raise fields.problem(f"{shown} is longer than the maximum of one hour")
    return seconds
