"""The full-text index of the claims: an SQLite FTS5 database kept in the store directory.

The store answers SPARQL; searching the words of a million claims with
SPARQL ``CONTAINS`` reads every literal, so the search page reads this index
instead.  It holds a row per claim (its IRI, document graph, words, speaker,
topics, date, year and kind) and an FTS5 table over the words (the unicode61
tokenizer with diacritics removed, so that 'Turkiye' finds 'Türkiye' and
Cyrillic is folded to lower case like Latin), with prefix indexes for the
search-as-you-type prefix queries.  Facet counts, the total and the page are
computed in SQL over the matches.

The file is ``kb-search.sqlite`` inside the store directory: RocksDB, under
Oxigraph, leaves files it does not know alone (checked through ``optimize``
and read-only opens, tests/test_fts.py), so the store and its index are
copied, moved and deleted together.

Keeping it in step: ``kb.store.EmbeddedStore`` calls ``replace_document``
right after each write of a document graph has committed, so each document's
rows are replaced in one SQLite transaction.  Before the store's transaction
the document is marked ``pending`` (``begin_document``); the mark goes with
the transaction that writes the rows.  A crash between the two commits thus
leaves the document marked, ``stale()`` says so (the search page checks it:
one indexed lookup), and ``kb reindex`` (which rebuilds everything from the
store) is the repair.  Each document also keeps a fingerprint, its number of
claims and a hash of their IRIs and words: ``kb reindex --check`` compares
the numbers with the store's (``differences``) without rebuilding.

User text is never FTS5 syntax: ``match_expression`` turns it into quoted
phrases of word tokens, so quotes, ``NEAR(``, ``*``, ``-``, ``AND`` are words
or nothing.  Rows are derived from a document's rdflib graph through the
vocabulary (schema:Claim, schema:text, schema:author, schema:about,
kb:statedOn, kb:kind); labels come from the graph itself or, for speakers,
topics and kinds of the ontology, from the ``lookup`` the store passes in.
"""
from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from .errors import KbError

KB = Namespace("https://w3id.org/kb/ns#")
SCHEMA = Namespace("https://schema.org/")

FILE_NAME = "kb-search.sqlite"
DEFAULT_GRAPH = ""  # the key of the store's default graph (kb load of triples) among the documents
SCHEMA_VERSION = "2"
FACETS = ("speaker", "topic", "year", "kind")
MAX_TOKENS = 16  # words of a search text at most (the rest is ignored)
MAX_PAGE_SIZE = 10_000
MAX_OFFSET = 10_000_000
FACET_SAMPLE = 10_000  # matches the facets count at most (a word in every claim must stay fast)

# the predicates that give a label, per kind of term, in order of preference
SPEAKER_LABELS = (SCHEMA.name, RDFS.label)
TOPIC_LABELS = (SKOS.prefLabel, RDFS.label)
KIND_LABELS = (RDFS.label,)

Lookup = Callable[[URIRef, tuple], "str | None"]
# every predicate rows_of reads: what the store needs to read of a graph to index it
INDEXED_PREDICATES = (RDF.type, SCHEMA.text, SCHEMA.author, SCHEMA.about, KB.statedOn, KB.kind,
                      KB.startOffset, *SPEAKER_LABELS, *TOPIC_LABELS, *KIND_LABELS)

_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
    id INTEGER PRIMARY KEY,
    graph TEXT NOT NULL UNIQUE,
    claims INTEGER NOT NULL DEFAULT 0,
    fingerprint TEXT NOT NULL DEFAULT '',
    pending INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS documents_pending ON documents(pending) WHERE pending;
CREATE TABLE IF NOT EXISTS terms(
    id INTEGER PRIMARY KEY,
    iri TEXT NOT NULL UNIQUE,
    key TEXT NOT NULL,
    label TEXT);
