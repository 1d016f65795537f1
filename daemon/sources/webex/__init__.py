"""Webex Calling as a source: reading and writing schedules, its tokens, its answers' parts."""
