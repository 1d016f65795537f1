"""B2CORE simulator: event validation, list filters and sorting (no HTTP here).

What the simulated back office checks on a write (422 with ``{"message", "errors":
{field: [text]}}`` otherwise): ``caption`` a non-empty string; ``description`` a string
or null; ``startDate``/``endDate`` ISO 8601 date-times with a UTC offset, the end not
before the start; ``notifications`` an array of ISO 8601 durations (``PT2H``; years and
months allowed, as ISO 8601 allows them) or date-times with an offset; ``recipients`` an
array of e-mail addresses of known back-office users. Stored dates keep the offset they
were written with.

List filters (the simulator's reading of the reference, which does not spell them out):
``filter[startDate]=X`` keeps events starting at or after X, ``filter[endDate]=Y`` those
ending at or before Y, ``filter[recipients]=a[,b]`` those with any of the addresses,
``filter[name]`` / ``filter[description]`` a case-insensitive substring of caption /
description. ``sort_by`` is startTime (= startDate), startDate, endDate, caption, id or
createdAt; ``sort_order`` asc (default) or desc.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

EDITABLE = ("caption", "description", "startDate", "endDate", "notifications", "recipients")
SORT_FIELDS = {
    "startTime": "startDate",
    "startDate": "startDate",
    "endTime": "endDate",
    "endDate": "endDate",
    "caption": "caption",
    "id": "id",
    "createdAt": "createdAt",
}
_DURATION = re.compile(
    r"P(?=[0-9T])(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+W)?(?:[0-9]+D)?"
    r"(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:\.[0-9]+)?S)?)?"
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class ApiError(Exception):
    """An error answer: status, message and (for 422) the field errors."""

    def __init__(
        self, status: int, message: str, errors: Mapping[str, list[str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = dict(errors or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


def parse_instant(value: object) -> datetime | None:
    """An ISO 8601 date-time with an offset, or None."""
    if not isinstance(value, str) or len(value) < 16:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None and parsed.utcoffset() is not None else None


def check_event(
    body: object, *, current: Mapping[str, Any] | None, known_users: set[str]
) -> dict[str, Any]:
    """The event after a write: POST/PUT (``current`` None: every field from ``body``) or
    PATCH (``body``'s fields over ``current``). Raises ApiError 422 listing each problem."""
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    merged: dict[str, Any]
    if current is None:
        merged = {"description": None, "notifications": [], "recipients": []}
    else:
        merged = {key: current[key] for key in EDITABLE}
    merged.update({key: body[key] for key in EDITABLE if key in body})
    errors: dict[str, list[str]] = {}

    def fail(field: str, text: str) -> None:
        errors.setdefault(field, []).append(text)

    caption = merged.get("caption")
    if caption is None:
        fail("caption", "The caption field is required.")
    elif not isinstance(caption, str) or not caption.strip():
        fail("caption", "The caption must be a non-empty string.")
    if merged.get("description") is not None and not isinstance(merged["description"], str):
        fail("description", "The description must be a string.")
    instants: dict[str, datetime] = {}
    for field in ("startDate", "endDate"):
        value = merged.get(field)
        if value is None:
            fail(field, f"The {field} field is required.")
            continue
        parsed = parse_instant(value)
        if parsed is None:
            fail(field, f"The {field} must be an ISO 8601 date-time with a UTC offset.")
        else:
            instants[field] = parsed
    if len(instants) == 2 and instants["endDate"] < instants["startDate"]:
        fail("endDate", "The endDate must be a date after or equal to startDate.")
    _check_notifications(merged.get("notifications"), fail)
    _check_recipients(merged.get("recipients"), known_users, fail)
    if errors:
        raise ApiError(422, "The given data was invalid.", errors)
    merged["description"] = merged.get("description")
    return merged


def _check_notifications(value: object, fail: Any) -> None:
    if not isinstance(value, list):
        fail("notifications", "The notifications must be an array.")
        return
    for number, item in enumerate(value):
        if isinstance(item, str) and (_DURATION.fullmatch(item) or parse_instant(item)):
            continue
        fail(f"notifications.{number}", "Each notification must be an ISO 8601 duration.")


def _check_recipients(value: object, known_users: set[str], fail: Any) -> None:
    if not isinstance(value, list):
        fail("recipients", "The recipients must be an array.")
        return
    for number, item in enumerate(value):
        if not isinstance(item, str) or not _EMAIL.fullmatch(item):
            fail(f"recipients.{number}", "Each recipient must be a valid email address.")
        elif item.casefold() not in known_users:
            fail(f"recipients.{number}", f"No Back Office user has the email {item}.")


def select(events: list[dict[str, Any]], query: Mapping[str, str]) -> list[dict[str, Any]]:
    """The events matching the ``filter[...]`` parameters, sorted as asked."""
    chosen = list(events)
    bounds = {}
    for name in ("startDate", "endDate"):
        text = query.get(f"filter[{name}]")
        if text is None:
            continue
        parsed = parse_instant(text)
        if parsed is None:
            raise ApiError(
                422,
                "The given data was invalid.",
                {f"filter.{name}": [f"The filter {name} must be a date-time with an offset."]},
            )
        bounds[name] = parsed
    if "startDate" in bounds:
        chosen = [e for e in chosen if _instant(e["startDate"]) >= bounds["startDate"]]
    if "endDate" in bounds:
        chosen = [e for e in chosen if _instant(e["endDate"]) <= bounds["endDate"]]
    recipients = query.get("filter[recipients]")
    if recipients:
        wanted = {r.strip().casefold() for r in recipients.split(",") if r.strip()}
        chosen = [e for e in chosen if wanted & {r.casefold() for r in e["recipients"]}]
    for name, field in (("name", "caption"), ("description", "description")):
        needle = query.get(f"filter[{name}]")
        if needle:
            chosen = [e for e in chosen if needle.casefold() in (e.get(field) or "").casefold()]
    return _sorted(chosen, query)


def _sorted(events: list[dict[str, Any]], query: Mapping[str, str]) -> list[dict[str, Any]]:
    sort_by = query.get("sort_by", "id")
    order = query.get("sort_order", "asc").lower()
    if sort_by not in SORT_FIELDS or order not in ("asc", "desc"):
        raise ApiError(
            422,
            "The given data was invalid.",
            {"sort": [f"Sorting by {sort_by!r} {order!r} is not supported."]},
        )
    field = SORT_FIELDS[sort_by]

    def key(event: dict[str, Any]) -> tuple[Any, int]:
        value = event[field]
        if field in ("startDate", "endDate", "createdAt"):
            return _instant(value), event["id"]
        return value, event["id"]

    return sorted(events, key=key, reverse=order == "desc")


def _instant(text: str) -> datetime:
    parsed = parse_instant(text)
    assert parsed is not None, text  # stored values were checked on write
    return parsed
