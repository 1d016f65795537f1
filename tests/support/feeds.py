"""Reading what an export wrote."""

from __future__ import annotations

from pathlib import Path


def exported_files(output_dir: Path) -> dict[str, bytes]:
    """Calendar key ("hq/locations/Paris HQ/...") -> the bytes of its .ics file."""
    return {
        str(path.relative_to(output_dir).with_suffix("")): path.read_bytes()
        for path in output_dir.rglob("*.ics")
    }
