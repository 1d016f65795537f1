"""``[daemon]``: where state and feeds live and where the HTTP server listens.

Kept apart from ``config.settings`` (which holds the whole file's model) to keep each
module small; the state's location is read by ``config.daemon.state``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

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
from icsbridge.config.daemon.state import StateLocation, check_state
from icsbridge.config.secrets import SecretRef
from icsbridge.config.validation import detail, validate_adding
from icsbridge.config.wording import quote

DEFAULT_LISTEN = "127.0.0.1:8080"


class DaemonSettings(BaseModel):
    """``[daemon]``: where state and feeds live and where the HTTP server listens.

    ``tls_certificate`` and ``tls_key`` (PEM files, both or neither) make the server speak
    HTTPS itself; whether the files load is checked by ``daemon.service.preflight``, since
    reading them is I/O and a reload reads them again (a renewed certificate).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Before ``state``: its validator puts the password's reference into a PostgreSQL state.
    state_password: SecretRef | None = None
    state: StateLocation = Field(default=Path("state.sqlite"), validate_default=True)
    output_dir: Path = Field(default=Path("feeds"), validate_default=True)
    listen: str = DEFAULT_LISTEN
    public_url: str = f"http://{DEFAULT_LISTEN}"
    tls_certificate: Path | None = None
    tls_key: Path | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _check_tls_pair(cls, data: Any, handler: Callable[[Any], DaemonSettings]) -> DaemonSettings:
        problems: list[InitErrorDetails] = []
        if isinstance(data, Mapping):
            given = [key for key in ("tls_certificate", "tls_key") if key in data]
            if len(given) == 1:
                other = "tls_key" if given[0] == "tls_certificate" else "tls_certificate"
                message = (
                    f"missing while {quote(given[0])} is given: HTTPS needs both PEM files "
                    "(or neither, for plain HTTP)"
                )
                problems.append(detail(fields.PROBLEM, (other,), message, ""))
        return validate_adding(handler, data, problems)

    @model_validator(mode="before")
    @classmethod
    def _derive_public_url(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or "public_url" in data:
            return data
        listen = data.get("listen", DEFAULT_LISTEN)
        try:
            fields.split_host_port(listen)
        except (TypeError, AttributeError, ValueError):
            return data  # "listen" reports its own problem
        scheme = "https" if "tls_certificate" in data else "http"
        return {**data, "public_url": f"{scheme}://{listen}"}

    @field_validator("output_dir", mode="plain")
    @classmethod
    def _check_path(cls, value: object, info: ValidationInfo) -> Path:
        return fields.relative_path(value, info)

    @field_validator("tls_certificate", "tls_key", mode="plain")
    @classmethod
    def _check_tls_path(cls, value: object, info: ValidationInfo) -> Path | None:
        return None if value is None else fields.relative_path(value, info)

    @property
    def tls(self) -> tuple[Path, Path] | None:
        """``(certificate, key)`` when the server speaks HTTPS itself, else None."""
        if self.tls_certificate is None or self.tls_key is None:
            return None
        return self.tls_certificate, self.tls_key

    @field_validator("state", mode="plain")
    @classmethod
    def _check_state(cls, value: object, info: ValidationInfo) -> StateLocation:
        return check_state(value, info)

    @field_validator("state_password", mode="after")
    @classmethod
    def _name_password(cls, value: SecretRef | None) -> SecretRef | None:
        return None if value is None else value.with_where('[daemon]: field "state_password"')

    @field_validator("listen", mode="plain")
    @classmethod
    def _check_listen(cls, value: object) -> str:
        return fields.check_listen(value)

    @field_validator("public_url", mode="plain")
    @classmethod
    def _check_public_url(cls, value: object) -> str:
        return fields.check_http_url(value, "https://ics.example.com")

    @property
    def host(self) -> str:
        """The host part of ``listen``, without IPv6 brackets."""
        return fields.split_host_port(self.listen)[0]

    @property
    def port(self) -> int:
        return fields.split_host_port(self.listen)[1]
