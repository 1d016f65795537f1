"""Suite-wide settings."""

from __future__ import annotations

from hypothesis import settings

# Property tests judge results, never speed: Hypothesis' per-example deadline turned a
# loaded machine into failures (test_prepared_path_gives_the_same_bytes_and_hash under a
# load average of 6). Speed is measured in bench/, side by side with a reference.
settings.register_profile("icsbridge", deadline=None)
settings.load_profile("icsbridge")
