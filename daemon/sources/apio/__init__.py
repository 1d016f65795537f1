"""APIO (BroadWorks) as a source: reading and writing group schedules, its three logins."""
