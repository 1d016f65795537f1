"""PUT and DELETE from calendar apps, through the one push service (plan, journal, apply,
re-read), answered as CalDAV errors a client understands:

============================  ===============================================
push engine                   CalDAV answer
============================  ===============================================
422 the API cannot hold it    403 CALDAV:valid-calendar-object-resource
400 unreadable upload         403 CALDAV:valid-calendar-data
403 read-only                 403 DAV:need-privileges
409 changed on both sides     412 (the client fetches the event again)
503 another push or sync      503 with Retry-After
404 / 502                     404 / 502
============================  ===============================================

The engine's one-line reason is the body (``DAV:responsedescription``). A write refused
by ``write = false`` (or a read-only source) never reaches the engine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn

from xandikos import webdav

from icsbridge.config.caldav import CaldavUser
from icsbridge.converters.ical.upload.errors import UploadError
from icsbridge.converters.ical.upload.read import parse_upload
from icsbridge.daemon.caldav.alarms import alarm_etag, user_alarms, with_alarms
from icsbridge.daemon.caldav.view import CaldavView
from icsbridge.daemon.push.service import EditAnswer, EditRequest

log = logging.getLogger("icsbridge.caldav")

CALDAV = "{urn:ietf:params:xml:ns:caldav}"
NEED_PRIVILEGES = "{DAV:}need-privileges"
VALID_DATA = f"{CALDAV}valid-calendar-data"
VALID_OBJECT = f"{CALDAV}valid-calendar-object-resource"


class DavAnswer(Exception):
    """A plain answer that leaves xandikos's handlers for the ASGI adapter to send."""

    def __init__(self, status: int, text: str, retry_after: int | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.retry_after = retry_after


def refuse(status: int, text: str, precondition: str | None = None) -> NoReturn:
    """Raise the answer: a DAV:error with ``precondition`` (403/412), else plain."""
    if precondition is not None and status == 403:
        raise webdav.ForbiddenPrecondition(precondition, text)
    if precondition is not None:
        raise webdav.PreconditionFailure(precondition, text)
    raise DavAnswer(status, text)


def raise_for(answer: EditAnswer) -> NoReturn:
    """The CalDAV refusal of an engine's answer other than 200 (the table above)."""
    text = str(answer.payload.get("error", "refused"))
    details = [str(d) for d in answer.payload.get("details", []) if str(d) != text]
    if details:
        text = "; ".join([text, *details])
    status = answer.status
    if status == 422:
        refuse(403, text, VALID_OBJECT)
    if status == 400:
        refuse(403, text, VALID_DATA)
    if status == 403:
        refuse(403, text, NEED_PRIVILEGES)
    if status in (409, 412):
        raise DavAnswer(412, text)
    if status == 503:
        raise DavAnswer(503, text, answer.retry_after or 1)
    raise DavAnswer(status if status in (404, 502) else 502, text)


class CaldavWrites:
    """Sends a calendar app's edits to ``writer`` (the daemon's push service)."""

    def __init__(self, writer: Callable[[EditRequest], Awaitable[EditAnswer]]) -> None:
        self._writer = writer

    def _check_writable(self, view: CaldavView, user: CaldavUser, key: str) -> None:
        if view.writable(user, key):
            return
        src = view.settings().source_of_calendar(key)
        if not user.write:
            why = f'user "{user.name}" has write = false'
        elif src is not None and not src.writable:
            why = f'source "{src.name}" is read-only: its API takes no edits'
        elif src is not None and not src.read_only:
            details = view.level(user, key).details
            why = f'user "{user.name}" sees "{details}" details, not every detail'
        else:
            why = "its source is configured with read_only = true"
        refuse(403, f'calendar "{key}" is read-only ({why})', NEED_PRIVILEGES)

    async def put(
        self, view: CaldavView, user: CaldavUser, key: str, name: str, body: bytes, uid: str | None
    ) -> str | None:
        """Push one event; the ETag of the stored event when it is what was sent."""
        self._check_writable(view, user, key)
        try:
            events = await asyncio.to_thread(parse_upload, body)
        except UploadError as exc:
            refuse(403, str(exc), VALID_DATA)
        if len(events) != 1:
            refuse(
                403,
                f"a calendar object holds exactly one event (UID); found {len(events)}",
                VALID_OBJECT,
            )
        [found] = events
        if uid is not None and found != uid:
            refuse(403, f'"{name}" holds event "{uid}", not "{found}"', VALID_OBJECT)
        answer = await self._writer(
            EditRequest(key, found, False, body, dry_run=False, caldav=True)
        )
        if answer.status != 200:
            raise_for(answer)
        view.name_for(key, found, name)
        alarms = user_alarms(body)
        view.state.set_caldav_alarms(user.name, found, alarms or None)
        stored = view.snapshot(key).members.get(name)
        log.info('caldav: user "%s" saved "%s" in "%s"', user.name, found, key)
        if stored is None or with_alarms(stored.data, alarms) != body:
            return None  # the API normalised it: no ETag, the client fetches it again
        return alarm_etag(stored.etag, alarms or None)

    async def delete(self, view: CaldavView, user: CaldavUser, key: str, name: str) -> None:
        self._check_writable(view, user, key)
        member = view.snapshot(key).members.get(name)
        if member is None:
            raise DavAnswer(404, f"{name} is not in this calendar")
        answer = await self._writer(
            EditRequest(key, member.uid, True, b"", dry_run=False, caldav=True)
        )
        if answer.status != 200:
            raise_for(answer)
        view.state.set_caldav_alarms(user.name, member.uid, None)
        log.info('caldav: user "%s" deleted "%s" in "%s"', user.name, member.uid, key)
