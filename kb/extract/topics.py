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
    """Every topic's patterns in two expressions, compiled once per lexicon:
    ``any_`` finds where some pattern matches; ``each`` (one optional lookahead
    per pattern) tells, at such a place, every pattern that matches there."""
    cached = lexicon._cache.get("topic-patterns")
    if cached is None:
        owners, parts = [], []
        for topic in lexicon.topics.values():
            for patterns, conf in ((topic.patterns, 0.9), (topic.weak_patterns, 0.6)):
                for p in patterns:
                    owners.append((topic, conf))
                    parts.append(p.pattern)
        any_ = re.compile("|".join(f"(?:{p})" for p in parts) or r"(?!)", re.IGNORECASE)
        each = re.compile("".join(f"(?=(?P<p{i}>{p}))?" for i, p in enumerate(parts)), re.IGNORECASE)
        cached = lexicon._cache["topic-patterns"] = (any_, each, owners)
    return cached


def explicit_topics(text: str, lexicon: Lexicon) -> dict[str, TopicHit]:
    """The topics ``text`` names, each with the words that name it.  A match
    whose sentence also holds one of the topic's near misses does not count."""
    any_, each, owners = _compiled(lexicon)
    found: dict[str, TopicHit] = {}
    spans: list[tuple[int, int]] | None = None  # the sentences, split once and only when needed
    pos = 0
    while (m := any_.search(text, pos)) is not None:
        at = each.match(text, m.start())
        for name, words in at.groupdict().items():
            if words is None:
                continue
            topic, conf = owners[int(name[1:])]
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
