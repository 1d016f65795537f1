"""What every ``[[sources]]`` entry has, whatever its kind; each kind subclasses it in a
module of its own (config/webex.py, ...)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from config import fields
from config.fields import IanaZone, Interval


class SourceSettingsBase(BaseModel):
    """What every ``[[sources]]`` entry has, whatever its kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    interval: Interval
    timezone: IanaZone | None = None
    """Used when the API gives no zone for a schedule."""

    @field_validator("name", mode="plain")
    @classmethod
    def _check_name(cls, value: object) -> str:
        return fields.check_name(value)

    @property
    def interval_seconds(self) -> int:
        return int(self.interval.total_seconds())
