"""The Webex simulator's data: one org, its locations and people, and their schedules.

Every change goes through the same operations whether it comes from the HTTP API or from
a test acting "as an admin in Control Hub": validation, name uniqueness, normalisation and
id changes on rename are therefore identical on both paths.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from icsbridge.daemon.simulators.webex.events import (
    ERROR_NAME_TAKEN,
    ERROR_NAME_TAKEN_BY_LOCATION,
    ERROR_NOT_FOUND,
    ApiError,
    Level,
    b64,
    check_name,
    check_schedule_type,
    event_id,
    schedule_id,
    validate_event,
)

Event = dict[str, Any]


@dataclass
class SimSchedule:
    """A schedule: events keyed by their (unique) name, in creation order."""

    name: str
    type: str
    events: dict[str, Event] = field(default_factory=dict)


@dataclass
class SimLocation:
    id: str
    name: str
    time_zone: str | None
    address: dict[str, str] = field(default_factory=dict)
    schedules: list[SimSchedule] = field(default_factory=list)
    level: ClassVar[Level] = "LOCATION"


@dataclass
class SimPerson:
    id: str
    display_name: str
    emails: list[str]
    location_id: str | None
    time_zone: str | None = None
    schedules: list[SimSchedule] = field(default_factory=list)
    level: ClassVar[Level] = "PEOPLE"


Owner = SimPerson | SimLocation


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found", ERROR_NOT_FOUND)


def _stable_id(kind: str, key: str) -> str:
    return b64(f"ciscospark://us/{kind}/{uuid.uuid5(uuid.NAMESPACE_URL, key)}")


class WebexDirectory:
    """People, locations and schedules of one organisation, with Control Hub-like edits."""

    def __init__(self, org_id: str | None = None, org_name: str = "Simulated Org") -> None:
        self.org_id = org_id or _stable_id("ORGANIZATION", org_name)
        self.org_name = org_name
        self.people: dict[str, SimPerson] = {}
        self.locations: dict[str, SimLocation] = {}

    # ---- directory --------------------------------------------------------------------
    def add_location(
        self,
        name: str,
        time_zone: str | None,
        *,
        address: dict[str, str] | None = None,
        location_id: str | None = None,
    ) -> str:
        """Add a location; its id derives from the name unless given. Returns the id."""
        new_id = location_id or _stable_id("LOCATION", f"{self.org_id}/{name}")
        self.locations[new_id] = SimLocation(new_id, name, time_zone, dict(address or {}))
        return new_id

    def add_person(
        self,
        display_name: str,
        email: str,
        *,
        location_id: str | None,
        time_zone: str | None = None,
        person_id: str | None = None,
    ) -> str:
        """Add a calling user; ``time_zone`` is the person's own calling zone (may be None)."""
        if location_id is not None and location_id not in self.locations:
            raise not_found(f"location {location_id}")
        new_id = person_id or _stable_id("PEOPLE", email.lower())
        self.people[new_id] = SimPerson(new_id, display_name, [email], location_id, time_zone)
        return new_id

    def person(self, person_id: str) -> SimPerson:
        try:
            return self.people[person_id]
        except KeyError:
            raise not_found(f"person {person_id}") from None

    def location(self, location_id: str) -> SimLocation:
        try:
            return self.locations[location_id]
        except KeyError:
            raise not_found(f"location {location_id}") from None

    def owner(self, owner_id: str) -> Owner:
        """A person or a location, by id."""
        if owner_id in self.people:
            return self.people[owner_id]
        return self.location(owner_id)

    def location_of(self, person: SimPerson) -> SimLocation | None:
        return self.locations.get(person.location_id) if person.location_id else None

    # ---- schedules (shared by the HTTP API and the control methods) ------------------
    def find_schedule(self, owner: Owner, schedule_type: str, sched_id: str) -> SimSchedule:
        for schedule in owner.schedules:
            if schedule.type == schedule_type and schedule_id_of(owner, schedule) == sched_id:
                return schedule
        if isinstance(owner, SimPerson):
            shared = self.location_of(owner)
            if shared is not None and any(
                schedule_id_of(shared, s) == sched_id for s in shared.schedules
            ):
                raise not_found(
                    f"schedule {sched_id} for this person: it is a location schedule, read it"
                    f" through /telephony/config/locations/{shared.id}/schedules"
                )
        raise not_found(f"{schedule_type} schedule {sched_id}")

    def create_schedule(
        self, owner: Owner, schedule_type: object, name: object, events: object = None
    ) -> str:
        checked_type = check_schedule_type(schedule_type)
        checked_name = check_name(name)
        self._check_schedule_name(owner, checked_type, checked_name)
        schedule = SimSchedule(checked_name, checked_type)
        schedule.events = self._validated_events(owner, events)
        owner.schedules.append(schedule)
        return schedule_id_of(owner, schedule)

    def update_schedule(
        self, owner: Owner, schedule: SimSchedule, new_name: str | None, events: object
    ) -> str:
        """Rename (when ``new_name`` differs) and/or replace all events (when given)."""
        if new_name is not None and new_name != schedule.name:
            new_name = check_name(new_name, "newName")
            self._check_schedule_name(owner, schedule.type, new_name)
        replaced = self._validated_events(owner, events) if events is not None else None
        if new_name is not None:
            schedule.name = new_name
        if replaced is not None:
            schedule.events = replaced
        return schedule_id_of(owner, schedule)

    def drop_schedule(self, owner: Owner, schedule: SimSchedule) -> None:
        owner.schedules.remove(schedule)

    def _check_schedule_name(self, owner: Owner, schedule_type: str, name: str) -> None:
        if any(s.type == schedule_type and s.name == name for s in owner.schedules):
            raise ApiError(
                409, f"a {schedule_type} schedule named {name!r} already exists", ERROR_NAME_TAKEN
            )
        shared = self.location_of(owner) if isinstance(owner, SimPerson) else None
        if shared is not None and any(
            s.type == schedule_type and s.name == name for s in shared.schedules
        ):
            raise ApiError(
                409,
                f"schedule name {name!r} is already used by a {schedule_type} schedule of"
                f" location {shared.name!r}",
                ERROR_NAME_TAKEN_BY_LOCATION,
            )

    def _validated_events(self, owner: Owner, events: object) -> dict[str, Event]:
        if events is None:
            return {}
        if not isinstance(events, list):
            raise ApiError(400, "events must be a list of events")
        result: dict[str, Event] = {}
        for raw in events:
            payload = dict(raw) if isinstance(raw, dict) else raw
            if isinstance(payload, dict) and payload.get("newName"):
                payload["name"] = payload["newName"]
            event = validate_event(payload, owner.level)
            if event["name"] in result:
                raise _event_name_taken(event["name"])
            result[event["name"]] = event
        return result

    # ---- events --------------------------------------------------------------------
    def find_event(self, owner: Owner, schedule: SimSchedule, ev_id: str) -> Event:
        for name, event in schedule.events.items():
            if event_id(owner.level, name) == ev_id:
                return event
        raise not_found(f"event {ev_id}")

    def create_event(self, owner: Owner, schedule: SimSchedule, payload: object) -> str:
        event = validate_event(payload, owner.level)
        if event["name"] in schedule.events:
            raise _event_name_taken(event["name"])
        schedule.events[event["name"]] = event
        return event_id(owner.level, event["name"])

    def update_event(
        self, owner: Owner, schedule: SimSchedule, old_name: str, payload: dict[str, Any]
    ) -> str:
        """Replace the event's fields; ``newName`` in the payload renames it (new id)."""
        given = payload.get("name", old_name)
        if given != old_name:
            raise ApiError(
                400,
                f"name {given!r} is not this event's name {old_name!r}; send newName to rename",
            )
        new_name = payload.get("newName") or old_name
        event = validate_event({**payload, "name": new_name}, owner.level)
        if new_name != old_name and new_name in schedule.events:
            raise _event_name_taken(new_name)
        # Rebuild to keep the event's position while changing its key.
        schedule.events = {
            (new_name if name == old_name else name): (event if name == old_name else value)
            for name, value in schedule.events.items()
        }
        return event_id(owner.level, new_name)

    def drop_event(self, owner: Owner, schedule: SimSchedule, name: str) -> None:
        del schedule.events[name]

    # ---- Control Hub: edits by name, as an admin would make them ----------------------
    def schedule_by_name(self, owner_id: str, schedule_type: str, name: str) -> SimSchedule:
        owner = self.owner(owner_id)
        for schedule in owner.schedules:
            if schedule.type == schedule_type and schedule.name == name:
                return schedule
        raise not_found(f"{schedule_type} schedule {name!r}")

    def add_schedule(
        self, owner: str, type: str, name: str, events: list[Event] | None = None
    ) -> str:
        """Create a schedule (validated and normalised like the API); returns its id."""
        return self.create_schedule(self.owner(owner), type, name, events or [])

    def rename_schedule(self, owner: str, type: str, name: str, new_name: str) -> str:
        schedule = self.schedule_by_name(owner, type, name)
        return self.update_schedule(self.owner(owner), schedule, new_name, None)

    def delete_schedule(self, owner: str, type: str, name: str) -> None:
        self.drop_schedule(self.owner(owner), self.schedule_by_name(owner, type, name))

    def set_event(self, owner: str, type: str, schedule: str, event: Event) -> str:
        """Create or replace (by name) an event of a schedule; returns the event id."""
        target = self.schedule_by_name(owner, type, schedule)
        name = event.get("name")
        if isinstance(name, str) and name in target.events:
            return self.update_event(self.owner(owner), target, name, dict(event))
        return self.create_event(self.owner(owner), target, event)

    def rename_event(self, owner: str, type: str, schedule: str, name: str, new_name: str) -> str:
        target = self.schedule_by_name(owner, type, schedule)
        if name not in target.events:
            raise not_found(f"event {name!r}")
        payload = {**target.events[name], "newName": new_name}
        return self.update_event(self.owner(owner), target, name, payload)

    def delete_event(self, owner: str, type: str, schedule: str, name: str) -> None:
        target = self.schedule_by_name(owner, type, schedule)
        if name not in target.events:
            raise not_found(f"event {name!r}")
        self.drop_event(self.owner(owner), target, name)

    def get_event(self, owner: str, type: str, schedule: str, name: str) -> Event:
        """A copy of the stored event with its id, as the API would return it."""
        target = self.schedule_by_name(owner, type, schedule)
        if name not in target.events:
            raise not_found(f"event {name!r}")
        return event_payload(self.owner(owner), target.events[name])

    def put_raw_event(self, owner: str, type: str, schedule: str, event: Event) -> str:
        """Store an event WITHOUT validation (e.g. the docs' over-filled sample payload)."""
        target = self.schedule_by_name(owner, type, schedule)
        target.events[str(event["name"])] = copy.deepcopy(event)
        return event_id(self.owner(owner).level, str(event["name"]))


def schedule_id_of(owner: Owner, schedule: SimSchedule) -> str:
    return schedule_id(owner.level, schedule.type, schedule.name)


def event_payload(owner: Owner, event: Event) -> Event:
    return {"id": event_id(owner.level, str(event["name"])), **copy.deepcopy(event)}


def _event_name_taken(name: str) -> ApiError:
    return ApiError(
        409, f"an event named {name!r} already exists in this schedule", ERROR_NAME_TAKEN
    )
