"""Spans of text: sentences, quotations and the trimming of decoration.

Every function works on (start, end) offsets into one string, so that what
the extractor keeps is always an exact substring of the document.
"""
from __future__ import annotations

import bisect
import re

# Characters that decorate the start of a line in channel posts: emoji, flags,
# bullets, arrows.  Letters, digits, quotes and brackets are never decoration.
_DECOR = re.compile(r"[^\w\"“”«»‘’'(\[<]+")
_ELLIPSES = ("<...>", "[...]", "…")
_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Prof|Gen|Col|Lt|Sgt|No|Nos|vs|etc|approx|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Inc|Ltd|Co|Jr|Sr)"
    r"|\b[A-Z]|\b(?:e\.g|i\.e|U\.S|U\.K|U\.N)|[А-ЯЁ])\.$"
)
OPEN_QUOTES = "“«\""
CLOSE_FOR = {"“": "”", "«": "»", '"': '"'}
_OPENER = re.compile("[" + re.escape(OPEN_QUOTES) + "]")
# No real sentence is this long (the seeds' longest has about 500 characters);
# a longer run without a sentence end (a 5 MB line) is cut at a space, so that
# the rules, which look back over the sentence, stay linear in the text.
MAX_SENTENCE = 2000


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
    # a trailing '<...>', '[...]' or '…' (or several), unless that is all there is
    cut = end
    while (tail := next((t for t in _ELLIPSES if text.endswith(t, start, cut)), None)) is not None:
        cut -= len(tail)
        while cut > start and text[cut - 1].isspace():
            cut -= 1
    if start < cut < end:
        end = cut
    return start, end


def quotes(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of quoted passages, quotation marks included."""
    spans = []
    unclosed: set[str] = set()  # closing marks that do not occur again: stop looking for them
    opener = _OPENER
    i = start
    while (m := opener.search(text, i, end)) is not None:
        i = m.start()
        close = CLOSE_FOR[text[i]]
        j = -1 if close in unclosed else text.find(close, i + 1, end)
        if j == -1:
            unclosed.add(close)
            i += 1
            continue
        spans.append((i, j + 1))
        i = j + 1
    return spans


def inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    """Strictly inside one of ``spans`` (sorted, not overlapping, as ``quotes`` gives them)."""
    i = bisect.bisect_left(spans, (pos,)) - 1
    return any(s < pos < e for s, e in spans[max(i, 0):i + 2])


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
    return [piece for a, b in out if text[a:b].strip() for piece in _cut(text, a, b)]


def _cut(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A span no longer than MAX_SENTENCE, else pieces of it cut at spaces."""
    out = []
    while end - start > MAX_SENTENCE:
        cut = text.rfind(" ", start + MAX_SENTENCE // 2, start + MAX_SENTENCE)
        cut = cut if cut != -1 else start + MAX_SENTENCE
        if text[start:cut].strip():
            out.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if text[start:end].strip():
        out.append((start, end))
    return out


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)
