"""Errors raised by converters."""

from __future__ import annotations

from icsbridge.config.errors import IcsbridgeError


class PayloadError(IcsbridgeError):
    """An API answer does not have the shape its documentation promises.

    ``str(self)`` names the API, the object and the field, e.g.
    ``webex: schedule "Office" event "Lunch": field "startTime": "25:00" is not HH:MM``.
    """


class UnsupportedByTarget(IcsbridgeError):
    """An iCalendar component holds something the target API cannot store.

    ``parts`` lists each offending part in words (``"monthly RRULE (FREQ=MONTHLY)"``,
    ``"EXDATE"``...); ``uid`` names the event when known.
    """

    def __init__(self, target: str, parts: list[str], uid: str | None = None) -> None:
        self.target = target
        self.parts = list(parts)
        self.uid = uid
        where = f"event {uid}: " if uid else ""
        super().__init__(f"{where}{target} cannot hold: {'; '.join(self.parts)}")