CREATE INDEX IF NOT EXISTS terms_key ON terms(key);
-- narrow rows, read for every match: what the facets count and the filters test
CREATE TABLE IF NOT EXISTS claims(
    id INTEGER PRIMARY KEY,
    doc INTEGER NOT NULL,
    speaker INTEGER,
    year INTEGER,
    kind TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS claims_doc ON claims(doc);
-- wide rows, read for the hits of a page only; the content of the FTS table
CREATE TABLE IF NOT EXISTS claim_text(
    id INTEGER PRIMARY KEY,
    claim TEXT NOT NULL,
    words TEXT NOT NULL,
    facets TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL DEFAULT '',
    start INTEGER);
CREATE TABLE IF NOT EXISTS claim_topics(
    id INTEGER NOT NULL,
    topic INTEGER NOT NULL,
    PRIMARY KEY(id, topic)) WITHOUT ROWID;
-- the words, and the facet values as tokens ('s12 y2025 kdirect t7'): a filter is
-- one more term of the MATCH, and FTS5 counts the matches without reading a row
CREATE VIRTUAL TABLE IF NOT EXISTS claims_fts USING fts5(
    words, facets, content='claim_text', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2', prefix='1 2 3');
"""


def _create(db: sqlite3.Connection) -> None:
    """Create the tables; an index of another version is emptied and made again, marked incomplete."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" in tables:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if version is None or version[0] != SCHEMA_VERSION:
            db.execute("BEGIN")
            if "claims_fts" in tables:
                db.execute("DROP TABLE claims_fts")  # its shadow tables go with it
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                      "AND name NOT LIKE 'sqlite_%'").fetchall():
                db.execute(f'DROP TABLE "{name}"')
            db.execute("COMMIT")
            db.executescript(_SCHEMA_SQL)
            db.execute("INSERT INTO meta VALUES ('schema', ?), ('complete', '0')", (SCHEMA_VERSION,))
            return
    db.executescript(_SCHEMA_SQL)
    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))


class IndexMissing(KbError):
    """The store has no search index (a store written before it existed), or an old one.

    ``reason`` is the message without the file's path, for pages served to the network.
    """

    def __init__(self, where, reason: str):
        super().__init__(f"{where}: {reason}")
        self.reason = reason


# ---------------------------------------------------------------- rows from a graph

@dataclass
class Row:
    """What the index keeps of one claim."""

    claim: str
    words: str
    speaker: str | None
    date: str = ""
    kind: str = ""
    start: int | None = None
    topics: list[str] = field(default_factory=list)

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if re.match(r"\d{4}", self.date) else None


def key_of(iri: str) -> str:
    """The key of a speaker or topic IRI: its last path segment ('…/speaker/sergey-lavrov')."""
    return iri.rstrip("/").rsplit("/", 1)[-1]


def _label(graph: Graph, iri, predicates: tuple, lookup: Lookup | None) -> str | None:
    for predicate in predicates:
        values = [o for o in graph.objects(iri, predicate) if isinstance(o, Literal)]
        if values:
            return str(_english_first(values))
    return lookup(iri, predicates) if lookup is not None else None


def _english_first(values: list[Literal]) -> Literal:
    return min(values, key=lambda v: (v.language not in (None, "en"), v.language or "", str(v)))


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def rows_of(graph: Graph, lookup: Lookup | None = None) -> tuple[list[Row], dict[str, str]]:
    """(rows in document order, {IRI: label} of their speakers and topics) of a document graph."""
    rows, labels = [], {}
    kinds: dict = {}
    for claim in set(graph.subjects(RDF.type, SCHEMA.Claim)):
        words = " ".join(str(w) for w in sorted(graph.objects(claim, SCHEMA.text)))
        speaker = next(iter(sorted(graph.objects(claim, SCHEMA.author))), None)
        stated = next(iter(sorted(graph.objects(claim, KB.statedOn))), None)
        kind = next(iter(sorted(graph.objects(claim, KB.kind))), None)
        if kind is not None and kind not in kinds:
            kinds[kind] = _label(graph, kind, KIND_LABELS, lookup) or key_of(str(kind)).rsplit("#", 1)[-1]
        topics = sorted(str(t) for t in graph.objects(claim, SCHEMA.about) if isinstance(t, URIRef))
        row = Row(str(claim), words, str(speaker) if speaker is not None else None,
                  str(stated) if stated is not None else "", kinds.get(kind, ""),
                  _int(graph.value(claim, KB.startOffset)), topics)
        rows.append(row)
        if speaker is not None and str(speaker) not in labels:
            labels[str(speaker)] = _label(graph, speaker, SPEAKER_LABELS, lookup)
        for topic in topics:
            if topic not in labels:
                labels[topic] = _label(graph, URIRef(topic), TOPIC_LABELS, lookup)
    rows.sort(key=lambda r: (r.start is None, r.start or 0, r.claim))
    return rows, {iri: label for iri, label in labels.items()}


def fingerprint(rows: Iterable[Row]) -> tuple[int, str]:
    """(claims, hash of their IRIs and words): what the index holds of a document."""
    digest, n = hashlib.sha1(), 0
    for row in sorted(rows, key=lambda r: r.claim):
        digest.update(f"{row.claim}\x1f{row.words}\x1e".encode("utf-8"))
        n += 1
    return n, digest.hexdigest()


