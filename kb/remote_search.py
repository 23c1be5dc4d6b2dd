"""Search on a store on a SPARQL server: the search page's index where no full-text index is kept.

A SPARQL server keeps no SQLite index beside it (kb.fts is written in the
embedded store's directory), so ``RemoteStore.search_index()`` gives a
``RemoteSearch``: the same ``problem()`` and ``search(text, filters, limit,
offset)`` as kb.fts.SearchIndex, answered by the server.

How: queries/search-candidates.rq narrows the claims on the server, by a
REGEX over the words made from the longest word of the text (each letter a
class of every character SQLite's tokenizer folds to it, marks allowed
after each, so 'Turkiye' reads 'Türkiye' as the index does), and by the
filters (speaker, topic as key or IRI, year).  The rows read are capped at
``max_rows``.  Then the index's own rules decide: the candidates' words go
into an in-memory FTS5 table with kb.fts's tokenizer and are matched with
kb.fts.match_expression, and the filters are tested as kb.fts tests them
(keys, facet tokens), so both backends find the same claims, with the same
total and facets.  The filters are bound as xsd:string literals and the
pattern is written as a constant literal term by pyoxigraph (a REGEX on a
bound pattern is compiled once per row), never pasted into the query.

The server reads every claim's words for each search (a scan, slow on a big
store): ``problem()`` says so, and an answer cut at ``max_rows`` candidates
says that its total and facets count those only (``Results.warning``).
"""
from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata
from typing import Mapping

from rdflib import Literal, URIRef

from . import fts, queries
from .errors import QueryError
from .fts import FACETS, FacetValue, Hit, Results, key_of
from .store import to_ox

MAX_ROWS = 10_000  # candidate claims read per search at most (a SPARQL server's usual cap on rows)
SLOW = ("this search runs on the SPARQL server, without a full-text index, and reads every claim: "
        "slow on a big store. The embedded store keeps a full-text index for it, built by `kb reindex`")
PARTIAL = ("this search runs on the SPARQL server, without a full-text index: it read the first {rows:,} "
           "claims that could match and stopped, so the total and the facets count those only; narrow it "
           "with longer words or a filter. The embedded store keeps a full-text index for it, built by `kb reindex`")

# kb.fts's tokenizer, read from its schema so that the two cannot differ
TOKENIZE = re.search(r"tokenize='([^']*)'", fts.SCHEMA_SQL).group(1)
# the blocks of the Basic Multilingual Plane outside CJK and Hangul, where SQLite's tokenizer folds
# characters (case and diacritics); characters elsewhere fold to themselves
_FOLDED_RANGES = ((0x0000, 0x3000), (0xA000, 0xAC00), (0xF900, 0x10000))
_REGEX_SPECIAL = set("\\[]^-.|?*+(){}$")


class RemoteResults(Results):
    """kb.fts.Results with ``warning``: why the answer may be partial (None when it is whole)."""

    def __init__(self, total, hits, facets, facets_over, warning: str | None = None):
        super().__init__(total, hits, facets, facets_over)
        self.warning = warning


# ---------------------------------------------------------------- folding, as SQLite's tokenizer folds

_folds: dict[str, str] | None = None
_folds_lock = threading.Lock()


def _fold_table() -> dict[str, str]:
    """{character: what the tokenizer makes of it} for the token characters of _FOLDED_RANGES
    (a character missing is a separator, or a mark the tokenizer drops), asked of SQLite itself."""
    global _folds
    with _folds_lock:
        if _folds is None:
            db = sqlite3.connect(":memory:")
            try:
                db.execute(f"CREATE VIRTUAL TABLE f USING fts5(w, tokenize='{TOKENIZE}')")
                db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, instance)")
                db.executemany("INSERT INTO f(rowid, w) VALUES (?, ?)",
                               ((cp, chr(cp)) for low, high in _FOLDED_RANGES for cp in range(low, high)
                                if not 0xD800 <= cp < 0xE000))
                _folds = {chr(doc): term for term, doc in db.execute("SELECT term, doc FROM v")}
            finally:
                db.close()
        return _folds


