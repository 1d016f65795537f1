"""The state on PostgreSQL: its backend (``backend``), apart from the store's common modules."""
