"""Small helpers that keep user-facing wording uniform across config messages."""

from __future__ import annotations

import json
from datetime import date, datetime, time


def quote(text: str) -> str:
    """Quote a value the way TOML writes strings, escaped so it stays on one line."""
    return json.dumps(text, ensure_ascii=False)


def toml_type(value: object) -> str:
    """Name the TOML type of a parsed value, with its article: "a string", "an array"."""
    # bool before int: bool is a subclass of int in Python but not in TOML.
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime | date | time):
        return "a date/time"
    return f"a {type(value).__name__}"
