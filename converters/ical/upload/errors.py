"""What reading an upload refuses with: one line that says what is wrong and what to do."""

from __future__ import annotations

from icsbridge.converters.errors import PayloadError

FIX = "fix it in the calendar app and upload again"
"""How a refusal of a malformed part ends: the user fixes it where it was written."""


class UploadError(PayloadError):
    """The upload cannot be read as iCalendar data; the message says why, in one line."""
