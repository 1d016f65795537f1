"""The feeds: what is served and written, their files, URLs and tokens, atomic writes."""
