"""``[daemon]``: its settings, and where the state lives (a SQLite file or a PostgreSQL DSN)."""
