"""Wordbee as a source: person calendars read month by month, its login and call quota."""
