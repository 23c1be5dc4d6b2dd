"""Topics of a claim: explicit mentions, and context within a post.

A claim is on a topic when its words match one of the topic's patterns
(ontology/topics.ttl) and no near-miss pattern matches the same sentence;
or, less surely, when the post names the topic explicitly somewhere and the
claim uses one of the topic's context terms ('the treaty' in a speech about
New START).
"""
from __future__ import annotations

import bisect
import re

from ..lexicon import Lexicon
from ..model import TopicHit
from .text import sentences


def _compiled(lexicon: Lexicon):
    """Every topic's patterns, compiled once per lexicon: ``any_`` finds
    where some pattern could match; ``starts`` tells which patterns could
    match there, tried one by one (``singles``); ``each`` (one optional
    lookahead per pattern) tells every pattern that matches at a place where
    the text has characters ``starts`` cannot compare."""
    cached = lexicon._cache.get("topic-patterns")
    if cached is None:
        owners, parts = [], []
        for topic in lexicon.topics.values():
            for patterns, conf in ((topic.patterns, 0.9), (topic.weak_patterns, 0.6)):
                for p in patterns:
                    owners.append((topic, conf))
                    parts.append(p.pattern)
        any_ = _guard(parts)
        each = re.compile("".join(f"(?=(?P<p{i}>{p}))?" for i, p in enumerate(parts)), re.IGNORECASE)
        singles = [re.compile(p, re.IGNORECASE) for p in parts]
        cached = lexicon._cache["topic-patterns"] = (any_, each, owners, _Starts(parts), singles)
    return cached


def _fold(ch: str) -> str | None:
    """One representative of the characters ``re.IGNORECASE`` takes for ``ch``; None if unsure."""
    from re import _casefix

    low = ch.lower()
    if len(low) != 1:
        return None
    return min([low, *map(chr, _casefix._EXTRA_CASES.get(ord(low), ()))])


class _Starts:
    """Which patterns can match at a place, told by the literal starts of the patterns.

    ``candidates(text, at)`` gives, in their order, the indices of the
    patterns whose literal start the text has at ``at`` (characters
    compared as ``re.IGNORECASE`` compares them) and of the patterns with no
    literal start; None when a character there cannot be compared that way.
    """

    def __init__(self, parts: list[str]):
        self.by_start: dict[str, list[int]] = {}
        self.always: list[int] = []
        self._folds: dict[str, str | None] = {}
        for i, part in enumerate(parts):
            starts = _literal_starts(part)
            folded = [self.fold(s) for s in starts]
            if not starts or None in folded:
                self.always.append(i)
                continue
            for key in set(folded):
                self.by_start.setdefault(key, []).append(i)
        self.lengths = sorted({len(k) for k in self.by_start})
        self.longest = max(self.lengths, default=0)

    def fold(self, text: str) -> str | None:
        out = []
        for ch in text:
            f = self._folds.get(ch, "")
            if f == "":
                f = self._folds[ch] = _fold(ch)
            if f is None:
                return None
            out.append(f)
        return "".join(out)

    def candidates(self, text: str, at: int) -> list[int] | None:
        window = self.fold(text[at:at + self.longest])
        if window is None:
            return None
        found = list(self.always)
        for n in self.lengths:
            if n > len(window):
                break
            found.extend(self.by_start.get(window[:n], ()))
        return sorted(found)


PREFIX_CHARS = 12  # the literal start of a pattern is read this far at most
PREFIX_WAYS = 64  # ... and through at most this many alternatives


def _guard(parts: list[str]) -> re.Pattern:
    """An expression that matches wherever one of the patterns ``parts`` could start.

    One alternation of hundreds of patterns is tried branch by branch at every
    character of the text; most patterns start with a few literal characters,
    and those starts, merged into one tree of characters ('Accord-0' then '0',
    '1', ...), are cheap to look for.  A pattern whose start is not literal
    is kept whole.  The guard may match where no pattern does (``each`` then
    finds nothing there), never the other way round.
    """
    tree: dict = {}
    whole: list[str] = []
    for part in parts:
        starts = _literal_starts(part)
        if not starts:
            whole.append(part)
            continue
        for start in starts:
            node = tree
            for ch in start:
                if node.get("") is True:
                    break  # a shorter start already stands for this one
                node = node.setdefault(ch, {})
            node.clear()
            node[""] = True
    branches = ([_tree_source(tree)] if tree else []) + [f"(?:{p})" for p in whole]
    return re.compile("|".join(branches) or r"(?!)", re.IGNORECASE)


