"""``[caldav]``: calendar apps read and edit the calendars over CalDAV.

CalDAV is off unless the table is present. ``path`` is where it is served on
``[daemon].listen`` (and linked from ``public_url``); each ``[[caldav.users]]`` entry is an
account a calendar app logs in with (HTTP Basic), seeing the calendars its patterns match::

    [caldav]
    path = "/dav/"
    [[caldav.users]]
    name = "reception"
    password = "env:RECEPTION_DAV_PASSWORD"
    calendars = ["hq/*", "apio-east/*"]
    write = true
    # details = "limited"                 # optional: as [[feeds]] levels; default: the
                                          # source's feed_details. Below "full": read-only
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails

from icsbridge.config import fields
from icsbridge.config.patterns import check_patterns, matches
from icsbridge.config.secrets import SecretRef
from icsbridge.config.sharing import DetailLevel, check_details
from icsbridge.config.validation import detail, validate_adding
from icsbridge.config.wording import quote

DEFAULT_PATH = "/dav/"
DUPLICATE_USER = "icsbridge_duplicate_user"
_USER_NAME = re.compile(r"[a-z0-9-]+")
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
# Paths the daemon already answers: CalDAV under one of them would hide it, or be hidden.
_TAKEN = ("/feeds/", "/healthz", "/metrics", "/.well-known/")


class CaldavUser(BaseModel):
    """One ``[[caldav.users]]`` entry: an account of a calendar app."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    password: SecretRef
    calendars: list[str]
    """fnmatch patterns over calendar keys, as ``[[feeds]]`` writes them."""
    write: bool = True
    """False: every calendar is read-only for this user (the app greys it out)."""
    details: DetailLevel | None = None
    """What this user sees of each event, as a feed's ``details``; None: the source's
    ``feed_details``. Attendees stay in CalDAV objects at every level. Below ``full`` the
    calendars are read-only (an app would save the shortened events back)."""

    @field_validator("name", mode="plain")
    @classmethod
    def _check_name(cls, value: object) -> str:
        text = fields.expect_string(value, 'a user name like "reception"')
        if not _USER_NAME.fullmatch(text):
            raise fields.problem(
                f"{quote(text)} is not a valid user name "
                '(use lowercase letters, digits and "-", e.g. "reception")'
            )
        return text

    @field_validator("calendars", mode="plain")
    @classmethod
    def _check_calendars(cls, value: object) -> list[str]:
        return check_patterns(value)

    @field_validator("write", mode="plain")
    @classmethod
    def _check_write(cls, value: object) -> bool:
        if not isinstance(value, bool):
            raise fields.problem("expected true or false")
        return value

    @field_validator("details", mode="plain")
    @classmethod
    def _check_details(cls, value: object) -> DetailLevel:
        return check_details(value)

    @field_validator("password", mode="after")
    @classmethod
    def _name_secret(cls, value: SecretRef, info: ValidationInfo) -> SecretRef:
        name = info.data.get("name", "?")
        return value.with_where(f'caldav user {quote(name)}: field "password"')

    def sees(self, key: str) -> bool:
        """True when calendar ``key`` is one of this user's."""
        return matches(self.calendars, key)


class CaldavSettings(BaseModel):
    """``[caldav]``: where CalDAV is served and who may log in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = DEFAULT_PATH
    users: list[CaldavUser] = Field(min_length=1)

    @field_validator("path", mode="plain")
    @classmethod
    def _check_path(cls, value: object) -> str:
        return check_path(value)

    @model_validator(mode="wrap")
    @classmethod
    def _check_whole(cls, data: Any, handler: Callable[[Any], Self]) -> Self:
        problems: list[InitErrorDetails] = []
        if isinstance(data, Mapping) and isinstance(data.get("users"), list):
            problems = _duplicate_users(data["users"])
        return validate_adding(handler, data, problems)

    def user(self, name: str) -> CaldavUser | None:
        return next((u for u in self.users if u.name == name), None)


def check_path(value: object) -> str:
    """``/dav/``: absolute, one or more plain segments, a final slash."""
    text = fields.expect_string(value, f'a path like "{DEFAULT_PATH}"')
    example = f'(e.g. "{DEFAULT_PATH}")'
    if not (text.startswith("/") and text.endswith("/")) or text == "/":
        raise fields.problem(
            f"{quote(text)} is not a path below the root that starts and ends with / {example}"
        )
    if not all(_SEGMENT.fullmatch(part) for part in text.strip("/").split("/")):
        raise fields.problem(
            f"{quote(text)}: use letters, digits and . _ ~ - between the slashes {example}"
        )
    for taken in _TAKEN:
        if text.startswith(taken) or taken.startswith(text):
            raise fields.problem(
                f"{quote(text)} overlaps {quote(taken)}, which the daemon already serves; "
                f"pick another {example}"
            )
    return text


def _duplicate_users(users: list[object]) -> list[InitErrorDetails]:
    first_use: dict[str, int] = {}
    problems: list[InitErrorDetails] = []
    for index, entry in enumerate(users):
        name = entry.get("name") if isinstance(entry, Mapping) else getattr(entry, "name", None)
        if not isinstance(name, str):
            continue
        if name in first_use:
            message = (
                f"{quote(name)} is already the name of user #{first_use[name] + 1} "
                "(names must be unique)"
            )
            problems.append(detail(DUPLICATE_USER, ("users", index, "name"), message, name))
        else:
            first_use[name] = index
    return problems
