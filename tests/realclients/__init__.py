"""Real calendar parsers (ical.js, libical, icalendar+dateutil) our .ics output is held against.

See harness.py; install the parsers with scripts/install-test-deps.sh.
"""
