"""Pure translation between API payloads and RFC 5545 components.

No network, no disk, no clock: everything a converter needs ("now", time zones, UIDs)
is passed in. One folder per API; ``ical`` and ``wire`` hold what they share.
"""
