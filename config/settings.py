"""The validated settings: what the TOML config says, as frozen pydantic models.

Validation collects every problem in one pass: field checks live in
:mod:`icsbridge.config.fields`, and checks that involve several fields (credentials, something
to publish, unique names) are added next to the field errors by wrap validators, so a
user fixes the whole file in one go. Relative paths are made absolute against
``context={"base_dir": ...}`` given to ``model_validate`` (the loader passes the config
file's directory).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from icsbridge.config import fields
from icsbridge.config.caldav import CaldavSettings
from icsbridge.config.daemon.settings import DaemonSettings
from icsbridge.config.fields import IanaZone
from icsbridge.config.patterns import check_patterns as _check_patterns
from icsbridge.config.patterns import names_a_source as _names_a_source
from icsbridge.config.patterns import reaches as _reaches
from icsbridge.config.secrets import SecretRef
from icsbridge.config.sharing import (
    DEFAULT_MAX_BYTES,
    DetailLevel,
    WindowSettings,
    check_details,
    check_flag,
    check_max_bytes,
    sharing_problems,
)
from icsbridge.config.sources.apio import ApioSourceSettings
from icsbridge.config.sources.b2core import B2coreSourceSettings
from icsbridge.config.sources.base import SourceSettingsBase
from icsbridge.config.sources.webex import OAUTH_FIELDS, WebexSourceSettings
from icsbridge.config.sources.wordbee import WordbeeSourceSettings
from icsbridge.config.validation import detail, validate_adding
from icsbridge.config.wording import quote

__all__ = [
    "OAUTH_FIELDS",
    "DaemonSettings",
    "FeedSettings",
    "Settings",
    "SourceSettings",
    "SourceSettingsBase",
    "WebexSourceSettings",
]

SOURCE_KINDS = ("webex", "apio", "wordbee", "b2core")
"""Every kind of source icsbridge knows of."""
DUPLICATE_NAME = "icsbridge_duplicate_name"
"""Error type of a repeated source or feed name; reported against the entry's number."""
_FEED_NAME = re.compile(r"[a-z0-9-]+")

_Model = TypeVar("_Model", bound=BaseModel)


SourceSettings: TypeAlias = Annotated[
    WebexSourceSettings | B2coreSourceSettings | WordbeeSourceSettings | ApioSourceSettings,
    Field(discriminator="kind"),
]
"""One ``[[sources]]`` entry; a union on ``kind`` as more kinds are implemented."""

SOURCE_MODELS: dict[str, type[SourceSettingsBase]] = {
    "webex": WebexSourceSettings,
    "apio": ApioSourceSettings,
    "b2core": B2coreSourceSettings,
    "wordbee": WordbeeSourceSettings,
}


