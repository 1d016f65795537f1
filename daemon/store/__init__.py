"""The state store: one SQLite file holding what must outlive a run."""
