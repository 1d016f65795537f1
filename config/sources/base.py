"""What every ``[[sources]]`` entry has, whatever its kind; each kind subclasses it in a
module of its own (config/sources/webex.py, ...).

Besides the common fields, the base checks what the kinds share:

- every :class:`SecretRef` field is told the setting it belongs to (for resolve errors);
- ``base_url`` and ``page_size``, declared (with their defaults) by the kinds that have
  them, are checked here once; a kind names its ``base_url`` example in
  :attr:`SourceSettingsBase.base_url_example` and adds its own rules in
  :meth:`SourceSettingsBase.check_api_url`;
- checks that involve several fields (:meth:`SourceSettingsBase.entry_problems`) are
  reported together with the field errors; :func:`credentials_problem` is the usual one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails

from icsbridge.config import fields
from icsbridge.config.fields import IanaZone, Interval, WriteWait
from icsbridge.config.secrets import SecretRef
from icsbridge.config.sharing import DetailLevel, check_details, check_flag, sharing_problems
from icsbridge.config.validation import detail, validate_adding
from icsbridge.config.wording import quote


class SourceSettingsBase(BaseModel):
    """What every ``[[sources]]`` entry has, whatever its kind (see the module doc)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url_example: ClassVar[str] = "https://api.example.com"
    """Quoted in the error for a ``base_url`` that is not an http(s) URL."""

    writable: ClassVar[bool] = True
    """False for kinds whose API takes no writes (Wordbee): ``feed_writes`` is refused."""

    name: str
    interval: Interval
    timezone: IanaZone | None = None
    """Used when the API gives no zone for a schedule."""
    concurrency: int = 8
    """Reads of this source in flight at once (1-64), over one pooled HTTP client."""
    read_only: bool = False
    """Refuse every edit pushed to this source (the feeds are still served)."""
    feed_writes: bool = False
    """Give each calendar feed of the source a write URL (a token of its own) taking
    PUT/DELETE of edited calendars and events. Off by default."""
    write_wait: WriteWait = timedelta(seconds=30)
    """How long an edit over HTTP waits for a running sync or push of the source before it
    is answered 503 with Retry-After, applying nothing ("0s": refuse at once)."""
    vdir: bool = False
    """Also write one ``<uid>.ics`` per event under ``output_dir/vdir/``; edits made there
    are pushed back at the next sync (khal, vdirsyncer's filesystem storage)."""
    feed_details: DetailLevel = "full"
    """What each calendar feed of the source shows (``full``, ``limited``,
    ``availability``); a ``[[feeds]]`` entry sets its own."""
    feed_attendees: bool | None = None
    """Publish ATTENDEE and ORGANIZER in the calendar feeds; default: only when
    ``feed_writes`` is on (an app's upload of the whole calendar must keep them)."""
    conflict: Literal["reject", "remote-wins", "local-wins"] = "reject"
    """What a push does with an event changed in the API since the last sync as well."""
    max_deletes: int = 10
    """A push that would delete more events than this applies nothing (0: no deletes)."""
    max_creates: int = 100
    """A whole-calendar push that would create more events than this applies nothing."""

    @field_validator("concurrency", mode="plain")
    @classmethod
    def _check_concurrency(cls, value: object) -> int:
        return fields.check_whole_number(value, 1, 64)

    @field_validator("max_deletes", "max_creates", mode="plain")
    @classmethod
    def _check_push_caps(cls, value: object) -> int:
        return fields.check_whole_number(value, 0, 100_000)

    @field_validator("feed_details", mode="plain")
    @classmethod
    def _check_feed_details(cls, value: object) -> DetailLevel:
        return check_details(value)

    @field_validator("feed_attendees", mode="plain")
    @classmethod
    def _check_attendees(cls, value: object) -> bool | None:
        return None if value is None else check_flag(value)

    @field_validator("read_only", "feed_writes", "vdir", mode="plain")
    @classmethod
    def _check_flag(cls, value: object) -> bool:
        if not isinstance(value, bool):
            raise fields.problem("expected true or false")
        return value

    @field_validator("name", mode="plain")
    @classmethod
    def _check_name(cls, value: object) -> str:
        return fields.check_name(value)

    @field_validator("base_url", mode="plain", check_fields=False)
    @classmethod
    def _check_base_url(cls, value: object) -> str:
        return cls.check_api_url(fields.check_http_url(value, cls.base_url_example))

    @classmethod
    def check_api_url(cls, url: str) -> str:
        """A kind's own rules for its ``base_url`` (already an http(s) URL without trailing
        slashes); raises ``fields.problem``. None by default."""
        return url

    @field_validator("page_size", mode="plain", check_fields=False)
    @classmethod
    def _check_page_size(cls, value: object) -> int:
        return fields.check_page_size(value)

    @field_validator("*", mode="after")
    @classmethod
    def _name_secret(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, SecretRef):
            return value
        name = info.data.get("name", "?")
        return value.with_where(f'source {quote(name)}: field "{info.field_name}"')

    @model_validator(mode="wrap")
    @classmethod
    def _check_together(cls, data: Any, handler: Callable[[Any], Self]) -> Self:
        problems: list[InitErrorDetails] = []
        if isinstance(data, Mapping):
            problems = [detail(fields.PROBLEM, (), m, data) for m in cls.entry_problems(data)]
        return validate_adding(handler, data, problems)

    @classmethod
    def entry_problems(cls, data: Mapping[str, Any]) -> list[str]:
        """Problems that involve several fields of the raw entry ``data``, one phrase each
        (reported against the entry, next to the field errors). A kind adding its own
        calls ``super().entry_problems(data)``."""
        found = sharing_problems(data.get("feed_details"), data.get("feed_attendees"), "feed_")
        if data.get("feed_writes") is not True:
            return found
        if data.get("feed_details", "full") != "full" or data.get("feed_attendees") is False:
            found.append(
                "feed_writes = true takes back the whole calendar feed, so it must show "
                "everything: remove feed_details/feed_attendees (publish a [[feeds]] entry "
                "at the lower level instead)"
            )
            return found
        if not cls.writable:
            found.append(
                "feed_writes = true, but this kind's API takes no writes (read-only); "
                "remove feed_writes"
            )
        elif data.get("read_only") is True:
            found.append("feed_writes = true contradicts read_only = true; remove one of them")
        return found

    @property
    def publishes_attendees(self) -> bool:
        """Whether the calendar feeds carry ATTENDEE/ORGANIZER (see ``feed_attendees``)."""
        return self.feed_writes if self.feed_attendees is None else self.feed_attendees

    @property
    def interval_seconds(self) -> int:
        return int(self.interval.total_seconds())


def credentials_problem(
    data: Mapping[str, Any],
    login: tuple[str, ...],
    *,
    joiner: str,
    needs: str,
    nothing: str,
) -> str | None:
    """What is wrong with the credentials of a kind that takes either ``token`` or all of
    the ``login`` fields; None when exactly one of the two is given in full.

    ``joiner`` lists given or missing login fields (", " or " and "), ``needs`` starts the
    phrase for an incomplete login ("OAuth needs ...; add <missing>") and ``nothing`` is
    the phrase when no credential is given at all.
    """
    given = {key for key in ("token", *login) if data.get(key) is not None}
    chosen = [key for key in login if key in given]
    if "token" in given and chosen:
        both = f"{', '.join(login[:-1])} and {login[-1]}"
        return f"give either token or {both}, not both (remove token or {joiner.join(chosen)})"
    if "token" in given or len(chosen) == len(login):
        return None
    if chosen:
        return f"{needs}; add {joiner.join(key for key in login if key not in given)}"
    return nothing
