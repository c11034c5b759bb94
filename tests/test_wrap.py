"""The word wrap shared by the transcript and the diff view never loses or adds a character."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from convai_tui.tui.widgets.wrap import line_count, wrap, wrap_spans

# words, runs of spaces, wide (CJK) and combining characters, emoji, tabs made visible elsewhere
ALPHABET = st.sampled_from(list("abcdefghij ABC.,;:!?-_/(){}\"'") + ["  ", "   ", "ă", "ț", "日本", "語", "😀",
                                                                    "e\u0301", "\u200b"])
TEXT = st.lists(ALPHABET, max_size=120).map("".join)
WIDTH = st.integers(min_value=1, max_value=40)


@settings(max_examples=400, deadline=None)
@given(TEXT, WIDTH)
def test_wrapping_then_joining_loses_no_character(text, width):
    spans = wrap_spans(text, width)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), "spans must be contiguous"
    assert "".join(text[s:e] for s, e in spans) == text
    for s, e in spans:
        visible = text[s:e].rstrip()
        assert cell_len(visible) <= width or len(visible) == 1, (text[s:e], width)


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXT, max_size=4).map("\n".join), WIDTH)
def test_paragraphs_keep_their_newlines(text, width):
    lines = wrap(text, width)
    assert "".join(lines) == text.replace("\n", "")
    assert len(lines) >= text.count("\n") + 1
    assert line_count(text, width) == len(lines)


def test_breaks_at_spaces_and_keeps_every_letter():
    text = "Hi, you've reached Bella Dental. How can I help you today?"
    lines = wrap(text, 17)
    assert [ln.rstrip() for ln in lines] == ["Hi, you've", "reached Bella", "Dental. How can I", "help you today?"]
    assert "".join(lines) == text


def test_long_words_are_split_not_cut():
    text = 'cancel_appointment({"time": "2026-11-27T10:00"})'
    lines = wrap(text, 20)
    assert "".join(lines) == text and all(cell_len(x) <= 20 for x in lines)