def ontology_labels(graph: Graph) -> dict[str, str]:
    """{IRI: label} of the speakers (schema:name) and topics (skos:prefLabel) the ontology describes."""
    out: dict[str, str] = {}
    for predicate in (RDFS.label, SKOS.prefLabel, SCHEMA.name):  # later predicates win
        found: dict = {}
        for s, o in graph.subject_objects(predicate):
            if isinstance(s, URIRef) and isinstance(o, Literal):
                found.setdefault(str(s), []).append(o)
        out.update({iri: str(_english_first(values)) for iri, values in found.items()})
    return out


# ---------------------------------------------------------------- the query text

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
        year = _int(value)
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


# ---------------------------------------------------------------- results

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


# ---------------------------------------------------------------- the index

class SearchIndex:
    """The index of one store: ``SearchIndex.open(store_dir, read_only=…)``."""

    def __init__(self, connection: sqlite3.Connection, path: Path, read_only: bool):
        self._db = connection
        self.path = path
        self.read_only = read_only

    @classmethod
    def path_for(cls, store_dir) -> Path:
        return Path(store_dir) / FILE_NAME

    @classmethod
    def exists(cls, store_dir) -> bool:
        return cls.path_for(store_dir).is_file()

    @classmethod
    def open(cls, store_dir, read_only: bool = False) -> "SearchIndex":
        """Open the index of the store in ``store_dir``; for writing, create it if need be.

        Read-only, the database is opened with ``mode=ro``: in WAL mode a
        reader never blocks the writer nor the writer a reader.  A missing or
        old index is ``IndexMissing``.
        """
        path = cls.path_for(store_dir)
        try:
            if read_only:
                if not path.is_file():
                    raise IndexMissing(store_dir, "the store has no search index (run `kb reindex`)")
                db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     check_same_thread=False, timeout=10, isolation_level=None)
            else:
                db = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                _create(db)
            db.execute("PRAGMA temp_store=MEMORY")
            db.execute("PRAGMA cache_size=-65536")  # 64 MiB
            version = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.Error as exc:
            raise IndexMissing(path, f"cannot open the search index ({exc}): run `kb reindex`") from None
        if version is None or version[0] != SCHEMA_VERSION:
            db.close()
            raise IndexMissing(path, "the search index is of another version: run `kb reindex`")
        return cls(db, path, read_only)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> "SearchIndex":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction (the connection is in autocommit mode otherwise)."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -------------------------------------------------------- writing

    def set_complete(self, complete: bool) -> None:
        """Say whether the index holds every document of the store (a new index beside an old store does not)."""
        with self._transaction():
            self._db.execute("INSERT INTO meta VALUES ('complete', ?) "
                             "ON CONFLICT(key) DO UPDATE SET value = excluded.value", ("1" if complete else "0",))

    def begin_document(self, graph_iri: str) -> None:
        """Mark the document pending: its graph is about to change in the store."""
        with self._transaction():
            self._db.execute("INSERT INTO documents(graph, pending) VALUES (?, 1) "
                             "ON CONFLICT(graph) DO UPDATE SET pending = 1", (str(graph_iri),))

    def replace_document(self, graph_iri: str, graph: Graph, lookup: Lookup | None = None) -> int:
        """Replace the rows of one document by those of ``graph``, in one transaction; the claims indexed."""
        rows, labels = rows_of(graph, lookup)
        with self._transaction():
            self._replace(str(graph_iri), rows, labels)
        return len(rows)

    def remove_document(self, graph_iri: str) -> None:
        with self._transaction():
            self._delete(str(graph_iri))

    def clear(self) -> None:
        """Drop every row."""
        with self.bulk() as writer:
            writer.clear()

    def set_labels(self, labels: Mapping[str, str]) -> None:
        """Update the labels of the terms already indexed (the ontology changed)."""
        with self._transaction():
            self._db.executemany("UPDATE terms SET label = ? WHERE iri = ? AND label IS NOT ?",
                                 [(label, iri, label) for iri, label in labels.items()])

    def optimize(self) -> None:
        """Merge the FTS index's segments (after a large rebuild)."""
        with self._transaction():
            self._db.execute("INSERT INTO claims_fts(claims_fts) VALUES ('optimize')")
        self._db.execute("PRAGMA optimize")

    def _delete(self, graph: str) -> None:
        db = self._db
        found = db.execute("SELECT id FROM documents WHERE graph = ?", (graph,)).fetchone()
        if found is None:
            return
        ids = "SELECT id FROM claims WHERE doc = ?"
        db.execute("INSERT INTO claims_fts(claims_fts, rowid, words, facets) "
                   f"SELECT 'delete', id, words, facets FROM claim_text WHERE id IN ({ids})", found)
        db.execute(f"DELETE FROM claim_topics WHERE id IN ({ids})", found)
        db.execute(f"DELETE FROM claim_text WHERE id IN ({ids})", found)
        db.execute("DELETE FROM claims WHERE doc = ?", found)
        db.execute("DELETE FROM documents WHERE id = ?", found)

    def _term(self, iri: str, label: str | None, cache: dict) -> int:
        if iri in cache:
            return cache[iri]
        db = self._db
        found = db.execute("SELECT id, label FROM terms WHERE iri = ?", (iri,)).fetchone()
        if found is None:
            term = db.execute("INSERT INTO terms(iri, key, label) VALUES (?, ?, ?)",
                              (iri, key_of(iri), label)).lastrowid
        else:
            term = found[0]
            if label and label != found[1]:
                db.execute("UPDATE terms SET label = ? WHERE id = ?", (label, term))
        cache[iri] = term
        return term

    def _replace(self, graph: str, rows: list[Row], labels: Mapping[str, str | None], cache=None) -> None:
        db = self._db
        cache = {} if cache is None else cache
        self._delete(graph)
        claims, digest = fingerprint(rows)
        doc = db.execute("INSERT INTO documents(graph, claims, fingerprint, pending) VALUES (?, ?, ?, 0)",
                         (graph, claims, digest)).lastrowid
        for row in rows:
            speaker = self._term(row.speaker, labels.get(row.speaker), cache) if row.speaker else None
            topics = sorted({self._term(t, labels.get(t), cache) for t in row.topics})
            facets = " ".join([*([facet_token("speaker", speaker)] if speaker is not None else []),
                               *([facet_token("year", row.year)] if row.year is not None else []),
                               *([facet_token("kind", row.kind)] if row.kind else []),
                               *(facet_token("topic", t) for t in topics)])
            rowid = db.execute("INSERT INTO claims(doc, speaker, year, kind) VALUES (?, ?, ?, ?)",
                               (doc, speaker, row.year, row.kind)).lastrowid
            db.execute("INSERT INTO claim_text(id, claim, words, facets, date, start) VALUES (?, ?, ?, ?, ?, ?)",
                       (rowid, row.claim, row.words, facets, row.date, row.start))
            db.execute("INSERT INTO claims_fts(rowid, words, facets) VALUES (?, ?, ?)", (rowid, row.words, facets))
            db.executemany("INSERT INTO claim_topics(id, topic) VALUES (?, ?)", [(rowid, t) for t in topics])

    def bulk(self) -> "BulkWriter":
        """A writer for many documents in one transaction (``kb reindex``, the benchmark)."""
        return BulkWriter(self)

    # -------------------------------------------------------- reading

    def documents(self) -> dict[str, tuple[int, str]]:
        """{graph IRI: (claims, fingerprint)} of the documents indexed (pending ones included)."""
        return {g: (n, f) for g, n, f in self._db.execute("SELECT graph, claims, fingerprint FROM documents")}

    def stale(self) -> list[str]:
        """The documents whose graph changed in the store after their rows were written (a crash between)."""
        return [g for (g,) in self._db.execute("SELECT graph FROM documents WHERE pending ORDER BY graph")]

    @property
    def complete(self) -> bool:
        found = self._db.execute("SELECT value FROM meta WHERE key = 'complete'").fetchone()
        return found is not None and found[0] == "1"

    def problem(self) -> str | None:
        """Why the index may not match the store (None when it does, as far as it knows)."""
        if not self.complete:
            return "the search index was not built from the whole store: run `kb reindex`"
        stale = self._db.execute("SELECT COUNT(*) FROM documents WHERE pending").fetchone()[0]
        if stale:
            return (f"the search index may be behind the store for {stale} document(s) "
                    "(a write was interrupted): run `kb reindex`")
        return None

    def rows(self) -> list[tuple]:
        """Every claim indexed as (graph, claim, words, speaker IRI, date, year, kind, topic IRIs), sorted:
        what two indexes of the same store must agree on."""
        topics: dict[int, list[str]] = {}
        for claim_id, iri in self._db.execute(
                "SELECT t.id, terms.iri FROM claim_topics t JOIN terms ON terms.id = t.topic"):
            topics.setdefault(claim_id, []).append(iri)
        return sorted(
            (graph, claim, words, speaker, date, year, kind, tuple(sorted(topics.get(claim_id, ()))))
            for claim_id, graph, claim, words, speaker, date, year, kind in self._db.execute(
                "SELECT c.id, d.graph, x.claim, x.words, s.iri, x.date, c.year, c.kind FROM claims c "
                "JOIN documents d ON d.id = c.doc JOIN claim_text x ON x.id = c.id "
                "LEFT JOIN terms s ON s.id = c.speaker"))

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM claims").fetchone()[0]

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

    def _terms(self, ids: Iterable[int]) -> dict[int, tuple[str, str | None]]:
        ids = list(ids)
        out = {}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            out.update({i: (iri, label) for i, iri, label in self._db.execute(
                f"SELECT id, iri, label FROM terms WHERE id IN ({','.join('?' * len(part))})", part)})
        return out


