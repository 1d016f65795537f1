"""`icsbridge caldav`: what a person types into a calendar app to reach the calendars."""

from __future__ import annotations

import sys

from icsbridge.config.settings import Settings
from icsbridge.daemon.caldav.names import base_url, principal_url


def cmd_caldav(settings: Settings) -> int:
    """Print the CalDAV URL per app and each user's name and calendars (never a password:
    it is where the config's reference says)."""
    if settings.caldav is None:
        print(
            f"{settings.path}: CalDAV is off; add a [caldav] table with [[caldav.users]] "
            "(see README, Calendar apps)",
            file=sys.stderr,
        )
        return 1
    url = base_url(settings)
    host = settings.daemon.public_url.rstrip("/")
    print(f"CalDAV: {url}")
    print(f"  Apple Calendar (macOS, iOS): account type CalDAV, manual, server {host}")
    print(f"  Thunderbird: new calendar, on the network, location {url}")
    print(f"  DAVx5: login with URL and user name, base URL {url}")
    print(f"  Evolution / GNOME Calendar: CalDAV, URL {url}")
    for user in settings.caldav.users:
        access = "read and write" if user.write else "read-only"
        print(f"user {user.name} ({access}; password: {user.password.reference})")
        print(f"  principal {principal_url(settings, user.name)}")
        print(f"  calendars {', '.join(user.calendars)}")
    return 0