def _fold(word: str) -> list[str]:
    """The tokens the tokenizer makes of ``word``: each character folded, marks dropped, split at separators."""
    table = _fold_table()
    out, current = [], ""
    for ch in word:
        folded = ch if _outside(ord(ch)) else table.get(ch)
        if folded is None:
            if unicodedata.category(ch).startswith("M"):
                continue  # a diacritic the tokenizer removes
            if current:
                out.append(current)
            current = ""
        else:
            current += folded
    if current:
        out.append(current)
    return out


def _outside(cp: int) -> bool:
    return not any(low <= cp < high for low, high in _FOLDED_RANGES)


_classes: dict[str, str] = {}


def _character_class(folded: str) -> str:
    """A regex class of every character that folds to ``folded`` (itself included)."""
    found = _classes.get(folded)
    if found is None:
        chars = {folded, *(ch for ch, f in _fold_table().items() if f == folded)}
        body = "".join("\\" + ch if ch in _REGEX_SPECIAL else ch for ch in sorted(chars))
        found = _classes[folded] = f"[{body}]"
    return found


def pattern(text: str) -> str | None:
    """The REGEX that every claim matching ``text`` matches: the longest token of the text, each
    character a class of what folds to it, marks allowed after each; None when there is no word."""
    tokens = [t for chunk in fts.query_tokens(text) for word in chunk for t in _fold(word)]
    if not tokens:
        return None
    longest = max(tokens, key=len)
    return "".join(_character_class(ch) + r"\p{M}*" for ch in longest)


# ---------------------------------------------------------------- the search

class RemoteSearch:
    """The search of a store on a SPARQL server, with kb.fts.SearchIndex's ``problem`` and ``search``."""

    def __init__(self, store, max_rows: int = MAX_ROWS):
        self.store = store
        self.max_rows = max(int(max_rows), 1)

    def problem(self) -> str | None:
        """Never None: the page says the search is slow here, and the browsing pages, which read an index
        only when it is kb.fts's and has no problem (kb.queries.side_index), take their lists from the named queries."""
        return SLOW

    def close(self) -> None:
        pass

    def search(self, text: str, filters: Mapping[str, str] | None = None,
               limit: int | None = 20, offset: int = 0) -> RemoteResults:
        """As kb.fts.SearchIndex.search: the claims whose words match ``text`` (every word, the last of
        each chunk as a prefix), filtered by facet keys, in document order, with the total and facets."""
        filters = {k: str(v) for k, v in (filters or {}).items() if v and k in FACETS}
        expression = fts.match_expression(text) if text and text.strip() else None
        if expression is None and ((text or "").strip() or not filters):
            return RemoteResults(0, [], {name: [] for name in FACETS}, 0)
        bindings: dict[str, Literal] = {}
        constant = None
        if expression is not None:
            regex = pattern(text)
            if regex is None:
                return RemoteResults(0, [], {name: [] for name in FACETS}, 0)
            constant = Literal(regex)
        for name, variable in (("speaker", "speakerKey"), ("topic", "topicKey")):
            if name in filters:
                bindings[variable] = Literal(filters[name])
        if "year" in filters:
            token = fts.facet_token("year", filters["year"])
            if token is None or int(token[1:]) > 9999:  # a claim's year is its date's first four digits
                return RemoteResults(0, [], {name: [] for name in FACETS}, 0)
            bindings["year"] = Literal(f"{int(token[1:]):04d}")
        if "kind" in filters and fts.facet_token("kind", filters["kind"]) is None:
            return RemoteResults(0, [], {name: [] for name in FACETS}, 0)
        sparql = _with_pattern(queries.load_query("search-candidates").text, constant)
        # LIMIT from a clamped integer: one row more than read, to know whether there were more
        result = self.store.query(f"{sparql.rstrip()}\nLIMIT {self.max_rows + 1:d}\n", bindings)
        candidates = _claims(result)
        partial = len(candidates) > self.max_rows
        candidates = candidates[:self.max_rows]
        labels = _Labels(self.store)
        kinds = labels.kinds({c["kind"] for c in candidates if c["kind"]})
        for c in candidates:
            c["kind"] = kinds.get(c["kind"], "") if c["kind"] else ""
        if expression is not None:
            candidates = _matching(candidates, expression)
        candidates = [c for c in candidates if _passes(c, filters)]
        return _results(candidates, labels, limit, offset, PARTIAL.format(rows=self.max_rows) if partial else None)