class BulkWriter:
    """Writes many documents in one transaction; commits on leaving the ``with`` block."""

    def __init__(self, index: SearchIndex):
        self.index = index
        self._cache: dict = {}

    def __enter__(self) -> "BulkWriter":
        self.index._db.execute("BEGIN")
        return self

    def commit(self) -> None:
        """Commit what is written so far and go on in a new transaction."""
        self.index._db.execute("COMMIT")
        self.index._db.execute("BEGIN")

    def add(self, graph_iri: str, rows: list[Row], labels: Mapping[str, str | None]) -> None:
        self.index._replace(str(graph_iri), rows, labels, self._cache)

    def clear(self) -> None:
        db = self.index._db
        db.execute("INSERT INTO claims_fts(claims_fts) VALUES ('delete-all')")
        for table in ("claims", "claim_text", "claim_topics", "documents", "terms"):
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        self._cache.clear()

    def set_complete(self, complete: bool) -> None:
        self.index._db.execute("INSERT INTO meta VALUES ('complete', ?) ON CONFLICT(key) "
                               "DO UPDATE SET value = excluded.value", ("1" if complete else "0",))

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.index._db.execute("COMMIT")
        else:
            self.index._db.execute("ROLLBACK")


def differences(index: SearchIndex, claims_in_store: Mapping[str, int]) -> list[str]:
    """How the index differs from the store, one line per document: pending, missing, extra,
    or another number of claims (``claims_in_store``: {document graph: claims}, every document)."""
    indexed = index.documents()
    pending = set(index.stale())
    out = []
    for graph in sorted(set(indexed) | set(claims_in_store)):
        if graph == DEFAULT_GRAPH:
            continue  # the default graph has no graph name to count by
        if graph not in indexed:
            out.append(f"{graph}: in the store, not in the index")
        elif graph not in claims_in_store:
            out.append(f"{graph}: in the index, not in the store")
        elif graph in pending:
            out.append(f"{graph}: a write was interrupted")
        elif indexed[graph][0] != claims_in_store[graph]:
            out.append(f"{graph}: {indexed[graph][0]} claim(s) in the index, {claims_in_store[graph]} in the store")
    if not index.complete:
        out.append("the index was not built from the whole store")
    return out


