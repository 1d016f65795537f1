"""The DAV tree of one user, as xandikos resources::

    <path>                    Root: discovery starts here
    <path><user>/             Home: the user's principal and its calendar home
    <path><user>/<calendar>/  Calendar: one per calendar key the user may see
    <path><user>/<calendar>/<name>.ics   Event: one per UID, the bytes of its vdir file

Every optional getter xandikos's base classes leave as NotImplementedError raises
KeyError here ("no such property"): otherwise a PROPFIND logs a traceback and answers 501
for it. Writes go to :class:`~icsbridge.daemon.caldav.writes.CaldavWrites`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, NoReturn

from xandikos import caldav, webdav
from xandikos.icalendar import CalendarFilter, ICalendarFile

from icsbridge.config.caldav import CaldavUser
from icsbridge.daemon.caldav.alarms import alarm_etag, with_alarms
from icsbridge.daemon.caldav.view import CaldavView, Member, NotReady, Snapshot
from icsbridge.daemon.caldav.writes import CaldavWrites, refuse

CALENDAR_TYPE = "text/calendar"
_ABSENT = (
    "get_creationdate",
    "get_content_language",
    "get_owner",
    "get_comment",
    "get_quota_used_bytes",
    "get_quota_available_bytes",
    "get_is_executable",
    "get_supported_locks",
    "get_active_locks",
    "get_calendar_color",
    "get_calendar_order",
    "get_calendar_timezone",
    "get_calendar_timezone_id",
    "get_calendar_availability",
    "get_min_date_time",
    "get_max_date_time",
    "get_max_instances",
    "get_max_attendees_per_instance",
    "get_max_resource_size",
    "get_max_attachments_per_resource",
    "get_max_attachment_size",
    "get_created_by",
    "get_updated_by",
    "get_refreshrate",
    "get_headervalue",
    "get_calendar_user_address_set",
    "get_calendar_user_type",
    "get_schedule_inbox_url",
    "get_schedule_outbox_url",
    "get_schedule_default_calendar_url",
    "get_calendar_proxy_read_for",
    "get_calendar_proxy_write_for",
    "get_group_membership",
    "get_infit_settings",
    "get_source_url",
    "get_xmpp_server",
    "get_xmpp_heartbeat",
    "get_xmpp_uri",
    "get_managed_attachments_server_url",
)


def _absent(*_args: object, **_kwargs: object) -> NoReturn:
    raise KeyError


class _Absent:
    """Mixed in first: the properties icsbridge does not have are absent, not errors."""


class _Folder(_Absent):
    """A collection: no body of its own, so no length either."""

    async def get_content_length(self) -> int:
        raise KeyError

    def get_content_type(self) -> str:
        raise KeyError


for _name in _ABSENT:
    setattr(_Absent, _name, _absent)


class Event(_Absent, webdav.Resource):
    """One event (its UID's VCALENDAR, exactly the vdir file's bytes)."""

    content_type = CALENDAR_TYPE

    def __init__(self, calendar: Calendar, name: str, member: Member, modified: datetime):
        self.calendar = calendar
        self.name = name
        self.member = member
        self.modified = modified
        self._file: ICalendarFile | None = None
        self._alarms = calendar.alarms().get(member.uid)

    @property
    def data(self) -> bytes:
        """The vdir file's bytes, with the alarms this user added (see ``alarms``)."""
        return with_alarms(self.member.data, self._alarms)

    def get_content_type(self) -> str:
        return CALENDAR_TYPE

    async def get_etag(self) -> str:
        return alarm_etag(self.member.etag, self._alarms)

    async def get_body(self) -> Iterable[bytes]:
        return [self.data]

    async def get_content_length(self) -> int:
        return len(self.data)

    async def get_file(self) -> ICalendarFile:
        if self._file is None:
            self._file = ICalendarFile([self.data], CALENDAR_TYPE)
        return self._file

    def get_last_modified(self) -> datetime:
        return self.modified

    def get_privileges(self) -> tuple[str, ...]:
        return self.calendar.get_privileges()

    # xandikos annotates the ETag as str; its PUT handler sends the header as given, and
    # the adapter leaves out a None one: no ETag when the API normalised the event.
    async def set_body(  # type: ignore[override]
        self,
        body: Iterable[bytes],
        replace_etag: str | None = None,
        remote_user: str | None = None,
        requester: str | None = None,
    ) -> str | None:
        return await self.calendar.put(self.name, b"".join(body), self.member.uid)