_PATTERN_LINE = re.compile(r"^([ \t]*)FILTER\(!BOUND\(\?pattern\) \|\| REGEX\(\?quote, \?pattern\)\)[ \t]*# PATTERN[ \t]*$",
                           re.MULTILINE)


def _with_pattern(sparql: str, constant: Literal | None) -> str:
    """The query with its '# PATTERN' line testing the words against ``constant``, a literal written by
    pyoxigraph as an N-Triples term (escaped, never pasted as given): a SPARQL engine compiles a
    constant REGEX once, a bound one once per row (100 times slower over 10,000 claims, measured on
    Oxigraph).  Without a pattern the line filters nothing and is left as it is."""
    if constant is None:
        return sparql
    term = str(to_ox(constant))
    text, found = _PATTERN_LINE.subn(lambda m: f"{m.group(1)}FILTER(REGEX(?quote, {term}))", sparql, count=1)
    if not found:
        raise QueryError("queries/search-candidates.rq has no '# PATTERN' line")
    return text


def _claims(result) -> list[dict]:
    """One dict per claim of the rows of search-candidates.rq, in their order (a claim with two texts or
    speakers has a row for each: their words joined, sorted, and the first speaker, as kb.fts reads them)."""
    columns = {v: i for i, v in enumerate(result.variables)}
    out: dict[str, dict] = {}
    for row in result.rows:
        def get(name):
            value = row[columns[name]]
            return None if value is None else str(value)
        claim = get("claim")
        found = out.get(claim)
        words, speaker = get("quote"), get("speaker")
        if found is None:
            start = get("start")
            out[claim] = {"claim": claim, "graph": get("graph") or fts.DEFAULT_GRAPH,
                          "texts": {words} if words is not None else set(), "speaker": speaker,
                          "date": get("date") or "", "kind": get("kindTerm"),
                          "start": fts.int_or_none(start), "topics": sorted(set((get("topics") or "").split()))}
        else:
            if words is not None:
                found["texts"].add(words)
            if speaker is not None and (found["speaker"] is None or speaker < found["speaker"]):
                found["speaker"] = speaker
    claims = list(out.values())
    for c in claims:
        c["words"] = " ".join(sorted(c.pop("texts")))
        c["year"] = int(c["date"][:4]) if re.match(r"\d{4}", c["date"]) else None
    claims.sort(key=lambda c: (c["graph"], c["start"] is None, c["start"] or 0, c["claim"]))
    return claims


def _matching(candidates: list[dict], expression: str) -> list[dict]:
    """The candidates whose words match the FTS5 ``expression``, by SQLite itself with kb.fts's tokenizer."""
    db = sqlite3.connect(":memory:")
    try:
        db.execute(f"CREATE VIRTUAL TABLE m USING fts5(words, tokenize='{TOKENIZE}')")
        db.executemany("INSERT INTO m(rowid, words) VALUES (?, ?)", ((n, c["words"]) for n, c in enumerate(candidates)))
        found = {n for (n,) in db.execute("SELECT rowid FROM m WHERE m MATCH ?", (expression,))}
    finally:
        db.close()
    return [c for n, c in enumerate(candidates) if n in found]


def _is(iri: str | None, value: str) -> bool:
    """Whether a speaker or topic IRI is the one a filter names, by key or IRI (kb.fts's terms)."""
    return iri is not None and (iri == value or key_of(iri) == value)