# ---------------------------------------------------------------- rebuilding

@dataclass
class RebuildReport:
    documents: int = 0
    claims: int = 0
    failures: list[str] = field(default_factory=list)  # 'graph: reason', one line each

    def summary(self) -> str:
        failed = f"; {len(self.failures)} document(s) failed" if self.failures else ""
        return f"indexed {self.documents} document(s), {self.claims} claim(s){failed}"


def rebuild(index: SearchIndex, names: list, read: Callable[[object], Graph],
            lookup: Lookup | None = None, progress: bool = False) -> RebuildReport:
    """Rebuild ``index`` from the graphs ``names`` (``read(name)`` gives each; None is the default graph).

    One transaction: readers see the old index until the new one is whole.
    A graph that cannot be read or indexed is reported and left out, and the
    index is then marked incomplete.
    """
    import sys

    from tqdm import tqdm

    report = RebuildReport()
    show = progress and len(names) >= 5 and sys.stderr.isatty()
    with index.bulk() as writer:
        writer.clear()
        for name in tqdm(names, disable=not show, file=sys.stderr, unit="doc", leave=False):
            key = DEFAULT_GRAPH if name is None else str(name)
            try:
                rows, labels = rows_of(read(name), lookup)
                writer.add(key, rows, labels)
            except Exception as exc:  # noqa: BLE001 - one document must not cost the rest
                report.failures.append(" ".join(f"{key or 'default graph'}: {type(exc).__name__}: {exc}".split()))
            else:
                report.documents += 1
                report.claims += len(rows)
        writer.set_complete(not report.failures)
    return report
