"""Everything with I/O and time, one folder per subsystem (see docs/architecture.md)."""
