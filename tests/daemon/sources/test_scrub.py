"""sources.rules.scrub: every form a secret takes in a message is replaced by ***."""

from __future__ import annotations

import base64
import json
import re
import socket
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import httpx
import pytest

from icsbridge.daemon.sources.http import ApiClient, SourceError
from icsbridge.daemon.sources.rules import scrub

pytestmark = pytest.mark.anyio

# Every character here is written differently by repr(), JSON or percent-encoding.
SECRET = 'tok/+en="é\\42 x'
NEWLINE_SECRET = "access-part1\nsecond-part2"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), text)


def b64(text: str, *, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(text.encode()).decode()


# (the secret as a message quotes it, what scrub leaves of it): only what the message
# added around the secret stays, and the base64 characters that mix in other bytes.
FORMS = {
    "raw": (SECRET, "***"),
    "repr": (repr(SECRET), "'***'"),
    "ascii": (ascii(SECRET), "'***'"),
    "bytes repr": (repr(SECRET.encode()), "b'***'"),
    "header repr": (repr(f"Bearer {SECRET}".encode()), "b'Bearer ***'"),
    "json": (json.dumps(SECRET), '"***"'),
    "json unicode": (json.dumps(SECRET, ensure_ascii=False), '"***"'),
    "json twice": (json.dumps(json.dumps(SECRET)), '"\\"***\\""'),
    "json of repr": (json.dumps(repr(SECRET)), "\"'***'\""),
    "percent": (quote(SECRET, safe=""), "***"),
    "percent, path": (quote(SECRET), "***"),
    "percent, form": (quote_plus(SECRET), "***"),
    "percent, lower hex": (lower_hex(quote(SECRET, safe="")), "***"),
    "percent twice": (quote(quote(SECRET, safe=""), safe=""), "***"),
    "percent of json": (quote(json.dumps(SECRET), safe=""), "%22***%22"),
    "base64": (b64(SECRET), "***A=="),
    "basic auth": (b64(f"client-id:{SECRET}"), "Y2xpZW50LWlkOn***g="),
    "basic auth, 1 off": (b64(f"client-:{SECRET}"), "Y2xpZW50LTp***"),
    "basic auth, 2 off": (b64(f"client-i:{SECRET}"), "Y2xpZW50LWk6***A=="),
    "base64 url-safe": (b64("id:~~~?>>>~~~", urlsafe=True), "aWQ6***g=="),
    "collapsed": (" ".join(f"{SECRET}\n".split()), "***"),
}


@pytest.mark.parametrize(("form", "left"), FORMS.values(), ids=FORMS.keys())
def test_a_source_error_with_an_escaped_or_encoded_secret_is_scrubbed(form: str, left: str) -> None:
    text = scrub(
        f"401 Unauthorized: bad credentials {form} (trackingId T1)", [SECRET, "~~~?>>>~~~"]
    )
    assert text == f"401 Unauthorized: bad credentials {left} (trackingId T1)"


def leaks(text: str, secret: str) -> list[str]:
    """The runs of 4 characters of ``secret`` still in ``text``."""
    return [secret[i : i + 4] for i in range(len(secret) - 3) if secret[i : i + 4] in text]


def test_the_pieces_of_a_secret_split_at_a_newline_are_scrubbed() -> None:
    # A header value broken at its newline is quoted in pieces, one per header line.
    text = scrub("sent: Bearer access-part1 | then: second-part2", [NEWLINE_SECRET])
    assert text == "sent: Bearer *** | then: ***"


def test_the_longest_secret_goes_first_and_other_text_is_kept() -> None:
    text = scrub("abc-long-secret and abc and %41 and \\n", ["abc", "abc-long-secret"])
    assert text == "*** and *** and %41 and \\n"


def test_a_message_without_secrets_is_unchanged() -> None:
    line = 'GET /people/1: 404 Not Found: "nope" %2F \\u00e9 YWJj (trackingId T)'
    assert scrub(line, ["tok-1234567890", ""]) == line


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that takes connections and never answers (the kernel accepts)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])


async def test_an_illegal_header_error_carries_no_part_of_the_token(silent_port: int) -> None:
    """The finding: h11 refuses the header and quotes it as bytes, ``b'Bearer ...\\n...'``."""

    async def token() -> str:
        return NEWLINE_SECRET

    async def no_sleep(seconds: float) -> None:
        return None

    async with httpx.AsyncClient(timeout=10) as client:  # a real transport, real h11
        api = ApiClient(
            client,
            source="hq",
            base_url=f"http://127.0.0.1:{silent_port}/v1",
            auth=token,
            sleep=no_sleep,
        )
        with pytest.raises(SourceError) as caught:
            await api.get_json("/people")
    line = str(caught.value)
    assert line.startswith(
        'source "hq": GET /people: no answer (LocalProtocolError: Illegal header value '
        "b'Bearer ***') (trackingId ICSBRIDGE_"
    )
    assert line.endswith("; check base_url")
    assert not leaks(line, NEWLINE_SECRET)
    assert "part1" not in line and "part2" not in line
