"""Who is named where: speaker mentions and the words that refer back to them.

A mention is a span of text that stands for a speaker: a name or alias from
ontology/speakers.ttl ('Sergei Lavrov', 'Лаврова'), a pronoun ('he'), a role
('the minister', 'the Russian official'), a side of a meeting ('the Chinese
side') or the participants of a readout ('the Parties').  References are
resolved to the last fitting speaker named before them in the same post.
"""
from __future__ import annotations

import bisect
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


_TITLE_WORDS = 8  # the longest title: "Russia's Permanent Representative to the United Nations Vasily Nebenzya"
_WORD_STOP = frozenset(',;:.!?()“”"«»')


def _extend_left(text: str, start: int, floor: int) -> int:
    """Extend a name's span left over title words ('Foreign Minister …'), at most _TITLE_WORDS."""
    pos = start
    for _ in range(_TITLE_WORDS):
        space = pos
        while space > floor and text[space - 1].isspace():
            space -= 1
        if space == pos:
            return pos
        begin = space
        while begin > floor and not text[begin - 1].isspace() and text[begin - 1] not in _WORD_STOP:
            begin -= 1
        word = text[begin:space]
        if not word or word in ("and",) or not _TITLE_WORD.match(word):
            return pos
        pos = begin
    return pos


def find_names(text: str, start: int, end: int, lexicon: Lexicon) -> list[Mention]:
    """Known speakers named in text[start:end], longest alias first, no overlaps."""
    found: list[Mention] = []
    combined, each = _alias_regexes(lexicon)
    keys = lexicon._cache.setdefault("alias-keys", {})  # the words matched -> the speaker they name
    for m in combined.finditer(text, start, end):
        key = keys.get(m.group())
        if key is None:
            key = keys[m.group()] = next(k for rx, k in each if rx.fullmatch(text, m.start(), m.end()))
        left = _extend_left(text, m.start(), start)
        found.append(Mention(left, m.end(), m.start(), ref(lexicon, key), "name"))
    # a name's title words must not swallow an earlier name ('Lavrov and Wang Yi')
    found.sort(key=lambda x: x.name_start)
    return found


def _reference_regexes(lexicon: Lexicon):
    """(side regex, speaker key), (role regex, form), (pronoun regex, gender): compiled once per lexicon."""
    cached = lexicon._cache.get("reference-regexes")
    if cached is None:
        sides = [(re.compile(rf"(?<!\w){re.escape(side)}(?!\w)", re.IGNORECASE), sp.key)
                 for sp in lexicon.speakers.values() for side in sp.sides]
        # 'the minister' also opens a sentence: 'The minister', 'The Minister'
        roles = [(re.compile(rf"(?<!\w)(?i:{re.escape(form[0])}){re.escape(form[1:])}(?!\w)"), form)
                 for form in lexicon.generic_roles]
        pronouns = [(re.compile(rf"(?<!\w){re.escape(form)}(?!\w)"), gender) for form, gender in lexicon.pronouns.items()]
        cached = lexicon._cache["reference-regexes"] = (sides, roles, pronouns)
    return cached


def find_sides(text: str, start: int, end: int, lexicon: Lexicon) -> list[Mention]:
    out = []
    piece = text[start:end]
    for rx, key in _reference_regexes(lexicon)[0]:
        for m in rx.finditer(piece):
            out.append(Mention(start + m.start(), start + m.end(), start + m.start(), ref(lexicon, key), "side"))
    return out


def _start(m: Mention) -> int:
    return m.start


# A pronoun or role is resolved among the last speakers only: in a real post
# the antecedent is a few sentences back, and a post with thousands of names
# must not cost thousands of steps per pronoun.
_LOOKBACK = 200


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
        # kept sorted by start, as a stable sort would (mentions mostly come in order)
        for m in mentions:
            if m.how in ("name", "unknown", "side"):
                bisect.insort_right(self.history, m, key=_start)

    def _candidates(self, before: int):
        """Who spoke (latest first), then who was named (latest first), before ``before``."""
        spoke = [h for h in self.speakers[-_LOOKBACK:] if h.start < before]
        yield from reversed(spoke)
        i = bisect.bisect_left(self.history, before, key=_start)
        yield from reversed(self.history[max(0, i - _LOOKBACK):i])

    def last_person(self, before: int, role_head: str | None = None, gender: str | None = None) -> SpeakerRef | None:
        """The last speaker before ``before``: who spoke last, else who was named last
        (of the pronoun's gender, where the speakers file gives one)."""
        for m in self._candidates(before):
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
        piece = text[start:end]
        _, roles, pronouns = _reference_regexes(self.lexicon)
        for rx, form in roles:
            for m in rx.finditer(piece):
                s = start + m.start()
                if inside(s, qs):
                    continue
                head = form.split()[-1].lower()
                generic = head in ("official", "diplomat", "politician", "aide")
                who = self.last_person(s, None if generic else head)
                if who:
                    out.append(Mention(s, start + m.end(), s, who, "role"))
        for rx, gender in pronouns:
            for m in rx.finditer(piece):
                s = start + m.start()
                if inside(s, qs):
                    continue
                who = self.last_person(s, gender=gender)
                if who:
                    out.append(Mention(s, start + m.end(), s, who, "pronoun"))
        return out
