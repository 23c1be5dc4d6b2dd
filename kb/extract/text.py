"""Spans of text: sentences, quotations and the trimming of decoration.

Every function works on (start, end) offsets into one string, so that what
the extractor keeps is always an exact substring of the document.
"""
from __future__ import annotations

import re

# Characters that decorate the start of a line in channel posts: emoji, flags,
# bullets, arrows.  Letters, digits, quotes and brackets are never decoration.
_DECOR = re.compile(r"[^\w\"“”«»‘’'(\[<]+")
_TRAILING_ELLIPSIS = re.compile(r"(\s*<\.\.\.>|\s*\[\.\.\.\]|\s*…)+\s*$")
_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Prof|Gen|Col|Lt|Sgt|No|Nos|vs|etc|approx|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Inc|Ltd|Co|Jr|Sr)"
    r"|\b[A-Z]|\b(?:e\.g|i\.e|U\.S|U\.K|U\.N)|[А-ЯЁ])\.$"
)
OPEN_QUOTES = "“«\""
CLOSE_FOR = {"“": "”", "«": "»", '"': '"'}


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Trim whitespace, leading decoration (emoji, bullets) and a trailing '<...>'."""
    while start < end and text[start].isspace():
        start += 1
    m = _DECOR.match(text, start, end)
    if m and m.end() > start:
        start = m.end()
        while start < end and text[start].isspace():
            start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    m = _TRAILING_ELLIPSIS.search(text, start, end)
    if m and m.start() > start:
        end = m.start()
    return start, end


def quotes(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of quoted passages, quotation marks included."""
    spans = []
    i = start
    while i < end:
        c = text[i]
        if c in OPEN_QUOTES:
            close = CLOSE_FOR[c]
            j = text.find(close, i + 1, end)
            if j != -1:
                spans.append((i, j + 1))
                i = j + 1
                continue
        i += 1
    return spans


def inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(s < pos < e for s, e in spans)


def sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a paragraph into sentences, never inside a quotation."""
    qs = quotes(text, start, end)
    out = []
    s = start
    for m in re.finditer(r"[.!?…]+[”»\"’)]*(?=\s+[\"“«‘(\[]?[A-ZА-ЯЁ0-9])", text[start:end]):
        stop = start + m.end()
        if inside(stop - 1, qs):
            continue
        if _ABBREV.search(text[max(s, stop - 8):stop]) and not text[stop - 1] in "”»\"":
            continue
        out.append((s, stop))
        s = stop
        while s < end and text[s].isspace():
            s += 1
    if s < end:
        out.append((s, end))
    return [(a, b) for a, b in out if text[a:b].strip()]


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)