class Calendar(_Folder, caldav.Calendar):
    """One calendar key, read from the feed store; edits through the push service."""

    resource_types = caldav.Calendar.resource_types

    def __init__(self, view: CaldavView, writes: CaldavWrites, user: CaldavUser, key: str):
        self.view = view
        self.writes = writes
        self.user = user
        self.key = key
        self._alarms: dict[str, bytes] | None = None

    def _snap(self) -> Snapshot:
        return self.view.snapshot(self.key, self.view.level(self.user, self.key))

    def alarms(self) -> dict[str, bytes]:
        """The alarms this user added, by UID (read once per request)."""
        if self._alarms is None:
            self._alarms = self.view.state.caldav_user_alarms(self.user.name)
        return self._alarms

    def get_privileges(self) -> tuple[str, ...]:
        if self.view.writable(self.user, self.key):
            return (
                "{DAV:}read",
                "{DAV:}write",
                "{DAV:}write-content",
                "{DAV:}bind",
                "{DAV:}unbind",
            )
        return ("{DAV:}read",)

    def get_displayname(self) -> str:
        rendered = self.view.feeds.rendered(self.key)
        return rendered.meta.name if rendered is not None else self.key

    def get_calendar_description(self) -> str:
        rendered = self.view.feeds.rendered(self.key)
        if rendered is None or not rendered.meta.description:
            raise KeyError
        return rendered.meta.description

    # xandikos annotates these as str but iterates them (its own stores return lists).
    def get_supported_calendar_components(self) -> list[str]:  # type: ignore[override]
        return list(self._listed().components)

    def get_supported_calendar_data_types(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return [(CALENDAR_TYPE, "2.0")]

    async def get_etag(self) -> str:
        return f'"{self.get_ctag()}"'

    def get_ctag(self) -> str:
        return self._listed().point.token

    def get_sync_token(self) -> str:
        return self._snap().point.token  # a sync-collection report waits for the sync

    def get_last_modified(self) -> datetime:
        return self._listed().last_modified

    def _listed(self) -> Snapshot:
        """The snapshot for a property of the calendar in a listing: before its first
        sync the property is absent (the home still lists it); its members answer 503."""
        try:
            return self._snap()
        except NotReady:
            raise KeyError(self.key) from None

    def members(self) -> Iterator[tuple[str, webdav.Resource]]:
        snap = self._snap()
        for name, member in sorted(snap.members.items()):
            yield name, Event(self, name, member, snap.last_modified)

    def get_member(self, name: str) -> Event:
        snap = self._snap()
        return Event(self, name, snap.members[name], snap.last_modified)

    def subcollections(self) -> Iterator[tuple[str, webdav.Resource]]:
        return iter(())

    def calendar_query(self, create_filter_fn: Any) -> Iterator[tuple[str, webdav.Resource]]:
        query = create_filter_fn(CalendarFilter)
        for name, event in self.members():
            assert isinstance(event, Event)
            if query.check(name, ICalendarFile([event.member.bare], CALENDAR_TYPE)):
                yield name, event

    def iter_differences_since(
        self, old_token: str | None, new_token: str
    ) -> Iterator[tuple[str, webdav.Resource | None, webdav.Resource | None]]:
        snap = self._snap()
        if old_token is None:
            for name, event in self.members():
                yield name, None, event
            return
        generation, _, revision = old_token.rpartition("-")
        known = generation == snap.point.generation and revision.isdigit()
        if not known or int(revision) > snap.point.revision:
            # 403 (RFC 6578 3.2): the client drops its token and syncs in full.
            raise webdav.ForbiddenPrecondition(
                "{DAV:}valid-sync-token", "unknown sync token; sync again without one"
            )
        for name, alive in self.view.state.caldav_changes(snap.state_key, int(revision)):
            member = snap.members.get(name) if alive else None
            new = Event(self, name, member, snap.last_modified) if member else None
            yield name, None, new

    async def create_member(  # type: ignore[override]
        self,
        name: str | None,
        contents: Iterable[bytes],
        content_type: str,
        remote_user: str | None = None,
        requester: str | None = None,
    ) -> tuple[str, str | None]:
        if name is None:
            refuse(403, "give the event a resource name (PUT to <calendar>/<name>.ics)")
        etag = await self.put(name, b"".join(contents), None)
        return name, etag

    async def put(self, name: str, body: bytes, uid: str | None) -> str | None:
        """Create or replace the event at ``name`` through the push service; the ETag of
        what is stored, or None when it differs from ``body`` (RFC 4791 5.3.4)."""
        return await self.writes.put(self.view, self.user, self.key, name, body, uid)

    async def pre_delete_hook(self, member_name: str) -> None:
        await self.writes.delete(self.view, self.user, self.key, member_name)

    def delete_member(
        self,
        name: str,
        etag: str | None = None,
        remote_user: str | None = None,
        requester: str | None = None,
    ) -> None:
        return None  # done by pre_delete_hook, through the push service


class Home(_Folder, webdav.Principal, webdav.Collection):
    """The user's principal, which is also its calendar home."""

    resource_types = [  # noqa: RUF012 - xandikos declares it a plain attribute
        *webdav.Collection.resource_types,
        webdav.PRINCIPAL_RESOURCE_TYPE,
    ]

    def __init__(self, view: CaldavView, writes: CaldavWrites, user: CaldavUser):
        self.view = view
        self.writes = writes
        self.user = user

    def get_displayname(self) -> str:
        return self.user.name

    def get_principal_url(self) -> str:
        return "."  # relative: an absolute href would lose the mount's path

    def get_calendar_home_set(self) -> list[str]:
        return ["."]

    def get_privileges(self) -> tuple[str, ...]:
        return ("{DAV:}read",)

    def members(self) -> Iterator[tuple[str, webdav.Resource]]:
        for name, key in sorted(self.view.calendars(self.user).items()):
            yield name, Calendar(self.view, self.writes, self.user, key)

    def get_member(self, name: str) -> Calendar:
        key = self.view.calendars(self.user)[name]
        return Calendar(self.view, self.writes, self.user, key)

    def get_ctag(self) -> str:
        raise KeyError

    def get_sync_token(self) -> str:
        raise KeyError

    async def get_etag(self) -> str:
        raise KeyError

    def get_last_modified(self) -> datetime:
        raise KeyError


class Root(_Folder, webdav.Collection):
    """``[caldav].path`` itself: where discovery asks for current-user-principal."""

    def __init__(self, home: Home):
        self.home = home

    def get_privileges(self) -> tuple[str, ...]:
        return ("{DAV:}read",)

    def members(self) -> Iterator[tuple[str, webdav.Resource]]:
        yield self.home.user.name, self.home

    def get_member(self, name: str) -> Home:
        if name != self.home.user.name:
            raise KeyError(name)
        return self.home

    def get_ctag(self) -> str:
        raise KeyError

    def get_sync_token(self) -> str:
        raise KeyError

    async def get_etag(self) -> str:
        raise KeyError

    def get_last_modified(self) -> datetime:
        raise KeyError

    def get_displayname(self) -> str:
        raise KeyError


class UserBackend(webdav.Backend):
    """The tree one logged-in user sees. A calendar the user may not see and one that
    does not exist are both None: the same 404."""

    def __init__(self, view: CaldavView, writes: CaldavWrites, user: CaldavUser):
        self.user = user
        self.home = Home(view, writes, user)
        self.root = Root(self.home)

    def get_resource(self, relpath: str) -> webdav.Resource | None:
        parts = [p for p in posixpath.normpath(relpath).split("/") if p]
        node: webdav.Resource = self.root
        for part in parts:
            if not isinstance(node, Root | Home | Calendar):
                return None
            try:
                node = node.get_member(part)
            except KeyError:
                return None
        return node

    def get_principal_collection_set(self) -> list[str]:
        return ["/"]

    def find_principals(self) -> Iterator[str]:
        yield "/" + self.user.name

    def create_collection(self, relpath: str) -> NoReturn:
        refuse(403, "calendars are the APIs' own: icsbridge creates no calendar or collection")
