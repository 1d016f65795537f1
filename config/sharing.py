"""What a feed shares: its detail level, whether attendees are published, its window and
its size budget (``details``, ``attendees``, ``summary``, ``window``, ``max_bytes`` of a
``[[feeds]]`` entry; ``feed_details`` and ``feed_attendees`` of a source).

Each check fails with one phrase (see :mod:`icsbridge.config.fields`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from icsbridge.config import fields
from icsbridge.config.durations import format_duration, parse_duration
from icsbridge.config.wording import quote, toml_type

DetailLevel = Literal["full", "limited", "availability"]
"""``full``: everything; ``limited``: summary, times, recurrence, location, categories;
``availability``: a fixed summary, times and recurrence."""
DETAIL_LEVELS: tuple[str, ...] = get_args(DetailLevel)
DEFAULT_MAX_BYTES = 1_000_000
"""Google stops reading a subscribed feed near 1 MB."""
MAX_WINDOW = timedelta(days=3660)
"""Ten years either way: expanding further is no feed anyone reads."""


def check_details(value: object) -> DetailLevel:
    levels = ", ".join(quote(level) for level in DETAIL_LEVELS)
    text = fields.expect_string(value, f"one of {levels}")
    if text not in DETAIL_LEVELS:
        raise fields.problem(f"{quote(text)} is not a detail level (use one of {levels})")
    return text  # type: ignore[return-value]  # checked against DETAIL_LEVELS


def check_flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise fields.problem(f"expected true or false, got {toml_type(value)}")
    return value


def check_max_bytes(value: object) -> int:
    return fields.check_whole_number(value, 10_000, 1_000_000_000)


def check_span(value: object) -> timedelta:
    """A window side: a duration in days or hours ("90d", "36h"), at most ten years."""
    if isinstance(value, timedelta):
        value = format_duration(int(value.total_seconds()))
    text = fields.expect_string(value, 'a duration like "90d"')
    try:
        span = parse_duration(text)
    except ValueError as exc:
        raise fields.problem(str(exc).replace('"15m", "1h30m"', '"90d", "400d"')) from None
    if span > MAX_WINDOW:
        days = MAX_WINDOW.days
        raise fields.problem(f"{quote(text)} is longer than the maximum {quote(f'{days}d')}")
    return span


class WindowSettings(BaseModel):
    """``window = { past = "90d", future = "400d" }``: how far back and ahead of today a
    feed reaches. A single event entirely outside is left out; a recurring one stays
    while any occurrence overlaps the window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    past: timedelta = timedelta(days=90)
    future: timedelta = timedelta(days=400)

    @field_validator("past", "future", mode="plain")
    @classmethod
    def _check_span(cls, value: object, info: ValidationInfo) -> timedelta:
        try:
            return check_span(value)
        except PydanticCustomError as exc:  # the table's field is not shown: name it
            raise fields.problem(f"{info.field_name}: {exc.message()}") from None

    def text(self) -> str:
        """The window as a user writes it: ``{ past = "90d", future = "400d" }``."""
        past, future = (format_duration(int(s.total_seconds())) for s in (self.past, self.future))
        return f'{{ past = "{past}", future = "{future}" }}'


def sharing_problems(details: object, attendees: object, prefix: str = "") -> list[str]:
    """Problems of ``details`` and ``attendees`` together: attendees are published only
    at the full level (``prefix`` names the keys of a source: ``"feed_"``)."""
    if attendees is True and details in ("limited", "availability"):
        return [
            f'{prefix}attendees = true contradicts {prefix}details = "{details}" (that level '
            f'publishes no attendees); remove one of them or use {prefix}details = "full"'
        ]
    return []
