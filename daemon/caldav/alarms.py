"""Alarms a CalDAV user adds to an event: kept per user in the state, served back to that
user only (the APIs of Webex and APIO hold none, and an alarm is personal: the reception
desk's reminder is nobody else's). The push engine never sees them as edits
(``converters.ical.upload.alarms``); an event that holds alarms of its own (B2CORE) is
served as the API has it.
"""

from __future__ import annotations

import hashlib
import re

_ALARM = re.compile(rb"BEGIN:VALARM\r?\n.*?END:VALARM\r?\n", re.DOTALL)
_PLACEHOLDER = re.compile(
    rb"^(ACTION:NONE|X-APPLE-(LOCAL-)?DEFAULT-ALARM:TRUE)\r?$", re.MULTILINE | re.IGNORECASE
)
_END = b"END:VEVENT\r\n"


def user_alarms(body: bytes) -> bytes:
    """The VALARM blocks of an upload the user set (no placeholder of the app), CRLF."""
    found = [m.group() for m in _ALARM.finditer(body) if not _PLACEHOLDER.search(m.group())]
    return b"".join(re.sub(rb"\r?\n", b"\r\n", block) for block in found)


def with_alarms(data: bytes, alarms: bytes | None) -> bytes:
    """``data`` with the user's ``alarms`` in its first event, unless it has its own."""
    if not alarms or b"BEGIN:VALARM" in data or _END not in data:
        return data
    return data.replace(_END, alarms + _END, 1)


def alarm_etag(etag: str, alarms: bytes | None) -> str:
    """The ETag of the event as this user sees it (strong: it follows the bytes)."""
    if not alarms:
        return etag
    return '"' + hashlib.sha256(etag.encode() + alarms).hexdigest() + '"'
