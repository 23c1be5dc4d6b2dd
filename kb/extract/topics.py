"""Topics of a claim: explicit mentions, and context within a post.

A claim is on a topic when its words match one of the topic's patterns
(ontology/topics.ttl) and no near-miss pattern matches the same sentence;
or, less surely, when the post names the topic explicitly somewhere and the
claim uses one of the topic's context terms ('the treaty' in a speech about
New START).
"""
from __future__ import annotations

from ..lexicon import Lexicon, Topic
from ..model import TopicHit
from .text import sentences


def _explicit_in(topic: Topic, text: str) -> TopicHit | None:
    for patterns, conf in ((topic.patterns, 0.9), (topic.weak_patterns, 0.6)):
        for p in patterns:
            for m in p.finditer(text):
                # the near miss must be in the same sentence as the match
                sent = next(((a, b) for a, b in sentences(text, 0, len(text)) if a <= m.start() < b), (0, len(text)))
                window = text[sent[0]:sent[1]]
                if any(x.search(window) for x in topic.excludes):
                    continue
                return TopicHit(topic.key, m.group(0), "explicit", conf)
    return None


def explicit_topics(text: str, lexicon: Lexicon) -> dict[str, TopicHit]:
    hits = {}
    for topic in lexicon.topics.values():
        hit = _explicit_in(topic, text)
        if hit:
            hits[topic.key] = hit
    return hits


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
