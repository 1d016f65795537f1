"""``kind = "webex"`` settings: Webex Calling person and location schedules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from icsbridge.config import fields
from icsbridge.config.secrets import SecretRef
from icsbridge.config.sources.base import SourceSettingsBase, credentials_problem
from icsbridge.config.wording import quote

OAUTH_FIELDS = ("client_id", "client_secret", "refresh_token")


class WebexSourceSettings(SourceSettingsBase):
    """``kind = "webex"``: Webex Calling person and location schedules.

    Auth is either ``token`` or all of ``client_id``, ``client_secret`` and
    ``refresh_token`` (OAuth refresh). ``people`` and/or ``locations`` say what to publish.
    """

    base_url_example = "https://webexapis.com/v1"

    kind: Literal["webex"] = "webex"
    base_url: str = "https://webexapis.com/v1"
    org_id: str | None = None
    people: list[str] = Field(default_factory=list)
    locations: list[str] | Literal["all"] = Field(default_factory=list)
    page_size: int = 100
    token: SecretRef | None = None
    client_id: SecretRef | None = None
    client_secret: SecretRef | None = None
    refresh_token: SecretRef | None = None

    @field_validator("org_id", mode="plain")
    @classmethod
    def _check_org_id(cls, value: object) -> str | None:
        return None if value is None else fields.check_text(value, "an organisation id")

    @field_validator("people", mode="plain")
    @classmethod
    def _check_people(cls, value: object) -> list[str]:
        return fields.check_id_list(value)

    @field_validator("locations", mode="plain")
    @classmethod
    def _check_locations(cls, value: object) -> list[str] | Literal["all"]:
        if value == "all":
            return "all"
        if isinstance(value, str):
            raise fields.problem(f'{quote(value)} is not "all"; give an array of location ids')
        return fields.check_id_list(value)

    @classmethod
    def entry_problems(cls, data: Mapping[str, Any]) -> list[str]:
        own = [m for m in (_credentials_problem(data), _publish_problem(data)) if m]
        return own + super().entry_problems(data)

    @property
    def uses_oauth(self) -> bool:
        """True when the source refreshes its access token with client_id/secret."""
        return self.token is None


def _credentials_problem(data: Mapping[str, Any]) -> str | None:
    return credentials_problem(
        data,
        OAUTH_FIELDS,
        joiner=", ",
        needs="OAuth needs client_id, client_secret and refresh_token",
        nothing=(
            'no credentials: give token = "env:NAME" (or file:PATH, credential:NAME), '
            "or client_id, client_secret and refresh_token"
        ),
    )


def _publish_problem(data: Mapping[str, Any]) -> str | None:
    people, locations = data.get("people"), data.get("locations")
    # A wrongly typed value is reported by its own field; count it as given here.
    if people or locations or (people is not None and not isinstance(people, list)):
        return None
    return 'nothing to publish: give people = ["<personId>", ...] and/or locations (ids or "all")'
