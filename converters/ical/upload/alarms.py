"""Alarms of an upload: the user's, or the app's own.

Calendar apps put alarms on events by themselves. None of these is an edit: the user did
not set them, and B2CORE (the one kind that holds alarms) would turn each into a
notification for every recipient. README "What each kind takes" states the rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Component, Event, vBroken

_APPLE_DEFAULT = ("X-APPLE-DEFAULT-ALARM", "X-APPLE-LOCAL-DEFAULT-ALARM")
FAR_TRIGGER = timedelta(days=366)
"""An absolute trigger further than this from the start is no reminder of the event."""

AlarmKey = tuple[str, object]
"""What tells two alarms apart for the rules below: the trigger (RELATED, value)."""


def placeholder_alarm(alarm: Component) -> bool:
    """An alarm that stands for "no alert" or for the app's own default, never set on the
    event: ``ACTION:NONE`` (RFC 9074; Apple's "None" alert) or one Apple marks as the
    calendar's default alert (``X-APPLE-DEFAULT-ALARM:TRUE``,
    ``X-APPLE-LOCAL-DEFAULT-ALARM:TRUE``). A feed of ours never writes either."""
    if str(alarm.get("ACTION") or "").strip().upper() == "NONE":
        return True
    return any(str(alarm.get(name) or "").strip().upper() == "TRUE" for name in _APPLE_DEFAULT)


def app_alarm(alarm: Component, start: datetime | None) -> bool:
    """A :func:`placeholder_alarm`, or an absolute trigger more than :data:`FAR_TRIGGER`
    from the event's ``start`` (Apple's placeholder fires on 1976-04-01)."""
    if placeholder_alarm(alarm):
        return True
    value = _trigger_value(alarm.get("TRIGGER"))
    if start is None or not isinstance(value, datetime):
        return False
    # Only a distance of a year is asked: a zone-less trigger (RFC 5545 wants UTC) is read
    # as UTC for it, which moves it by hours at most.
    trigger = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return abs(trigger - start) > FAR_TRIGGER


def own_alarms(events: Mapping[str, Event], published: Mapping[str, Event]) -> dict[str, Event]:
    """Each event of an upload (by UID) with only the user's alarms.

    An alarm the feed published (``published``: the event as it is now in the API, by
    UID; matched by trigger) is kept. Of the others, :func:`app_alarm` ones go, and so do
    default reminders: an app that stores a calendar adds the same reminder to its events
    (Outlook's and Google's 15 minutes, Thunderbird's, with no marker at all). An alarm
    is taken for one when the upload adds an alarm with the same trigger to two events or
    more, and either every event of the upload carries it, or exactly the events the feed
    published without alarms (new events among them) got it. Events that lose nothing
    are returned as they are.
    """
    drop: dict[str, set[int]] = {}  # alarms that go whatever the other events carry
    added: dict[str, list[tuple[int, AlarmKey]]] = {}  # candidates for a default reminder
    carried: dict[str, set[AlarmKey]] = {}
    for uid, component in events.items():
        start = start_of(component)
        before = Counter(_alarm_key(alarm) for alarm in _alarms(published.get(uid)))
        drop[uid], added[uid], carried[uid] = set(), [], set()
        for index, alarm in enumerate(component.subcomponents):
            if alarm.name != "VALARM":
                continue
            key = _alarm_key(alarm)
            carried[uid].add(key)
            if placeholder_alarm(alarm):
                drop[uid].add(index)
            elif before[key] > 0:
                before[key] -= 1  # the feed published it
            elif app_alarm(alarm, start):
                drop[uid].add(index)
            else:
                added[uid].append((index, key))
    gained: dict[AlarmKey, set[str]] = {}
    for uid, candidates in added.items():
        for _, key in candidates:
            gained.setdefault(key, set()).add(uid)
    bare = {uid for uid in events if not _alarms(published.get(uid))}
    defaults = {
        key
        for key, uids in gained.items()
        if len(uids) >= 2 and (uids == bare or all(key in keys for keys in carried.values()))
    }
    result: dict[str, Event] = {}
    for uid, component in events.items():
        gone = drop[uid] | {index for index, key in added[uid] if key in defaults}
        result[uid] = _without_subcomponents(component, gone) if gone else component
    return result


def _alarms(component: Event | None) -> list[Component]:
    if component is None:
        return []
    return [sub for sub in component.subcomponents if sub.name == "VALARM"]


def _alarm_key(alarm: Component) -> AlarmKey:
    trigger = alarm.get("TRIGGER")
    related = str(getattr(trigger, "params", {}).get("RELATED", "START")).upper()
    return related, _trigger_value(trigger)


def _trigger_value(trigger: object) -> object:
    """A TRIGGER's duration or instant; None when it has none or cannot be read (a value
    the parser kept as unreadable: the kind that holds alarms refuses it by name)."""
    if trigger is None or isinstance(trigger, vBroken):
        return None
    return getattr(trigger, "dt", None)


def start_of(component: Component) -> datetime | None:
    """DTSTART as an aware instant (a date at 00:00 UTC), or None when it has none."""
    value = getattr(component.get("DTSTART"), "dt", None)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    return None


def _without_subcomponents(component: Event, drop: set[int]) -> Event:
    copy = Event()
    for name, value in component.items():
        copy[name] = value
    for index, sub in enumerate(component.subcomponents):
        if index not in drop:
            copy.add_component(sub)
    return copy