def _passes(claim: dict, filters: Mapping[str, str]) -> bool:
    if "speaker" in filters and not _is(claim["speaker"], filters["speaker"]):
        return False
    if "topic" in filters and not any(_is(t, filters["topic"]) for t in claim["topics"]):
        return False
    if "year" in filters and (claim["year"] is None
                              or fts.facet_token("year", claim["year"]) != fts.facet_token("year", filters["year"])):
        return False
    if "kind" in filters and (not claim["kind"]
                              or fts.facet_token("kind", claim["kind"]) != fts.facet_token("kind", filters["kind"])):
        return False
    return True


class _Labels:
    """Labels of speakers, topics and kinds, as the embedded store's index takes them (kb.fts.rows_of and
    EmbeddedStore.label): the first of the predicates that has one, English first, from any graph."""

    def __init__(self, store):
        self.store = store
        self._found: dict[str, dict[str, list[Literal]]] = {}

    def _read(self, iris) -> None:
        wanted = sorted({i for i in iris if i is not None} - set(self._found))
        if not wanted:
            return
        query = queries.load_query("search-labels")
        for chunk in range(0, len(wanted), 500):
            part = wanted[chunk:chunk + 500]
            for i in part:
                self._found[i] = {}
            result = self.store.query_listed(query.text, "term", [URIRef(i) for i in part])
            for term, prop, label in result.rows:
                if isinstance(label, Literal):
                    self._found[str(term)].setdefault(str(prop), []).append(label)

    def label(self, iri: str, predicates: tuple) -> str | None:
        self._read([iri])
        for predicate in predicates:
            values = self._found[iri].get(str(predicate))
            if values:
                return str(fts.english_first(values))
        return None

    def labels(self, iris, predicates: tuple) -> dict[str, str | None]:
        self._read(iris)
        return {i: self.label(i, predicates) for i in iris}

    def kinds(self, iris) -> dict[str, str]:
        found = self.labels(iris, fts.KIND_LABELS)
        return {i: label or key_of(i).rsplit("#", 1)[-1] for i, label in found.items()}


def _results(matches: list[dict], labels: _Labels, limit: int | None, offset: int, warning: str | None) -> RemoteResults:
    """Total, facets (over the first kb.fts.search.FACET_SAMPLE matches) and the page asked for, as kb.fts gives them."""
    sample = matches[:fts.search.FACET_SAMPLE]
    counts: dict[str, dict] = {name: {} for name in FACETS}
    for c in sample:
        for name, value in (("speaker", c["speaker"]), ("year", c["year"]), ("kind", c["kind"])):
            if value is not None and value != "":
                counts[name][value] = counts[name].get(value, 0) + 1
        for topic in c["topics"]:
            counts["topic"][topic] = counts["topic"].get(topic, 0) + 1
    page_limit = None if limit is None else min(max(int(limit), 0), fts.search.MAX_PAGE_SIZE)
    start = min(max(int(offset), 0), fts.search.MAX_OFFSET)
    page = matches[start:] if page_limit is None else matches[start:start + page_limit]
    speakers = labels.labels({*counts["speaker"], *(c["speaker"] for c in page if c["speaker"])}, fts.SPEAKER_LABELS)
    topics = labels.labels({*counts["topic"], *(t for c in page for t in c["topics"])}, fts.TOPIC_LABELS)
    facets = {}
    for name in FACETS:
        values = []
        for value, n in counts[name].items():
            if name in ("speaker", "topic"):
                label = (speakers if name == "speaker" else topics)[value]
                values.append(FacetValue(key_of(value), label or key_of(value), n))
            else:
                values.append(FacetValue(str(value), str(value), n))
        facets[name] = sorted(values, key=lambda v: (-v.count, v.label, v.key))
    hits = []
    for c in page:
        speaker = c["speaker"]
        hit_topics = sorted(((t, topics[t] or key_of(t)) for t in c["topics"]), key=lambda t: (t[1], t[0]))
        hits.append(Hit(c["claim"], c["graph"], c["words"], speaker,
                        (speakers[speaker] or key_of(speaker)) if speaker else None, c["date"], c["kind"], hit_topics))
    return RemoteResults(len(matches), hits, facets, len(sample), warning)
