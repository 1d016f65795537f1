"""``kind = "webex"`` settings: Webex Calling person and location schedules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails

from config import fields
from config.secrets import SecretRef
from config.source_base import SourceSettingsBase
from config.validation import detail, validate_adding
from config.wording import quote

OAUTH_FIELDS = ("client_id", "client_secret", "refresh_token")


class WebexSourceSettings(SourceSettingsBase):
    """``kind = "webex"``: Webex Calling person and location schedules.

    Auth is either ``token`` or all of ``client_id``, ``client_secret`` and
    ``refresh_token`` (OAuth refresh). ``people`` and/or ``locations`` say what to publish.
    """

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

    @field_validator("base_url", mode="plain")
    @classmethod
    def _check_base_url(cls, value: object) -> str:
        return fields.check_http_url(value, "https://webexapis.com/v1")

    @field_validator("org_id", mode="plain")
    @classmethod
    def _check_org_id(cls, value: object) -> str | None:
        if value is None:
            return None
        text = fields.expect_string(value, "an organisation id")
        if not text.strip():
            raise fields.problem("expected an organisation id, got an empty string")
        return text

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

    @field_validator("page_size", mode="plain")
    @classmethod
    def _check_page_size(cls, value: object) -> int:
        return fields.check_page_size(value)

    @field_validator("token", *OAUTH_FIELDS, mode="after")
    @classmethod
    def _name_secret(cls, value: SecretRef | None, info: ValidationInfo) -> SecretRef | None:
        if value is None:
            return None
        name = info.data.get("name", "?")
        return value.with_where(f'source {quote(name)}: field "{info.field_name}"')

    @model_validator(mode="wrap")
    @classmethod
    def _check_together(
        cls, data: Any, handler: Callable[[Any], WebexSourceSettings]
    ) -> WebexSourceSettings:
        problems: list[InitErrorDetails] = []
        if isinstance(data, Mapping):
            for message in (_credentials_problem(data), _publish_problem(data)):
                if message:
                    problems.append(detail(fields.PROBLEM, (), message, data))
        return validate_adding(handler, data, problems)

    @property
    def uses_oauth(self) -> bool:
        """True when the source refreshes its access token with client_id/secret."""
        return self.token is None


def _credentials_problem(data: Mapping[str, Any]) -> str | None:
    given = {key for key in ("token", *OAUTH_FIELDS) if data.get(key) is not None}
    oauth = [key for key in OAUTH_FIELDS if key in given]
    if "token" in given and oauth:
        return (
            "give either token or client_id, client_secret and refresh_token, not both "
            f"(remove token or {', '.join(oauth)})"
        )
    if "token" in given or len(oauth) == len(OAUTH_FIELDS):
        return None
    if oauth:
        missing = ", ".join(key for key in OAUTH_FIELDS if key not in given)
        return f"OAuth needs client_id, client_secret and refresh_token; add {missing}"
    return (
        'no credentials: give token = "env:NAME" (or file:PATH, credential:NAME), '
        "or client_id, client_secret and refresh_token"
    )


def _publish_problem(data: Mapping[str, Any]) -> str | None:
    people, locations = data.get("people"), data.get("locations")
    # A wrongly typed value is reported by its own field; count it as given here.
    if people or locations or (people is not None and not isinstance(people, list)):
        return None
    return 'nothing to publish: give people = ["<personId>", ...] and/or locations (ids or "all")'
