"""The push engine's refusals as CalDAV answers (the table in daemon/caldav/writes.py)."""

from __future__ import annotations

import pytest
from xandikos import webdav

from icsbridge.daemon.caldav.writes import DavAnswer, raise_for
from icsbridge.daemon.push.service import EditAnswer, refusal

CALDAV = "{urn:ietf:params:xml:ns:caldav}"


@pytest.mark.parametrize(
    ("status", "precondition"),
    [
        (422, f"{CALDAV}valid-calendar-object-resource"),
        (400, f"{CALDAV}valid-calendar-data"),
        (403, "{DAV:}need-privileges"),
    ],
)
def test_refusals_the_client_cannot_resolve_are_403_with_their_precondition(
    status: int, precondition: str
) -> None:
    with pytest.raises(webdav.ForbiddenPrecondition) as caught:
        raise_for(refusal(status, "the one-line reason", ["the one-line reason", "a detail"]))
    assert caught.value.precondition == precondition
    assert caught.value.description == "the one-line reason; a detail"


def test_changed_on_both_sides_is_412_so_the_client_fetches_it_again() -> None:
    with pytest.raises(DavAnswer) as caught:
        raise_for(refusal(409, 'event "x" was changed in the API as well'))
    assert (caught.value.status, caught.value.text) == (
        412,
        'event "x" was changed in the API as well',
    )


def test_a_busy_source_is_503_with_the_engines_retry_after() -> None:
    with pytest.raises(DavAnswer) as caught:
        raise_for(EditAnswer(503, {"error": "busy", "details": []}, retry_after=7))
    assert (caught.value.status, caught.value.retry_after) == (503, 7)


@pytest.mark.parametrize(("status", "sent"), [(404, 404), (502, 502), (500, 502)])
def test_other_answers_keep_their_status_or_are_502(status: int, sent: int) -> None:
    with pytest.raises(DavAnswer) as caught:
        raise_for(refusal(status, "why"))
    assert caught.value.status == sent
