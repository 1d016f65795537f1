"""xandikos's WebDAV app with the properties, reports and methods icsbridge serves.

Only ``xandikos.webdav``, ``.caldav``, ``.sync`` and ``.access`` are used (``xandikos.web``
loads git and templates). Two things differ from xandikos's own server:

- ``current-user-privilege-set`` says what the user may do (xandikos always says
  ``DAV:all``): ``DAV:read`` alone makes the apps show a calendar read-only;
- MKCALENDAR, MKCOL, MOVE, COPY, POST and PROPPATCH are a clear 403: the calendars, their names
  and their properties are the APIs'.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from xandikos import access, caldav, sync, webdav

from icsbridge.daemon.caldav.view import NotReady

REFUSED = {
    "MKCALENDAR": "calendars are the APIs' own: icsbridge creates none",
    "MKCOL": "calendars are the APIs' own: icsbridge creates no collection",
    "MOVE": "moving an event between calendars is not supported: create it in the other "
    "calendar and delete this one",
    "COPY": "copying is not supported: create the event in the other calendar",
    "POST": "add an event with PUT to <calendar>/<name>.ics",
    "PROPPATCH": "calendar properties (name, colour, description) come from the APIs and "
    "cannot be changed here",
}


class PrivilegeSet(webdav.Property):
    """``DAV:current-user-privilege-set`` (RFC 3744 5.4) from the resource's privileges."""

    name = "{DAV:}current-user-privilege-set"
    in_allprops = False
    live = True

    async def get_value(self, href: str, resource: Any, el: Any, environ: Any) -> None:
        for privilege in resource.get_privileges():
            ET.SubElement(ET.SubElement(el, "{DAV:}privilege"), privilege)


class Absent(webdav.Property):
    """A property clients ask for that icsbridge has none of (answered 404 in the
    propstat, without xandikos's warning per resource)."""

    in_allprops = False
    live = True

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    async def get_value(self, href: str, resource: Any, el: Any, environ: Any) -> None:
        raise KeyError(self.name)


ABSENT = (
    "{urn:ietf:params:xml:ns:caldav}schedule-tag",
    "{urn:ietf:params:xml:ns:caldav}calendar-user-address-set",
    "{urn:ietf:params:xml:ns:caldav}schedule-inbox-URL",
    "{urn:ietf:params:xml:ns:caldav}schedule-outbox-URL",
    "{http://apple.com/ns/ical/}calendar-color",
    "{http://apple.com/ns/ical/}calendar-order",
)


class SyncToken(sync.SyncTokenProperty):
    """``DAV:sync-token``, absent from a listing until the calendar's first sync."""

    async def get_value(self, href: str, resource: Any, el: Any, environ: Any) -> None:
        try:
            await super().get_value(href, resource, el, environ)
        except NotReady:
            raise KeyError(href) from None


class Refused(webdav.Method):
    """A method answered 403 with its reason, never offered in ``Allow``."""

    def __init__(self, method: str, why: str) -> None:
        self._method = method
        self._why = why

    @property
    def name(self) -> str:
        return self._method

    async def allow(self, request: Any, environ: Any, app: Any) -> bool:
        return False

    async def handle(self, request: Any, environ: Any, app: Any) -> webdav.Response:
        return webdav.Response(
            status=403,
            reason="Forbidden",
            body=[self._why.encode() + b"\n"],
            headers=[("Content-Type", "text/plain; charset=utf-8")],
        )


def _current_user_principal(environ: dict[str, str]) -> str | None:
    return environ.get("REMOTE_USER")


def build_dav_app(backend: Any) -> webdav.WebDAVApp:
    app = webdav.WebDAVApp(backend)
    app.register_properties(
        [
            webdav.ResourceTypeProperty(),
            webdav.CurrentUserPrincipalProperty(_current_user_principal),
            webdav.PrincipalURLProperty(),
            webdav.PrincipalCollectionSetProperty(lambda: ["/"]),
            webdav.DisplayNameProperty(),
            webdav.GetETagProperty(),
            webdav.GetContentTypeProperty(),
            webdav.GetContentLengthProperty(),
            webdav.GetLastModifiedProperty(),
            webdav.AppleGetCTagProperty(),
            webdav.DAVGetCTagProperty(),
            webdav.SupportedReportSetProperty(app.reporters),
            caldav.CalendarHomeSetProperty(),
            caldav.CalendarDescriptionProperty(),
            caldav.SupportedCalendarComponentSetProperty(),
            caldav.SupportedCalendarDataProperty(),
            caldav.CalendarDataProperty(),
            SyncToken(),
            access.OwnerProperty(),
            PrivilegeSet(),
            *(Absent(name) for name in ABSENT),
        ]
    )
    app.register_reporters(
        [
            caldav.CalendarMultiGetReporter(),
            caldav.CalendarQueryReporter(),
            sync.SyncCollectionReporter(),
            webdav.ExpandPropertyReporter(),
        ]
    )
    app.register_methods([Refused(method, why) for method, why in REFUSED.items()])
    return app
