"""Who is named where: speaker mentions and the words that refer back to them.

A mention is a span of text that stands for a speaker: a name or alias from
ontology/speakers.ttl ('Sergei Lavrov', 'Лаврова'), a pronoun ('he'), a role
('the minister', 'the Russian official'), a side of a meeting ('the Chinese
side') or the participants of a readout ('the Parties').  References are
resolved to the last fitting speaker named before them in the same post.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..lexicon import Lexicon, alias_body, alias_pattern
from ..model import SpeakerRef
from .text import inside, quotes

# Words that may stand before a name as part of the same noun phrase:
# 'Kremlin spokesman Dmitry Peskov', 'Russia's Foreign Minister Sergey Lavrov'.
_TITLE_WORD = re.compile(r"(?:[A-ZА-ЯЁ][\w’'\-]*|the|of|for|and|official|spokesman|spokeswoman|spokesperson|minister|aide|negotiator|top|deputy|foreign|chief|head|envoy|ambassador|secretary|press)$")


@dataclass(frozen=True)
class Mention:
    start: int  # the noun phrase, titles included
    end: int
    name_start: int  # the name itself
    speaker: SpeakerRef
    how: str  # 'name' | 'pronoun' | 'role' | 'side' | 'collective' | 'joint' | 'unknown'
    co: tuple[SpeakerRef, ...] = ()


def ref(lexicon: Lexicon, key: str) -> SpeakerRef:
    sp = lexicon.speakers[key]
    return SpeakerRef(name=sp.name, key=key, kind=sp.kind)


def _alias_regexes(lexicon: Lexicon):
    """One regex for every alias (longest first, so a full name wins over a
    surname at the same place), and each alias's own regex to tell which
    speaker a match names.  Compiled once per lexicon."""
    cached = lexicon._cache.get("alias-regexes")
    if cached is None:
        pairs = lexicon.alias_index()
        # the word boundaries stand outside the alternation, so that the
        # aliases are only tried where a word begins
        combined = re.compile(r"(?<![\w\-])(?:" + "|".join(alias_body(a) for a, _ in pairs) + r")(?![\w\-])")
        each = [(re.compile(alias_pattern(a)), k) for a, k in pairs]
        cached = lexicon._cache["alias-regexes"] = (combined, each)
    return cached


def _extend_left(text: str, start: int, floor: int) -> int:
    """Extend a name's span left over title words ('Foreign Minister …')."""
    pos = start
    while True:
        m = re.search(r"([^\s,;:.!?()“”\"«»]+)\s+$", text[floor:pos])
        if not m:
            return pos
        word = m.group(1)
        if word in ("and",) or not _TITLE_WORD.match(word):
            return pos
        pos = floor + m.start(1)


def find_names(text: str, start: int, end: int, lexicon: Lexicon) -> list[Mention]:
    """Known speakers named in text[start:end], longest alias first, no overlaps."""
    found: list[Mention] = []
    combined, each = _alias_regexes(lexicon)
    for m in combined.finditer(text, start, end):
        key = next(k for rx, k in each if rx.fullmatch(text, m.start(), m.end()))
        left = _extend_left(text, m.start(), start)
        found.append(Mention(left, m.end(), m.start(), ref(lexicon, key), "name"))
    # a name's title words must not swallow an earlier name ('Lavrov and Wang Yi')
    found.sort(key=lambda x: x.name_start)
    return found


def find_sides(text: str, start: int, end: int, lexicon: Lexicon) -> list[Mention]:
    out = []
    for sp in lexicon.speakers.values():
        for side in sp.sides:
            for m in re.finditer(rf"(?<!\w){re.escape(side)}(?!\w)", text[start:end], re.IGNORECASE):
                out.append(Mention(start + m.start(), start + m.end(), start + m.start(), ref(lexicon, sp.key), "side"))
    return out


class Resolver:
    """Keeps the speakers named so far in a post, to resolve references."""

    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon
        self.history: list[Mention] = []
        self.speakers: list[Mention] = []  # subjects of attributions: the likeliest antecedents

    def spoke(self, mention: Mention) -> None:
        if mention.speaker.kind == "Person" or mention.how == "name":
            self.speakers.append(mention)

    def saw(self, mentions: list[Mention]) -> None:
        self.history.extend(m for m in mentions if m.how in ("name", "unknown", "side"))
        self.history.sort(key=lambda m: m.start)

    def last_person(self, before: int, role_head: str | None = None, gender: str | None = None) -> SpeakerRef | None:
        """The last speaker before ``before``: who spoke last, else who was named last
        (of the pronoun's gender, where the speakers file gives one)."""
        spoke = [h for h in self.speakers if h.start < before]
        named = [h for h in self.history if h.start < before]
        for m in [*reversed(spoke), *reversed(named)]:
            if m.speaker.kind != "Person":
                continue
            known = self.lexicon.speakers.get(m.speaker.key or "")
            if gender and known and known.gender and known.gender != gender:
                continue
            if role_head is None:
                return m.speaker
            sp = self.lexicon.speakers.get(m.speaker.key or "")
            if sp and any(role_head in r.lower() for r in sp.roles):
                return m.speaker
        return None

    def references(self, text: str, start: int, end: int) -> list[Mention]:
        """Pronouns and roles in text[start:end], resolved; unresolvable ones dropped."""
        qs = quotes(text, start, end)
        out = []
        for form in self.lexicon.generic_roles:
            # 'the minister' also opens a sentence: 'The minister', 'The Minister'
            rx = rf"(?<!\w)(?i:{re.escape(form[0])}){re.escape(form[1:])}(?!\w)"
            for m in re.finditer(rx, text[start:end]):
                s = start + m.start()
                if inside(s, qs):
                    continue
                head = form.split()[-1].lower()
                generic = head in ("official", "diplomat", "politician", "aide")
                who = self.last_person(s, None if generic else head)
                if who:
                    out.append(Mention(s, start + m.end(), s, who, "role"))
        for form, gender in self.lexicon.pronouns.items():
            for m in re.finditer(rf"(?<!\w){re.escape(form)}(?!\w)", text[start:end]):
                s = start + m.start()
                if inside(s, qs):
                    continue
                who = self.last_person(s, gender=gender)
                if who:
                    out.append(Mention(s, start + m.end(), s, who, "pronoun"))
        return out
