"""Where CalDAV lives: the URLs a person types into a calendar app, and the collection
name of each calendar key (keys hold "/" and spaces; a collection name holds neither)."""

from __future__ import annotations

import hashlib
import re

from icsbridge.config.settings import Settings

WELL_KNOWN = "/.well-known/caldav"
"""RFC 6764: where apps given only a host look for CalDAV."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_HEAD = 48


def collection_name(key: str) -> str:
    """``hq-locations-Paris_HQ-holidays-French_Holidays-1a2b3c4d``: readable, and unique
    by the hash of the whole key (two keys never share a name)."""
    readable = _UNSAFE.sub("_", key.replace("/", "-")).strip("._-")[:_HEAD]
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def base_url(settings: Settings) -> str:
    """``public_url`` + ``[caldav].path``: what DAVx5, Thunderbird and Evolution want."""
    assert settings.caldav is not None
    return settings.daemon.public_url.rstrip("/") + settings.caldav.path


def principal_url(settings: Settings, user: str) -> str:
    """The user's principal, which is also its calendar home (as in Radicale)."""
    return f"{base_url(settings)}{user}/"
