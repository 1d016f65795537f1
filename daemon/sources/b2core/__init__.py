"""B2CORE as a source: reading and writing back-office events, its tokens."""
