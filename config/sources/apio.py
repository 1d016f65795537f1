"""``kind = "apio"`` settings: BroadWorks group schedules through the Netaxis APIO API.

``base_url`` is the API prefix that ``/tenants/...`` follows: a direct gateway
(``https://apio.example.com/api/v1``) or an APIO Core proxy
(``https://core.example.com/api/v01/<proxy>``). Credentials are either ``token`` (a
Core machine token, sent as a bearer token) or ``username`` + ``password`` with a
``login`` mode: ``"core-jwt"`` (Core JWT login and refresh) or ``"gateway-session"``
(gateway login setting a session cookie). Without ``login`` the mode follows the shape
of ``base_url``: ``/api/v01/`` means Core, anything else the gateway.

``timezone`` is required: APIO payloads carry no time zone, so the groups' zone must
come from the config (never guessed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from icsbridge.config import fields
from icsbridge.config.secrets import SecretRef
from icsbridge.config.sources.base import SourceSettingsBase, credentials_problem
from icsbridge.config.wording import quote, toml_type

Family = Literal["time", "holiday", "advanced"]
LoginMode = Literal["core-jwt", "gateway-session"]

FAMILIES: tuple[Family, ...] = ("time", "holiday", "advanced")
DEFAULT_FAMILIES: tuple[Family, ...] = ("time", "holiday")
LOGIN_MODES: tuple[LoginMode, ...] = ("core-jwt", "gateway-session")
LOGIN_FIELDS = ("username", "password")
BASE_URL_EXAMPLE = "https://apio.example.com/api/v1"
_GATEWAY_PATH = re.compile(r"(?P<root>.*)/api/v1")
_CORE_PATH = re.compile(r"(?P<root>.*)/api/v01/(?P<proxy>[^/]+(?:/[^/]+)*)")


def api_shape(base_url: str) -> Literal["gateway", "core"] | None:
    """Which deployment a base URL points at, from its path; None when it fits neither."""
    path = urlsplit(base_url).path.rstrip("/")
    if _CORE_PATH.fullmatch(path):
        return "core"
    if _GATEWAY_PATH.fullmatch(path):
        return "gateway"
    return None


def api_root(base_url: str, version: Literal["v1", "v01"]) -> str:
    """Where ``/api/<version>`` lives for ``base_url``: scheme, host and any path before
    ``/api/``, then ``/api/v1`` (gateway login) or ``/api/v01`` (Core auth)."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    match = _CORE_PATH.fullmatch(path) or _GATEWAY_PATH.fullmatch(path)
    prefix = match.group("root") if match else path
    return f"{parts.scheme}://{parts.netloc}{prefix}/api/{version}"


class ApioSourceSettings(SourceSettingsBase):
    """``kind = "apio"``: group time, holiday and advanced schedules (see the module doc)."""

    base_url_example = BASE_URL_EXAMPLE

    kind: Literal["apio"] = "apio"
    base_url: str
    tenant: str
    groups: list[str]
    families: list[Family] = Field(default_factory=lambda: list(DEFAULT_FAMILIES))
    all_levels: bool = False
    """Also publish enterprise-level schedules listed with the groups' (allLevels=true)."""
    token: SecretRef | None = None
    username: SecretRef | None = None
    password: SecretRef | None = None
    login: LoginMode | None = None

    @classmethod
    def check_api_url(cls, url: str) -> str:
        if api_shape(url) is None:
            raise fields.problem(
                f"{quote(url)} is not an APIO API prefix: it should end in /api/v1 (gateway, "
                f'e.g. "{BASE_URL_EXAMPLE}") or /api/v01/<proxy> (APIO Core, e.g. '
                '"https://core.example.com/api/v01/p1")'
            )
        return url

    @field_validator("tenant", mode="plain")
    @classmethod
    def _check_tenant(cls, value: object) -> str:
        return fields.check_text(value, 'a tenant id (e.g. "acme")')

    @field_validator("groups", mode="plain")
    @classmethod
    def _check_groups(cls, value: object) -> list[str]:
        if isinstance(value, list) and not value:
            raise fields.problem('no group given; list the group ids (e.g. ["brussels"])')
        groups = fields.check_id_list(value)
        repeated = sorted({g for g in groups if groups.count(g) > 1})
        if repeated:
            raise fields.problem(f"{quote(repeated[0])} is listed twice; list each group once")
        return groups

    @field_validator("families", mode="plain")
    @classmethod
    def _check_families(cls, value: object) -> list[Family]:
        allowed = ", ".join(quote(f) for f in FAMILIES)
        if not isinstance(value, list):
            raise fields.problem(f"expected an array of {allowed}, got {toml_type(value)}")
        if not value:
            raise fields.problem(f"no family given; choose from {allowed}")
        chosen: list[Family] = []
        for number, item in enumerate(value, start=1):
            if item not in FAMILIES:
                shown = quote(item) if isinstance(item, str) else toml_type(item)
                raise fields.problem(f"item {number}: {shown} is not one of {allowed}")
            if item in chosen:
                raise fields.problem(f"{quote(item)} is listed twice")
            chosen.append(item)
        return chosen

    @field_validator("all_levels", mode="plain")
    @classmethod
    def _check_all_levels(cls, value: object) -> bool:
        if not isinstance(value, bool):
            raise fields.problem(f"expected true or false, got {toml_type(value)}")
        return value

    @field_validator("login", mode="plain")
    @classmethod
    def _check_login(cls, value: object) -> LoginMode | None:
        if value is None:
            return None
        if value == "core-jwt":
            return "core-jwt"
        if value == "gateway-session":
            return "gateway-session"
        shown = quote(value) if isinstance(value, str) else toml_type(value)
        raise fields.problem(f'{shown} is not "core-jwt" or "gateway-session"')

    @classmethod
    def entry_problems(cls, data: Mapping[str, Any]) -> list[str]:
        credentials = _credentials_problem(data)
        problems = [credentials] if credentials else []
        problems += super().entry_problems(data)
        if data.get("timezone") is None:
            problems.append(
                'field "timezone" is missing: APIO schedules carry no time zone; give '
                'the groups\' zone (e.g. timezone = "Europe/Brussels")'
            )
        return problems

    @property
    def zone(self) -> ZoneInfo:
        """The groups' time zone (always set: the settings refuse a config without it)."""
        if self.timezone is None:  # pragma: no cover - refused by the validator
            raise ValueError("APIO settings without a timezone")
        return self.timezone

    @property
    def login_mode(self) -> LoginMode | None:
        """How username/password log in (None with a token): ``login`` or base_url's shape."""
        if self.token is not None:
            return None
        if self.login is not None:
            return self.login
        return "core-jwt" if api_shape(self.base_url) == "core" else "gateway-session"


def _credentials_problem(data: Mapping[str, Any]) -> str | None:
    problem = credentials_problem(
        data,
        LOGIN_FIELDS,
        joiner=" and ",
        needs="username and password go together",
        nothing=(
            'no credentials: give token = "env:NAME" (an APIO Core machine token; or '
            "file:PATH, credential:NAME), or username and password"
        ),
    )
    if problem is None and data.get("token") is not None and data.get("login") is not None:
        return "login applies to username and password; remove it (a token needs no login)"
    return problem