class FeedSettings(BaseModel):
    """One ``[[feeds]]`` entry: a merged feed of every calendar whose key matches a pattern,
    or (with ``open``) the effective hours of business-hours and holiday calendars.

    ``calendars``, ``open`` and ``closed`` are fnmatch patterns on calendar keys
    (``"<source>/<path>"``; ``*`` also matches ``/``, so ``"hq/*"`` is every calendar of
    source ``hq``). Their first segment must match a source name: the settings refuse a
    pattern that can reach no source. An entry has either ``calendars`` or ``open``.

    ``details``/``attendees``/``summary`` say what each event shows (see
    :mod:`icsbridge.config.sharing`), ``window`` how far back and ahead the feed reaches,
    ``max_bytes`` the size past which health names the feed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    calendars: list[str] = Field(default_factory=list)
    token: SecretRef | None = None
    """A fixed URL token; without one the daemon generates and keeps one."""
    description: str = ""
    """Shown as the calendar's name in apps (the feed name when empty)."""
    details: DetailLevel = "full"
    attendees: bool = False
    summary: str | None = None
    """The fixed SUMMARY at ``details = "availability"`` (default "Busy", "Open" for
    business hours and for effective hours, "Closed" for ``show = "closed"``)."""
    window: WindowSettings | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    open: list[str] = Field(default_factory=list)
    closed: list[str] = Field(default_factory=list)
    show: Literal["open", "closed"] = "open"
    timezone: IanaZone | None = None
    """The owner's zone of effective hours (default: the zone their calendars share)."""

    @model_validator(mode="wrap")
    @classmethod
    def _check_together(cls, data: Any, handler: Callable[[Any], FeedSettings]) -> FeedSettings:
        problems: list[InitErrorDetails] = []
        if isinstance(data, Mapping):
            lines = sharing_problems(data.get("details"), data.get("attendees"))
            problems = [detail(fields.PROBLEM, ("attendees",), line, "") for line in lines]
            problems += _kind_problems(data)
        return validate_adding(handler, data, problems)

    @field_validator("name", mode="plain")
    @classmethod
    def _check_name(cls, value: object) -> str:
        text = fields.expect_string(value, 'a name like "support-hours"')
        if not _FEED_NAME.fullmatch(text):
            raise fields.problem(
                f"{quote(text)} is not a valid name "
                '(use lowercase letters, digits and "-", e.g. "support-hours")'
            )
        return text

    @field_validator("calendars", "open", mode="plain")
    @classmethod
    def _check_calendars(cls, value: object) -> list[str]:
        return _check_patterns(value)

    @field_validator("closed", mode="plain")
    @classmethod
    def _check_closed(cls, value: object) -> list[str]:
        return [] if value == [] else _check_patterns(value)

    @field_validator("details", mode="plain")
    @classmethod
    def _check_details(cls, value: object) -> DetailLevel:
        return check_details(value)

    @field_validator("attendees", mode="plain")
    @classmethod
    def _check_attendees(cls, value: object) -> bool:
        return check_flag(value)

    @field_validator("summary", mode="plain")
    @classmethod
    def _check_summary(cls, value: object) -> str:
        return fields.check_text(value, 'a summary like "Busy"', empty="a summary")

    @field_validator("max_bytes", mode="plain")
    @classmethod
    def _check_max_bytes(cls, value: object) -> int:
        return check_max_bytes(value)

    @field_validator("show", mode="plain")
    @classmethod
    def _check_show(cls, value: object) -> str:
        text = fields.expect_string(value, '"open" or "closed"')
        if text not in ("open", "closed"):
            raise fields.problem(f'{quote(text)} is not "open" or "closed"')
        return text

    @field_validator("token", mode="after")
    @classmethod
    def _name_secret(cls, value: SecretRef | None, info: ValidationInfo) -> SecretRef | None:
        if value is None:
            return None
        return value.with_where(f'feed {quote(info.data.get("name", "?"))}: field "token"')

    @property
    def hours(self) -> bool:
        """True for an effective-hours feed (``open`` given)."""
        return bool(self.open)

    @property
    def patterns(self) -> list[str]:
        """Every pattern the feed reads: ``calendars``, or ``open`` and ``closed``."""
        return [*self.calendars, *self.open, *self.closed]

    def matches(self, key: str) -> bool:
        """True when calendar ``key`` belongs in this feed."""
        return any(fnmatch.fnmatchcase(key, pattern) for pattern in self.patterns)

    def reaches(self, source: str) -> bool:
        """True when some pattern can match a calendar of ``source``."""
        return any(_reaches(pattern, source) for pattern in self.patterns)


def _kind_problems(data: Mapping[str, Any]) -> list[InitErrorDetails]:
    """An entry merges ``calendars`` or computes hours from ``open`` (and ``closed``)."""
    has = {key for key in ("calendars", "open", "closed", "show", "timezone") if key in data}
    hours_only = sorted(has & {"closed", "show", "timezone"})
    if "calendars" in has and "open" in has:
        line = "give either calendars (a merged feed) or open (effective hours), not both"
        return [detail(fields.PROBLEM, ("open",), line, "")]
    if "calendars" in has and hours_only:
        line = "belongs to effective hours (open = [...]); remove it or use open"
        return [detail(fields.PROBLEM, (key,), line, "") for key in hours_only]
    if "open" not in has and hours_only:
        line = 'needs open: the business hours it belongs to (e.g. open = ["hq/*"])'
        return [detail(fields.PROBLEM, (key,), line, "") for key in hours_only]
    if not has:
        return [detail("missing", ("calendars",), "Field required", "")]
    return []


