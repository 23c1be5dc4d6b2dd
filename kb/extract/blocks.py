"""Statement blocks: text that is wholly a speaker's own words.

A post whose title names a speaker and a statement ('🎙 Foreign Minister
Sergey Lavrov's remarks at …'), a speaker label ('💬 President Putin:',
'Sergey Lavrov:' in a transcript), or a signature ('🔹 Russian Defence
Ministry'): every paragraph of the block is one direct claim.  Also what is
not a claim inside such a block: courtesies, hashtags, place-and-date lines.
"""
from __future__ import annotations

import re

from ..lexicon import Lexicon
from ..model import SpeakerRef
from .mentions import find_names

_HASHTAGS_ONLY = re.compile(r"^(\s*#\w+)+\s*$")
_LABEL = re.compile(r"^\W*💬\s*(?P<label>[^:\n]{2,60}?)\s*:\s*")
_PLAIN_LABEL = re.compile(r"^\W*(?P<label>[A-ZА-ЯЁ][^:\n]{1,60}?)\s*:\s+(?=\S)")
_QUESTION = re.compile(r"^\W*(?:Question|Q|Вопрос)(?:\s*\([^)]*\))?\s*:", re.I)
_PUNCT_ONLY = re.compile(r"^[\W_]*$")


def is_formality(text: str, lexicon: Lexicon) -> bool:
    return any(p.search(text) for p in lexicon.formalities)


def is_structural(text: str) -> bool:
    """Lines that are not statements: hashtags, '<...>', 'Key talking points:', place and date lines."""
    t = text.strip()
    if not t or _PUNCT_ONLY.match(t) or _HASHTAGS_ONLY.match(t) or t in ("<...>", "***", "[...]"):
        return True
    n = len(re.findall(r"\w+", t))
    if t.startswith("📍") or (n <= 6 and re.search(r"\b\d{4}\b", t) and not re.search(r"[.!?]$", t)):
        return True  # a place and date line: '📍Moscow, December 28, 2023'

    if t.endswith(":") and n <= 6:
        return True
    return n < 3


def header_speaker(header: str, lexicon: Lexicon) -> tuple[SpeakerRef, str] | None:
    """The speaker of a title such as '🎙 Foreign Minister Sergey Lavrov's remarks at …'."""
    low = header.lower()
    nouns = [n for n in lexicon.statement_nouns if re.search(rf"(?<!\w){re.escape(n.lower())}(?!\w)", low)]
    names = [m for m in find_names(header, 0, len(header), lexicon) if m.speaker.kind == "Person"]
    for noun in nouns:
        n = re.escape(noun)
        # the noun must head the title and belong to the name: 'Lavrov's remarks',
        # 'Statement by … Lavrov', 'Pankin in an interview'; not 'where he made remarks'
        for m in names:
            after, before = header[m.end:], header[:m.start]
            if (re.match(rf"[’']s\s+(?:[\w\-]+\s+){{0,2}}{n}\b", after, re.I)
                    or re.match(rf"\s+in an?\s+{n}\b", after, re.I)
                    or re.search(rf"\b{n}\b[^.:]{{0,80}}\bby\b[^.:]{{0,40}}$", before, re.I)
                    # the title opens with the noun: 'Interview of …', 'Заявление … Захаровой'
                    or re.match(rf"\W*(?:[\w\-]+\s+){{0,2}}{n}\b", before, re.I)):
                return m.speaker, noun
        m = re.search(r"([A-Z][\w\-]+(?:\s+[A-Z][\w\-]+){1,3})[’']s\s+(?:[\w\-]+\s+){0,2}" + n, header)
        if m and not names:
            return SpeakerRef(name=_drop_titles(m.group(1)), key=None), noun
    return None


def _drop_titles(name: str) -> str:
    words = name.split()
    while len(words) > 2 and words[0] in ("President", "Minister", "Foreign", "Deputy", "Prime", "Secretary", "Ambassador", "Spokesman"):
        words.pop(0)
    return " ".join(words)


def label_speaker(text: str, lexicon: Lexicon) -> tuple[SpeakerRef | None, int] | None:
    """'💬 President Putin: …' -> (speaker, offset where the words begin); '💬 …' -> (None, offset)."""
    m = _LABEL.match(text)
    if m:
        label = m["label"]
        names = find_names(label, 0, len(label), lexicon)
        if names:
            return names[0].speaker, m.end()
        if re.fullmatch(r"(?:[A-Z][\w.\-’']*\s*){1,5}", label):
            return SpeakerRef(name=_drop_titles(label.strip()), key=None), m.end()
    if text.lstrip().startswith("💬"):
        return None, text.index("💬") + 1
    # a transcript: 'Sergey Lavrov: …' where the label is wholly a known name
    m = _PLAIN_LABEL.match(text)
    if m:
        label = m["label"]
        names = find_names(label, 0, len(label), lexicon)
        if names and names[0].start == 0 and names[0].end == len(label):
            return names[0].speaker, m.end()
    return None


def is_question(text: str) -> bool:
    """A transcript's question: what follows is not the last speaker's."""
    return bool(_QUESTION.match(text))


def signature_speaker(text: str, lexicon: Lexicon) -> SpeakerRef | None:
    t = re.sub(r"^\W+", "", text).strip()
    for sp in lexicon.speakers.values():
        if t in sp.signatures:
            return SpeakerRef(name=sp.name, key=sp.key, kind=sp.kind)
    return None
