"""Everything with I/O and time: API sources, simulators, state, sync, feeds, server, CLI."""
