"""Full-text search over the words of claims: the query text, the results, and the search itself.

User text is never FTS5 syntax: ``match_expression`` turns it into quoted
phrases of word tokens, so quotes, ``NEAR(``, ``*``, ``-``, ``AND`` are words
or nothing.  Facet counts, the total and the page are computed in SQL over
the matches (``Searching``, a part of ``SearchIndex``).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Mapping

from .rows import int_or_none, key_of

FACETS = ("speaker", "topic", "year", "kind")
MAX_TOKENS = 16  # words of a search text at most (the rest is ignored)
MAX_PAGE_SIZE = 10_000
MAX_OFFSET = 10_000_000
FACET_SAMPLE = 10_000  # matches the facets count at most (a word in every claim must stay fast)

_CHUNK_TOKENS = re.compile(r"[^\W_]+")


def query_tokens(text: str) -> list[list[str]]:
    """The words of a search text, by whitespace-separated chunk ('Accord-017' is one chunk of two words)."""
    chunks = [_CHUNK_TOKENS.findall(chunk) for chunk in unicodedata.normalize("NFC", text).split()]
    out, count = [], 0
    for tokens in chunks:
        tokens = tokens[:MAX_TOKENS - count]
        if tokens:
            out.append(tokens)
            count += len(tokens)
    return out


def facet_token(facet: str, value) -> str | None:
    """The token of a facet value in the index's ``facets`` column: 's12' (speaker term 12), 't7'
    (topic term 7), 'y2025', 'kdirect'; None for a value no claim can have."""
    if facet in ("speaker", "topic"):
        return f"{facet[0]}{int(value)}"
    if facet == "year":
        year = int_or_none(value)
        return f"y{year}" if year is not None and year >= 0 else None
    word = "".join(ch for ch in str(value).casefold() if ch.isalnum())
    return f"k{word}" if word else None


def match_expression(text: str) -> str | None:
    """The FTS5 query for a search text: each chunk a quoted phrase whose last word is a prefix.

    Only letters and digits reach the query, always inside double quotes, so
    nothing the user types is FTS5 syntax; None when there is no word at all.
    """
    phrases = ['"' + " ".join(tokens).replace('"', '""') + '"*' for tokens in query_tokens(text)]
    return " ".join(phrases) or None


@dataclass
class Hit:
    claim: str
    graph: str
    words: str
    speaker: str | None
    speaker_label: str | None
    date: str
    kind: str
    topics: list[tuple[str, str]] = field(default_factory=list)  # (IRI, label)


@dataclass
class FacetValue:
    key: str
    label: str
    count: int


@dataclass
class Results:
    total: int  # every match
    hits: list[Hit]  # the page asked for
    facets: dict[str, list[FacetValue]]  # per facet, most claims first
    facets_over: int  # the matches the facets count: all of them, or the first FACET_SAMPLE


class Searching:
    """The search of a ``SearchIndex``: a part of it, kept here with the query text and the results."""

    def _term_ids(self, key: str) -> list[int]:
        return [i for (i,) in self._db.execute("SELECT id FROM terms WHERE key = ? OR iri = ?", (key, key))]

    def search(self, text: str, filters: Mapping[str, str] | None = None,
               limit: int | None = 20, offset: int = 0) -> Results:
        """The claims whose words match ``text`` (every word, the last of each chunk as a prefix),
        filtered by facet keys (speaker, topic: key or IRI; year; kind), in index order.

        The total is exact.  The facets count every match when there are at
        most ``FACET_SAMPLE``, else the first ``FACET_SAMPLE`` of them in index
        order (``Results.facets_over`` says how many were counted).  ``limit``
        None gives every hit from ``offset`` on.  An empty text and no
        filters, or a text with no word, give nothing.
        """
        filters = {k: str(v) for k, v in (filters or {}).items() if v and k in FACETS}
        expression = match_expression(text) if text and text.strip() else None
        if expression is None and ((text or "").strip() or not filters):
            return Results(0, [], {name: [] for name in FACETS}, 0)
        terms = [f"words : ({expression})"] if expression is not None else []
        for name in ("speaker", "topic"):
            if name in filters:
                ids = self._term_ids(filters[name])
                if not ids:
                    return Results(0, [], {name: [] for name in FACETS}, 0)
                terms.append("facets : (" + " OR ".join(f'"{facet_token(name, i)}"' for i in ids) + ")")
        for name in ("year", "kind"):
            if name in filters:
                token = facet_token(name, filters[name])
                if token is None:
                    return Results(0, [], {name: [] for name in FACETS}, 0)
                terms.append(f'facets : "{token}"')
        # the MATCH holds only quoted words and tokens made here; every value is bound
        match = " AND ".join(terms)
        # CROSS JOIN: SQLite keeps this order, the FTS matches drive (never a MATCH per row)
        matches = ("SELECT c.id, c.speaker, c.year, c.kind, c.doc FROM claims_fts "
                   "CROSS JOIN claims c ON c.id = claims_fts.rowid WHERE claims_fts MATCH ?")
        counting = "SELECT COUNT(*) FROM claims_fts WHERE claims_fts MATCH ?"
        params = [match]
        with self._transaction():  # one read transaction: one snapshot for the total, facets and page
            return self._read(matches, counting, params, limit, offset)

    def _read(self, matches: str, counting: str, params: list, limit: int | None, offset: int) -> Results:
        db = self._db
        # the first FACET_SAMPLE matches, once, into a temporary table: the facets
        # count them, and when there are no more they are the total and the page
        db.execute("DROP TABLE IF EXISTS temp.sample")
        db.execute("CREATE TEMP TABLE sample(id INTEGER PRIMARY KEY, speaker INTEGER, year INTEGER, "
                   "kind TEXT, doc INTEGER)")
        try:
            counted = db.execute(f"INSERT INTO temp.sample {matches} LIMIT {FACET_SAMPLE:d}", params).rowcount
            whole = counted < FACET_SAMPLE
            total = counted if whole else db.execute(counting, params).fetchone()[0]
            counts: dict[str, dict] = {"speaker": {}, "year": {}, "kind": {}}
            # one pass for three facets: a few thousand groups at most, folded here
            for speaker, year, kind, n in db.execute(
                    "SELECT speaker, year, kind, COUNT(*) FROM temp.sample GROUP BY speaker, year, kind"):
                for name, value in (("speaker", speaker), ("year", year), ("kind", kind)):
                    if value is not None and value != "":
                        counts[name][value] = counts[name].get(value, 0) + n
            counts["topic"] = dict(db.execute(
                "SELECT t.topic, COUNT(*) FROM temp.sample m CROSS JOIN claim_topics t ON t.id = m.id GROUP BY t.topic"))
            page_limit = -1 if limit is None else min(max(int(limit), 0), MAX_PAGE_SIZE)
            offset = min(max(int(offset), 0), MAX_OFFSET)
            within = whole or (page_limit >= 0 and offset + page_limit <= counted)
            source, source_params = ("temp.sample", []) if within else (f"({matches})", params)
            page = db.execute(f"SELECT m.id, m.speaker, x.claim, x.words, x.date, m.kind, d.graph "
                              f"FROM {source} m CROSS JOIN claim_text x ON x.id = m.id CROSS JOIN documents d ON d.id = m.doc "
                              f"ORDER BY m.id LIMIT ? OFFSET ?", [*source_params, page_limit, offset]).fetchall()
        finally:
            db.execute("DROP TABLE IF EXISTS temp.sample")
        topics: dict[int, list[int]] = {}
        ids = [r[0] for r in page]
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            for claim_id, topic in db.execute(
                    f"SELECT id, topic FROM claim_topics WHERE id IN ({','.join('?' * len(part))})", part):
                topics.setdefault(claim_id, []).append(topic)
        terms = self._terms({*counts["speaker"], *counts["topic"], *(r[1] for r in page if r[1] is not None),
                             *(t for ts in topics.values() for t in ts)})
        facets = {}
        for name in FACETS:
            values = []
            for value, n in counts[name].items():
                if name in ("speaker", "topic"):
                    iri, label = terms[value]
                    values.append(FacetValue(key_of(iri), label or key_of(iri), n))
                else:
                    values.append(FacetValue(str(value), str(value), n))
            facets[name] = sorted(values, key=lambda v: (-v.count, v.label, v.key))
        hits = []
        for claim_id, speaker, claim, words, date, kind, graph in page:
            speaker_iri, speaker_label = terms[speaker] if speaker is not None else (None, None)
            hit_topics = sorted(((terms[t][0], terms[t][1] or key_of(terms[t][0])) for t in topics.get(claim_id, ())),
                                key=lambda t: (t[1], t[0]))
            hits.append(Hit(claim, graph, words, speaker_iri, speaker_label or (speaker_iri and key_of(speaker_iri)),
                            date, kind, hit_topics))
        return Results(total, hits, facets, counted)
