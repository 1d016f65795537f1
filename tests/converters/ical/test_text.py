"""Feed bytes: CRLF, folding at 75 octets outside UTF-8 sequences, TEXT escaping."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event

from icsbridge.converters.ical.assembly import Stamp, assemble, finalize_event, validate_feed
from icsbridge.converters.ical.model import CalendarMeta
from icsbridge.converters.ical.text import escape_text, fold, unescape_text

META = CalendarMeta(key="k", name="Texts")
MODIFIED = datetime(2024, 1, 2, tzinfo=UTC)


def feed_with_summary(summary: str) -> bytes:
    event = Event()
    event.add("summary", summary)
    event.add("dtstart", datetime(2024, 3, 4, 9, tzinfo=UTC))
    return assemble(META, [finalize_event(event, Stamp("text@x", MODIFIED))])


def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    lines = data[:-2].split(b"\r\n")
    assert not [line for line in lines if b"\n" in line or b"\r" in line]
    return lines


def summary_value(data: bytes) -> str:
    """The SUMMARY value as written (escaped), after unfolding."""
    text = data.decode("utf-8").replace("\r\n ", "")
    return next(line for line in text.split("\r\n") if line.startswith("SUMMARY:"))[8:]


def assert_well_folded(data: bytes) -> None:
    for line in physical_lines(data):
        assert len(line) <= 75, line
        line.decode("utf-8")  # a fold inside a UTF-8 sequence would not decode alone


def test_long_multibyte_summary_folds_between_characters() -> None:
    summary = "Réunion d'équipe 😀 " * 12 + "é" * 40 + "🎉" * 30
    data = feed_with_summary(summary)
    assert_well_folded(data)
    assert unescape_text(summary_value(data)) == summary
    assert validate_feed(data) == []
    assert str(Calendar.from_ical(data).walk("VEVENT")[0]["SUMMARY"]) == summary


def test_fold_at_every_offset_of_a_four_byte_character() -> None:
    for prefix in range(1, 80):
        line = "SUMMARY:" + "a" * prefix + "😀" * 30
        folded = fold(line)
        assert_well_folded(folded)
        assert folded.decode("utf-8").replace("\r\n ", "")[:-2] == line


def test_continuation_lines_start_with_one_space_and_hold_74_octets() -> None:
    folded = fold("SUMMARY:" + "x" * 200)
    lines = physical_lines(folded)
    assert len(lines[0]) == 75
    assert all(line.startswith(b" ") and len(line) <= 75 for line in lines[1:])
    assert len(lines[1]) == 75


def test_fold_never_splits_a_backslash_escape() -> None:
    for prefix in range(60, 80):
        folded = fold("SUMMARY:" + "a" * prefix + "\\," * 20)
        for line in physical_lines(folded):
            stripped = line.lstrip(b" ")
            assert not stripped.startswith(b",") or stripped.startswith(b"\\")


def test_text_escaping_of_backslash_semicolon_comma_and_newlines() -> None:
    data = feed_with_summary("a, b; c\\d\nnext\r\nthird\rfourth")
    assert summary_value(data) == "a\\, b\\; c\\\\d\\nnext\\nthird\\nfourth"
    assert validate_feed(data) == []


def test_backslash_capital_n_is_not_a_newline() -> None:
    """icalendar 7.3 escapes "Office\\North" as Office\\north: a line break on reading."""
    data = feed_with_summary("Office\\North")
    assert summary_value(data) == "Office\\\\North"
    assert str(Calendar.from_ical(data).walk("VEVENT")[0]["SUMMARY"]) == "Office\\North"


def test_control_characters_are_dropped_tabs_kept() -> None:
    assert escape_text("a\x00b\x07c\td\x7f") == "abc\td"


def test_lone_surrogate_does_not_break_the_feed() -> None:
    data = feed_with_summary("bad \ud800 half")
    assert summary_value(data) == "bad ? half"
    assert validate_feed(data) == []


TEXT = st.text(
    alphabet=st.sampled_from(list('aZ N\\;,:"\n\r\té€😀🎉ß漢')),
    max_size=250,
)


@settings(max_examples=150, deadline=None)
@given(summary=TEXT.filter(lambda text: text != ""))
def test_any_summary_survives_folding_and_escaping(summary: str) -> None:
    data = feed_with_summary(summary)
    assert_well_folded(data)
    expected = summary.replace("\r\n", "\n").replace("\r", "\n")
    assert unescape_text(summary_value(data)) == expected
    assert validate_feed(data) == []
    assert str(Calendar.from_ical(data).walk("VEVENT")[0]["SUMMARY"]) == expected
