"""The state store: what must outlive a run, in one SQLite file or one PostgreSQL database."""