class Settings(BaseModel):
    """The whole config file. ``path`` is the config file itself, set by the loader."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    sources: list[SourceSettings] = Field(min_length=1)
    feeds: list[FeedSettings] = Field(default_factory=list)
    caldav: CaldavSettings | None = None
    """CalDAV for calendar apps; off unless ``[caldav]`` is present."""
    path: Path

    @model_validator(mode="wrap")
    @classmethod
    def _check_whole(cls, data: Any, handler: Callable[[Any], Settings]) -> Settings:
        problems: list[InitErrorDetails] = []
        if isinstance(data, Mapping):
            if "daemon" not in data:
                # Validate the defaults with the caller's context so paths become absolute.
                data = {**data, "daemon": {}}
            problems = _duplicate_names(data.get("sources"), "sources", "source")
            problems += _duplicate_names(data.get("feeds"), "feeds", "feed")
            problems += _unreachable_patterns(data.get("feeds"), data.get("sources"))
            caldav = data.get("caldav")
            if isinstance(caldav, Mapping):
                problems += _unreachable_patterns(
                    caldav.get("users"), data.get("sources"), ("caldav", "users")
                )
        return validate_adding(handler, data, problems)

    def source_of_calendar(self, key: str) -> SourceSettings | None:
        """The source a calendar key (``<source>/<path>``) belongs to; None for a
        ``[[feeds]]`` name (they hold no ``/``) or a source no longer configured."""
        name, slash, _path = key.partition("/")
        if not slash:
            return None
        return next((s for s in self.sources if s.name == name), None)


def _entry_value(entry: object, key: str) -> object:
    """``entry[key]`` of a TOML table, or the attribute of a model built in code."""
    return entry.get(key) if isinstance(entry, Mapping) else getattr(entry, key, None)


def _duplicate_names(entries: object, section: str, noun: str) -> list[InitErrorDetails]:
    if not isinstance(entries, list):
        return []
    first_use: dict[str, int] = {}
    problems: list[InitErrorDetails] = []
    for index, entry in enumerate(entries):
        name = _entry_value(entry, "name")
        if not isinstance(name, str):
            continue
        if name in first_use:
            message = (
                f"{quote(name)} is already the name of {noun} #{first_use[name] + 1} "
                "(names must be unique)"
            )
            problems.append(detail(DUPLICATE_NAME, (section, index, "name"), message, name))
        else:
            first_use[name] = index
    return problems


def _unreachable_patterns(
    feeds: object, sources: object, where: tuple[str, ...] = ("feeds",)
) -> list[InitErrorDetails]:
    """A problem per pattern whose first segment matches no source name (of ``[[feeds]]``
    entries, or those of ``where``)."""
    if not isinstance(feeds, list) or not isinstance(sources, list):
        return []
    names = [n for n in (_entry_value(s, "name") for s in sources) if isinstance(n, str)]
    problems: list[InitErrorDetails] = []
    for index, feed in enumerate(feeds):
        for key in ("calendars", "open", "closed"):
            problems += _unreachable_in(_entry_value(feed, key), names, (*where, index, key))
    return problems


def _unreachable_in(
    patterns: object, names: list[str], at: tuple[str | int, ...]
) -> list[InitErrorDetails]:
    problems: list[InitErrorDetails] = []
    if isinstance(patterns, list):
        for pattern in patterns:
            if not isinstance(pattern, str) or not pattern.strip() or _names_a_source(pattern):
                continue  # the field check reports it
            if any(_reaches(pattern, name) for name in names):
                continue
            message = f"{quote(pattern)} names no source (sources: {', '.join(names) or 'none'})"
            problems.append(detail(fields.PROBLEM, at, message, ""))
    return problems
