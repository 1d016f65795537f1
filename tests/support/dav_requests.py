"""Requests a calendar app makes, for the CalDAV tests: the python ``caldav`` client,
and raw DAV requests where a test checks the exact status and precondition."""

from __future__ import annotations

import re
import uuid

import caldav
import httpx

from support.loopback import WAIT

SYNC = (
    '<?xml version="1.0"?><sync-collection xmlns="DAV:"><sync-token>{token}</sync-token>'
    "<sync-level>1</sync-level><prop><getetag/></prop></sync-collection>"
)
PROPS = '<?xml version="1.0"?><propfind xmlns="DAV:"><prop>{props}</prop></propfind>'


def client(url: str, user: str, password: str) -> caldav.DAVClient:
    return caldav.DAVClient(url, username=user, password=password, timeout=int(WAIT))


def calendar_named(principal: caldav.Principal, text: str) -> caldav.Calendar:
    return next(c for c in principal.calendars() if text in (c.get_display_name() or ""))


def dav(
    method: str, url: str, auth: tuple[str, str] | None, body: str | bytes = b"", **headers: str
) -> httpx.Response:
    sent = {"Content-Type": "application/xml; charset=utf-8", **headers}
    return httpx.request(
        method, url, content=body, auth=auth, headers=sent, timeout=WAIT, trust_env=False
    )


def sync(url: str, auth: tuple[str, str], token: str = "") -> httpx.Response:
    return dav("REPORT", url, auth, SYNC.format(token=token), Depth="1")


def token_of(answer: httpx.Response) -> str:
    found = re.search(r"<[^>]*sync-token>([^<]+)<", answer.text)
    assert found, answer.text
    return found.group(1)


def hrefs(answer: httpx.Response) -> list[str]:
    return re.findall(r"<[^>]*href>([^<]+)<", answer.text)


def holiday(summary: str, day: str, uid: str | None = None, extra: str = "") -> str:
    """One all-day holiday as Apple and DAVx5 write it (their own UUID as the UID)."""
    uid = uid or str(uuid.uuid4()).upper()
    end = str(int(day) + 1)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 15//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261201T090000Z\r\n"
        f"DTSTART;VALUE=DATE:{day}\r\nDTEND;VALUE=DATE:{end}\r\n{extra}"
        f"SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
