"""The RFC 5545 machinery every API shares: events and calendars as bytes (assembly, text,
normalisation, VTIMEZONE), recurrence rules, the render cache, reading uploads, feed checks."""
