"""Writing events of a Webex schedule (person or location level).

``ref`` is the ``PulledCalendar.ref`` of the schedule: ``level`` ("PEOPLE" or "LOCATION"),
``owner_id`` (person or location id), ``type`` and ``schedule_id``. Webex event ids are
derived from the event name, so a rename gives the event a new id: ``update_event`` returns
the id the API answers with and the caller re-keys its state from it.

Writes are never retried once they may have reached the server (see ``daemon.sources.http``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import quote
from zoneinfo import ZoneInfo

from icalendar import Event

from icsbridge.converters.ical.model import ConvertedEvent
from icsbridge.converters.webex.convert import Level, WebexEvent, from_vevent, parse_schedule
from icsbridge.daemon.sources.base import payload_errors_of
from icsbridge.daemon.sources.http import ApiClient, SourceError
from icsbridge.daemon.sources.writes import Action, EventWriter, Payload, PlannedWrite


@functools.lru_cache(maxsize=16384)
def path_segment(text: str) -> str:
    """An API id as one URL path segment (standard base64 ids may hold ``/`` and ``+``).
    Kept: every sync quotes the same ids again (~6 ms of a 10,000-event re-sync)."""
    return quote(text, safe="")


def schedule_path(ref: dict[str, str]) -> str:
    """The API path of the schedule ``ref`` names."""
    sid = path_segment(ref["schedule_id"])
    stype = path_segment(ref["type"])
    owner = path_segment(ref["owner_id"])
    if ref["level"] == "PEOPLE":
        return f"/people/{owner}/features/schedules/{stype}/{sid}"
    if ref["level"] == "LOCATION":
        return f"/telephony/config/locations/{owner}/schedules/{stype}/{sid}"
    raise ValueError(f"unknown schedule level {ref['level']!r}")


class WebexWrites(EventWriter):
    """Event writes for :class:`daemon.sources.webex.source.WebexSource` (uses its ``api``)."""

    api: ApiClient
    name: str

    async def create_event(self, ref: dict[str, str], event: WebexEvent) -> str:
        """Add ``event`` to the schedule; returns the new event's id."""
        body = await self.api.call_json("POST", f"{schedule_path(ref)}/events", json=_wire(event))
        return self._id_of(body, "POST", ref)

    async def update_event(
        self,
        ref: dict[str, str],
        event_id: str,
        event: WebexEvent,
        *,
        new_name: str | None = None,
    ) -> str:
        """Replace the event's fields; ``event.name`` is its current name and ``new_name``
        renames it. Returns the event's id after the write (a new one on rename)."""
        body = _wire(event)
        if new_name is not None and new_name != event.name:
            body["newName"] = new_name
        answer = await self.api.call_json("PUT", _event_path(ref, event_id), json=body)
        return self._id_of(answer, "PUT", ref)

    async def delete_event(self, ref: dict[str, str], event_id: str) -> None:
        await self.api.request("DELETE", _event_path(ref, event_id))

    async def get_event(self, ref: dict[str, str], event_id: str) -> WebexEvent:
        data = await self.api.get_json(_event_path(ref, event_id))
        # Validated through the schedule parser so an event is checked the same way
        # whether it comes alone or inside its schedule.
        wrapper = {"id": ref["schedule_id"], "name": "-", "type": ref["type"], "events": [data]}
        with payload_errors_of(self.name):
            return parse_schedule(wrapper, where=f"event {event_id}").events[0]

    # -- the push engine's interface (daemon.sources.writes) -------------------------------------

    def payload_for(self, ref: Mapping[str, str], vevent: Event) -> Payload:
        level = cast(Level, ref["level"])
        return _wire(from_vevent(vevent, level=level, tz=ZoneInfo(ref["tz"])))

    def name_of(self, payload: Payload) -> str | None:
        return str(payload["name"])

    def held_name(self, event: ConvertedEvent) -> str | None:
        return str(event.vevent().get("SUMMARY") or "")

    def with_name(self, payload: Payload, name: str) -> Payload:
        return {**payload, "name": name}

    def plan_write(
        self,
        ref: Mapping[str, str],
        action: Action,
        uid: str,
        *,
        native_key: str | None,
        payload: Payload | None,
        base: Payload | None,
    ) -> PlannedWrite:
        events = f"{schedule_path(dict(ref))}/events"
        if action == "create":
            method, path = "POST", events
        else:
            assert native_key is not None
            method = "PUT" if action == "update" else "DELETE"
            path = f"{events}/{quote(native_key, safe='')}"
        return PlannedWrite(action, uid, native_key, payload, base, method, path)

    async def send_write(self, ref: Mapping[str, str], write: PlannedWrite) -> str | None:
        target = dict(ref)
        if write.action == "create":
            assert write.payload is not None
            return await self.create_event(target, WebexEvent.model_validate(write.payload))
        assert write.native_key is not None
        if write.action == "delete":
            try:
                await self.delete_event(target, write.native_key)
            except SourceError as exc:
                if exc.status != 404:
                    raise
            return None
        assert write.payload is not None and write.base is not None
        # The PUT names the event by its current name; a new SUMMARY is a rename.
        current = str(write.base["name"])
        event = WebexEvent.model_validate({**write.payload, "name": current})
        return await self.update_event(
            target, write.native_key, event, new_name=str(write.payload["name"])
        )

    def _id_of(self, body: Any, method: str, ref: dict[str, str]) -> str:
        new_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(new_id, str) or not new_id:
            raise SourceError(
                f'source "{self.name}": {method} {schedule_path(ref)}/events: the answer has '
                "no event id; re-read the schedule before writing again"
            )
        return new_id


def _event_path(ref: dict[str, str], event_id: str) -> str:
    return f"{schedule_path(ref)}/events/{quote(event_id, safe='')}"


def _wire(event: WebexEvent) -> dict[str, Any]:
    body = dict(event.to_wire())
    body.pop("id", None)  # the id is in the path (or made by the server on create)
    return body