def _tree_source(node: dict) -> str:
    if node.get("") is True:
        return ""
    ways = [re.escape(ch) + _tree_source(child) for ch, child in node.items()]
    return ways[0] if len(ways) == 1 else "(?:" + "|".join(ways) + ")"


def _literal_starts(pattern: str) -> list[str]:
    """Literal strings one of which starts every match of ``pattern`` (case aside), or [] when unknown."""
    from re import _parser  # the parser behind re.compile; any surprise in it means: no literal start

    try:
        items = _parser.parse(pattern, re.IGNORECASE).data
        starts = _starts(list(items))
    except Exception:  # noqa: BLE001 - the whole pattern is then searched, as before
        return []
    return [s for s in starts] if starts and all(starts) else []


def _starts(items: list) -> list[str]:
    """The literal starts of a sequence of parsed items: [''] when it starts with no literal."""
    from re import _constants as c

    prefix = ""
    for op, av in items:
        if len(prefix) >= PREFIX_CHARS:
            break
        if op is c.AT or op in (c.ASSERT, c.ASSERT_NOT):
            continue  # takes no characters: what follows starts the match
        if op is c.LITERAL:
            prefix += chr(av)
            continue
        if op is c.SUBPATTERN and av[1] == 0:  # a group that adds no flags
            inner = _starts(list(av[3]))
        elif op is c.BRANCH:
            inner = [s for branch in av[1] for s in _starts(list(branch))]
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
            inner = _starts(list(av[2]))
        else:
            break
        if not all(inner) or len(inner) > PREFIX_WAYS:
            break
        return [prefix + s for s in inner]  # the literal start ends with the first alternative
    return [prefix]


def explicit_topics(text: str, lexicon: Lexicon) -> dict[str, TopicHit]:
    """The topics ``text`` names, each with the words that name it.  A match
    whose sentence also holds one of the topic's near misses does not count."""
    any_, each, owners, starts, singles = _compiled(lexicon)
    found: dict[str, TopicHit] = {}
    spans: list[tuple[int, int]] | None = None  # the sentences, split once and only when needed
    pos = 0
    while (m := any_.search(text, pos)) is not None:
        for n, words in _matches_at(text, m.start(), each, starts, singles):
            topic, conf = owners[n]
            best = found.get(topic.key)
            if best and best.confidence >= conf:
                continue
            if topic.excludes:
                spans = sentences(text, 0, len(text)) if spans is None else spans
                i = bisect.bisect_right(spans, (m.start(), len(text) + 1)) - 1
                a, b = spans[i] if i >= 0 and spans[i][0] <= m.start() < spans[i][1] else (0, len(text))
                if any(x.search(text, a, b) for x in topic.excludes):
                    continue
            found[topic.key] = TopicHit(topic.key, words, "explicit", conf)
        pos = m.start() + 1
    return found


def _matches_at(text: str, at: int, each: re.Pattern, starts: _Starts,
                singles: list[re.Pattern]) -> list[tuple[int, str]]:
    """(pattern index, words) of every pattern that matches at ``at``, in the patterns' order."""
    candidates = starts.candidates(text, at)
    if candidates is None:  # a character re folds in its own way: ask every pattern at once
        groups = each.match(text, at).groupdict().items()
        return [(int(name[1:]), words) for name, words in groups if words is not None]
    out = []
    for n in candidates:
        m = singles[n].match(text, at)
        if m is not None:
            out.append((n, m.group(0)))
    return out


def tracked_topics(text: str, lexicon: Lexicon) -> frozenset[str]:
    return frozenset(k for k in explicit_topics(text, lexicon) if lexicon.topics[k].tracked)


def assign(words: str, established: set[str], lexicon: Lexicon, framing: str = "") -> tuple[TopicHit, ...]:
    """Topics named in the words; then those the sentence's lead-in names
    ('Commenting on UN reform, …'); then context terms of the post's topics."""
    hits = explicit_topics(words, lexicon)
    for key, hit in explicit_topics(framing, lexicon).items():
        if key not in hits and lexicon.topics[key].tracked:
            hits[key] = TopicHit(key, hit.matched, "context", 0.7)
    for key in established:
        if key in hits:
            continue
        for p in lexicon.topics[key].context:
            m = p.search(words)
            if m:
                hits[key] = TopicHit(key, m.group(0), "context", 0.6)
                break
    return tuple(sorted(hits.values(), key=lambda h: h.key))
