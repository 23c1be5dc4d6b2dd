"""The side index of the claims: an SQLite database kept in the store directory, for search and browsing.

The store answers SPARQL; searching the words of a million claims with
SPARQL ``CONTAINS`` reads every literal, so the search page reads this index
instead.  It holds a row per claim (its IRI, document graph, words, speaker,
topics, date, year and kind) and an FTS5 table over the words (the unicode61
tokenizer with diacritics removed, so that 'Turkiye' finds 'Türkiye' and
Cyrillic is folded to lower case like Latin), with prefix indexes for the
search-as-you-type prefix queries.  Facet counts, the total and the page are
computed in SQL over the matches.

Browsing a million claims by SPARQL sorts or counts all of a speaker's or
a topic's claims per page, so the same rows also carry each claim's date
(STR of kb:statedOn, compared as SPARQL compares it) and offset, with
ordered indexes per speaker, per topic and by date, and counts kept in step
with the rows, document by document: claims per speaker, per topic, per
topic and speaker, per speaker, topic and month, and the totals (claims,
documents, posts).  Replacing a document subtracts its old rows from the
counts and adds its new ones in the same transaction (``_tally``); a
rebuild counts once at the end.  ``count_differences`` recounts from the
rows, for ``kb reindex --check``.  The pages (kb.web.pages) read lists,
counts and orders here and fetch only the details of a page's claims from
the store.  A view's data formats (every claim of a speaker or topic, up to
ten thousand) read each claim's row here as well: its text, document,
offset and kind are kept, and whether the claim is plain (one of each of
the terms a row shows, ``Row.plain``), so that its row here is the row the
view's query gives.

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
from typing import Callable, Iterable, Iterator, Mapping, NamedTuple

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS

from .errors import KbError

KB = Namespace("https://w3id.org/kb/ns#")
SCHEMA = Namespace("https://schema.org/")

FILE_NAME = "kb-search.sqlite"
DEFAULT_GRAPH = ""  # the key of the store's default graph (kb load of triples) among the documents
SCHEMA_VERSION = "5"  # 3: dates on the narrow rows, ordered browse indexes, counts; 4: a view's row of a claim;
# 5: a claim's topics on its wide row
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
# the predicates whose literal values rows_of reads only as strings (str(), int()): a reader
# may give their lexical forms in place of rdflib Literals
LEXICAL = (SCHEMA.text, KB.statedOn, KB.startOffset)
# the terms rows_of looks up per claim, made once (a Namespace makes a new URIRef per attribute)
_CLAIM, _TEXT, _AUTHOR, _ABOUT = SCHEMA.Claim, SCHEMA.text, SCHEMA.author, SCHEMA.about
_STATED, _KIND, _START, _SOURCE = KB.statedOn, KB.kind, KB.startOffset, PROV.wasDerivedFrom
# every predicate rows_of reads: what the store needs to read of a graph to index it
INDEXED_PREDICATES = (RDF.type, SCHEMA.text, SCHEMA.author, SCHEMA.about, KB.statedOn, KB.kind,
                      KB.startOffset, PROV.wasDerivedFrom, *SPEAKER_LABELS, *TOPIC_LABELS, *KIND_LABELS)

_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
    id INTEGER PRIMARY KEY,
    graph TEXT NOT NULL UNIQUE,
    claims INTEGER NOT NULL DEFAULT 0,
    fingerprint TEXT NOT NULL DEFAULT '',
    pending INTEGER NOT NULL DEFAULT 0,
    entities INTEGER NOT NULL DEFAULT 0,  -- its kb:Document resources (the home page's total)
    posts INTEGER NOT NULL DEFAULT 0);    -- its kb:Post resources
CREATE INDEX IF NOT EXISTS documents_pending ON documents(pending) WHERE pending;
CREATE TABLE IF NOT EXISTS terms(
    id INTEGER PRIMARY KEY,
    iri TEXT NOT NULL UNIQUE,
    key TEXT NOT NULL,
    label TEXT);
CREATE INDEX IF NOT EXISTS terms_key ON terms(key);
-- narrow rows, read for every match: what the facets count and the filters test
-- and what the browsing pages order by: date is STR(kb:statedOn) ('' when there is none),
-- compared as SPARQL compares the strings; start the claim's kb:startOffset
CREATE TABLE IF NOT EXISTS claims(
    id INTEGER PRIMARY KEY,
    doc INTEGER NOT NULL,
    speaker INTEGER,
    year INTEGER,
    kind TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL DEFAULT '',
    start INTEGER);
CREATE INDEX IF NOT EXISTS claims_doc ON claims(doc);
-- wide rows, read for the hits of a page only; the content of the FTS table
-- plain: the claim has one of each term a view's row shows (Row.plain); its words are
-- then its one schema:text, document its prov:wasDerivedFrom (NULL: the document's graph
-- IRI), kind_term its kb:kind; a view's data formats make its row from here (view_rows);
-- topics: the ids of its topics' terms, joined by spaces (claim_topics has them as rows: read
-- per claim, they cost ten thousand lookups more, 14 ms, for a view of 10,000 rows at 1M)
CREATE TABLE IF NOT EXISTS claim_text(
    id INTEGER PRIMARY KEY,
    claim TEXT NOT NULL,
    words TEXT NOT NULL,
    facets TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL DEFAULT '',
    start INTEGER,
    plain INTEGER NOT NULL DEFAULT 0,
    document TEXT,
    kind_term TEXT,
    topics TEXT NOT NULL DEFAULT '');
-- speaker and date repeated from the claim's row, for the ordered indexes of a topic's claims
CREATE TABLE IF NOT EXISTS claim_topics(
    id INTEGER NOT NULL,
    topic INTEGER NOT NULL,
    speaker INTEGER,
    date TEXT NOT NULL DEFAULT '',
    PRIMARY KEY(id, topic)) WITHOUT ROWID;
-- counts kept in step with the rows, document by document (_tally): what the
-- browsing pages show without counting a million claims per page
CREATE TABLE IF NOT EXISTS speaker_counts(speaker INTEGER PRIMARY KEY, claims INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS topic_counts(topic INTEGER PRIMARY KEY, claims INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS topic_speaker_counts(
    topic INTEGER NOT NULL, speaker INTEGER NOT NULL, claims INTEGER NOT NULL,
    PRIMARY KEY(topic, speaker)) WITHOUT ROWID;
-- per speaker (0: none), topic (0: a claim without one) and month (claims dated to a month or a day)
CREATE TABLE IF NOT EXISTS month_counts(
    speaker INTEGER NOT NULL, topic INTEGER NOT NULL, month TEXT NOT NULL, claims INTEGER NOT NULL,
    PRIMARY KEY(speaker, topic, month)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS month_counts_topic ON month_counts(topic);
CREATE TABLE IF NOT EXISTS totals(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- the words, and the facet values as tokens ('s12 y2025 kdirect t7'): a filter is
-- one more term of the MATCH, and FTS5 counts the matches without reading a row
CREATE VIRTUAL TABLE IF NOT EXISTS claims_fts USING fts5(
    words, facets, content='claim_text', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2', prefix='1 2 3');
"""

# The ordered indexes of the browsing pages: made after the rows on a rebuild
# (one sort each, instead of a B-tree insert per row)
_BROWSE_INDEXES = {
    "claims_speaker_date": "claims(speaker, date)",
    "claims_date": "claims(date)",
    "claim_topics_topic_date": "claim_topics(topic, date)",
    "claim_topics_topic_speaker_date": "claim_topics(topic, speaker, date)",
}
COUNT_TABLES = ("speaker_counts", "topic_counts", "topic_speaker_counts", "month_counts", "totals")
SUMMED = "*"  # in a timeline, the series that are not kept, summed (never an IRI)
TOTALS = ("claims", "documents", "posts")  # kept in ``totals``; speakers, topics, first, last are read off


def _create_browse_indexes(db: sqlite3.Connection) -> None:
    for name, on in _BROWSE_INDEXES.items():
        db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")


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
            _create_browse_indexes(db)
            db.execute("INSERT INTO meta VALUES ('schema', ?), ('complete', '0')", (SCHEMA_VERSION,))
            return
    db.executescript(_SCHEMA_SQL)
    _create_browse_indexes(db)
    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))


class Listing(NamedTuple):
    """The claims of a list with what a view's row shows of each (``speaker_claims(details=True)``),
    one tuple per claim as SQLite gives it, no Python object made per claim: kb.web.data.view_rows
    makes ten thousand rows from them.  A claim's tuple is:

    claim, date (STR(kb:statedOn), '' when none), words (its schema:text when plain), start (its
    kb:startOffset as text, '' when none), document (its prov:wasDerivedFrom when plain), kind (its
    kb:kind's IRI or None), speaker (a key of ``speakers``, None for none), plain (1 when
    Row.plain, else 0), topics (a key of ``topics``; '' when not asked for)."""

    rows: list[tuple]
    speakers: dict[int, str]  # the speaker cell of a row -> the speaker's IRI
    topics: dict[str, str]  # the topics cell of a row -> their IRIs, sorted, joined by spaces


# a Listing's row, but for its topics (x.topics, or '' when not asked for)
_LISTED = ("x.claim, x.date, x.words, COALESCE(CAST(x.start AS TEXT), ''), COALESCE(x.document, d.graph), "
           "x.kind_term, c.speaker, x.plain")


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
    document: str | None = None  # its prov:wasDerivedFrom, when it has one
    kind_term: str | None = None  # its kb:kind, when it has one
    # one schema:text and prov:wasDerivedFrom, at most one of schema:author, kb:statedOn,
    # kb:startOffset (an integer as written) and kb:kind, IRIs where a view's query wants
    # IRIs: the claim's row of a view is then the same from the index as from the store
    plain: bool = False

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
    for claim in set(graph.subjects(RDF.type, _CLAIM)):
        texts = sorted(graph.objects(claim, _TEXT))
        words = " ".join(str(w) for w in texts)
        authors = sorted(graph.objects(claim, _AUTHOR))
        speaker = next(iter(authors), None)
        dates = sorted(graph.objects(claim, _STATED))
        stated = next(iter(dates), None)
        kind_terms = sorted(graph.objects(claim, _KIND))
        kind = next(iter(kind_terms), None)
        if kind is not None and kind not in kinds:
            kinds[kind] = _label(graph, kind, KIND_LABELS, lookup) or key_of(str(kind)).rsplit("#", 1)[-1]
        about = list(graph.objects(claim, _ABOUT))
        topics = sorted({str(t) for t in about if isinstance(t, URIRef)})
        starts = list(graph.objects(claim, _START))
        start = _int(starts[0]) if starts else None
        sources = list(graph.objects(claim, _SOURCE))
        plain = (len(texts) == 1 and not isinstance(texts[0], (URIRef, BNode))
                 and len(sources) == 1 and isinstance(sources[0], URIRef)
                 and len(authors) <= 1 and all(isinstance(a, URIRef) for a in authors)
                 and len(dates) <= 1 and len(kind_terms) <= 1 and all(isinstance(k, URIRef) for k in kind_terms)
                 and len(about) == len(topics)
                 and (not starts or (len(starts) == 1 and start is not None and str(start) == str(starts[0]))))
        row = Row(str(claim), words, str(speaker) if speaker is not None else None,
                  str(stated) if stated is not None else "", kinds.get(kind, ""), start, topics,
                  str(sources[0]) if sources else None, str(kind) if kind is not None else None, plain)
        rows.append(row)
        if speaker is not None and str(speaker) not in labels:
            labels[str(speaker)] = _label(graph, speaker, SPEAKER_LABELS, lookup)
        for topic in topics:
            if topic not in labels:
                labels[topic] = _label(graph, URIRef(topic), TOPIC_LABELS, lookup)
    rows.sort(key=lambda r: (r.start is None, r.start or 0, r.claim))
    return rows, {iri: label for iri, label in labels.items()}


class Triples:
    """The triples of a graph that the index reads, looked up as ``rows_of`` looks them up: a light
    stand-in for an rdflib Graph (no indexes but these two, no events, no contexts), which the store
    fills when it rebuilds the index from millions of triples.  The triples of one named graph of
    the store are distinct, so nothing is deduplicated here."""

    def __init__(self) -> None:
        self._by_subject: dict = {}
        self._by_object: dict = {}
        self._by_predicate: dict = {}

    def add(self, triple) -> None:
        s, p, o = triple
        self._by_subject.setdefault((s, p), []).append(o)
        self._by_object.setdefault((p, o), []).append(s)
        self._by_predicate.setdefault(p, []).append((s, o))

    def subjects(self, predicate, obj) -> Iterator:
        return iter(self._by_object.get((predicate, obj), ()))

    def objects(self, subject, predicate) -> Iterator:
        return iter(self._by_subject.get((subject, predicate), ()))

    def subject_objects(self, predicate) -> Iterator:
        return iter(self._by_predicate.get(predicate, ()))

    def value(self, subject, predicate):
        found = self._by_subject.get((subject, predicate))
        return found[0] if found else None

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_predicate.values())


def resources_of(graph: Graph) -> tuple[int, int]:
    """(kb:Document resources, kb:Post resources) a graph describes: its part of the home page's totals."""
    return (len(set(graph.subjects(RDF.type, KB.Document))), len(set(graph.subjects(RDF.type, KB.Post))))


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
        """Replace the rows of one document by those of ``graph``, and its part of the counts,
        in one transaction; the claims indexed."""
        rows, labels = rows_of(graph, lookup)
        with self._transaction():
            self._replace(str(graph_iri), rows, labels, resources=resources_of(graph))
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

    def _tally(self, doc: int, sign: int) -> None:
        """Add (sign 1) or subtract (sign -1) the claims of one document to or from the counts."""
        db = self._db
        upsert = "ON CONFLICT DO UPDATE SET claims = claims + excluded.claims"
        db.execute("INSERT INTO speaker_counts(speaker, claims) SELECT speaker, ? * COUNT(*) FROM claims "
                   f"WHERE doc = ? AND speaker IS NOT NULL GROUP BY speaker {upsert}", (sign, doc))
        db.execute("INSERT INTO topic_counts(topic, claims) SELECT t.topic, ? * COUNT(*) FROM claims c "
                   f"CROSS JOIN claim_topics t ON t.id = c.id WHERE c.doc = ? GROUP BY t.topic {upsert}", (sign, doc))
        db.execute("INSERT INTO topic_speaker_counts(topic, speaker, claims) SELECT t.topic, c.speaker, ? * COUNT(*) "
                   "FROM claims c CROSS JOIN claim_topics t ON t.id = c.id WHERE c.doc = ? AND c.speaker IS NOT NULL "
                   f"GROUP BY t.topic, c.speaker {upsert}", (sign, doc))
        db.execute("INSERT INTO month_counts(speaker, topic, month, claims) "
                   "SELECT COALESCE(c.speaker, 0), COALESCE(t.topic, 0), substr(c.date, 1, 7), ? * COUNT(*) "
                   "FROM claims c LEFT JOIN claim_topics t ON t.id = c.id WHERE c.doc = ? AND length(c.date) >= 7 "
                   f"GROUP BY 1, 2, 3 {upsert}", (sign, doc))
        claims, entities, posts = db.execute(
            "SELECT (SELECT COUNT(*) FROM claims WHERE doc = ?), entities, posts FROM documents WHERE id = ?",
            (doc, doc)).fetchone()
        db.executemany("INSERT INTO totals(key, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = value + excluded.value",
                       [("claims", sign * claims), ("documents", sign * entities), ("posts", sign * posts)])
        if sign < 0:  # a count down to 0 goes: the tables hold what there is, as a GROUP BY would
            # (looked for among the keys of this document only: the tables grow with the store)
            speakers = "SELECT DISTINCT speaker FROM claims WHERE doc = ?"
            topics = "SELECT DISTINCT t.topic FROM claims c CROSS JOIN claim_topics t ON t.id = c.id WHERE c.doc = ?"
            db.execute(f"DELETE FROM speaker_counts WHERE claims = 0 AND speaker IN ({speakers})", (doc,))
            db.execute(f"DELETE FROM topic_counts WHERE claims = 0 AND topic IN ({topics})", (doc,))
            db.execute(f"DELETE FROM topic_speaker_counts WHERE claims = 0 AND topic IN ({topics})", (doc,))
            db.execute("DELETE FROM month_counts WHERE claims = 0 AND speaker IN "
                       "(SELECT DISTINCT COALESCE(speaker, 0) FROM claims WHERE doc = ?)", (doc,))

    def _delete(self, graph: str, tally: bool = True) -> None:
        db = self._db
        found = db.execute("SELECT id FROM documents WHERE graph = ?", (graph,)).fetchone()
        if found is None:
            return
        if tally:
            self._tally(found[0], -1)
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

    def _replace(self, graph: str, rows: list[Row], labels: Mapping[str, str | None], cache=None,
                 resources: tuple[int, int] = (0, 0), tally: bool = True) -> None:
        db = self._db
        cache = {} if cache is None else cache
        self._delete(graph, tally)
        claims, digest = fingerprint(rows)
        doc = db.execute("INSERT INTO documents(graph, claims, fingerprint, pending, entities, posts) "
                         "VALUES (?, ?, ?, 0, ?, ?)", (graph, claims, digest, *resources)).lastrowid
        for row in rows:
            speaker = self._term(row.speaker, labels.get(row.speaker), cache) if row.speaker else None
            topics = sorted({self._term(t, labels.get(t), cache) for t in row.topics})
            facets = " ".join([*([facet_token("speaker", speaker)] if speaker is not None else []),
                               *([facet_token("year", row.year)] if row.year is not None else []),
                               *([facet_token("kind", row.kind)] if row.kind else []),
                               *(facet_token("topic", t) for t in topics)])
            rowid = db.execute("INSERT INTO claims(doc, speaker, year, kind, date, start) VALUES (?, ?, ?, ?, ?, ?)",
                               (doc, speaker, row.year, row.kind, row.date, row.start)).lastrowid
            db.execute("INSERT INTO claim_text(id, claim, words, facets, date, start, plain, document, kind_term, "
                       "topics) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (rowid, row.claim, row.words, facets, row.date, row.start, int(row.plain),
                        None if row.document == graph else row.document, row.kind_term, " ".join(map(str, topics))))
            db.execute("INSERT INTO claims_fts(rowid, words, facets) VALUES (?, ?, ?)", (rowid, row.words, facets))
            db.executemany("INSERT INTO claim_topics(id, topic, speaker, date) VALUES (?, ?, ?, ?)",
                           [(rowid, t, speaker, row.date) for t in topics])
        if tally:
            self._tally(doc, 1)

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
        """Every claim indexed as (graph, claim, words, speaker IRI, date, year, kind, topic IRIs, start,
        plain, document, kind IRI), sorted: what two indexes of the same store must agree on."""
        topics: dict[int, list[str]] = {}
        for claim_id, iri in self._db.execute(
                "SELECT t.id, terms.iri FROM claim_topics t JOIN terms ON terms.id = t.topic"):
            topics.setdefault(claim_id, []).append(iri)
        return sorted(
            (graph, claim, words, speaker, date, year, kind, tuple(sorted(topics.get(claim_id, ()))), *rest)
            for claim_id, graph, claim, words, speaker, date, year, kind, *rest in self._db.execute(
                "SELECT c.id, d.graph, x.claim, x.words, s.iri, x.date, c.year, c.kind, "
                "x.start, x.plain, COALESCE(x.document, d.graph), x.kind_term FROM claims c "
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

    # -------------------------------------------------------- browsing
    #
    # What the browsing pages list, count and order, read off the ordered
    # indexes and the kept counts; the pages fetch the details of the claims
    # of one page from the store.  Orders are the named queries' own (a
    # claim's date as SPARQL compares STR(kb:statedOn), then its document,
    # offset and IRI), so a page is the same from either.

    def _id(self, iri: str) -> int | None:
        found = self._db.execute("SELECT id FROM terms WHERE iri = ?", (str(iri),)).fetchone()
        return found[0] if found else None

    def totals(self) -> dict[str, str]:
        """The home page's totals (queries/stats.rq and date-range.rq): documents, posts, claims,
        speakers and topics quoted, first and last date ('' when no claim has one)."""
        db = self._db
        with self._transaction():
            kept = dict(db.execute("SELECT key, value FROM totals"))
            speakers = db.execute("SELECT COUNT(*) FROM speaker_counts WHERE claims > 0").fetchone()[0]
            topics = db.execute("SELECT COUNT(*) FROM topic_counts WHERE claims > 0").fetchone()[0]
            first = db.execute("SELECT MIN(date) FROM claims WHERE date > ''").fetchone()[0]
            last = db.execute("SELECT MAX(date) FROM claims").fetchone()[0]
        return {"documents": str(kept.get("documents", 0)), "posts": str(kept.get("posts", 0)),
                "claims": str(kept.get("claims", 0)), "speakers": str(speakers), "topics": str(topics),
                "first": first or "", "last": (last or "") if first else ""}

    def speaker_counts(self) -> dict[str, int]:
        """{speaker IRI: claims} of every speaker with a claim."""
        return dict(self._db.execute("SELECT t.iri, k.claims FROM speaker_counts k "
                                     "CROSS JOIN terms t ON t.id = k.speaker WHERE k.claims > 0"))

    def topic_counts(self) -> dict[str, int]:
        """{topic IRI: claims} of every topic with a claim."""
        return dict(self._db.execute("SELECT t.iri, k.claims FROM topic_counts k "
                                     "CROSS JOIN terms t ON t.id = k.topic WHERE k.claims > 0"))

    def speaker_months(self, speaker: str, keep: Iterable[str | None] | None = None) -> list[tuple[str, str | None, int]]:
        """(month, topic IRI or None for claims without a topic, claims) of one speaker's claims
        dated to a month or a day (queries/speaker-timeline.rq), by month.  With ``keep`` (topic
        IRIs, None for no topic) the other topics' claims are summed per month under SUMMED."""
        found = self._id(speaker)
        if found is None:
            return []
        if keep is None:
            return list(self._db.execute(
                "SELECT k.month, t.iri, k.claims FROM month_counts k LEFT JOIN terms t ON t.id = k.topic "
                "WHERE k.speaker = ? AND k.claims > 0 ORDER BY k.month, t.iri", (found,)))
        keep = list(keep)
        ids = {self._id(t) for t in keep if t is not None} - {None}
        if None in keep:
            ids.add(0)  # month_counts' topic of the claims without one
        out = []
        for month, topic, iri, n in self._db.execute(
                "SELECT k.month, k.topic, t.iri, SUM(k.claims) FROM (SELECT month, CASE WHEN topic IN "
                f"({','.join('?' * len(ids))}) THEN topic ELSE -1 END AS topic, claims FROM month_counts "
                "WHERE speaker = ? AND claims > 0) k LEFT JOIN terms t ON t.id = k.topic "
                "GROUP BY k.month, k.topic ORDER BY k.month, t.iri", [*ids, found]):
            out.append((month, SUMMED if topic == -1 else iri, n))
        return out

    def speaker_topics(self, speaker: str) -> list[tuple[str | None, int]]:
        """(topic IRI or None for no topic, claims) of one speaker's claims dated to a month or a
        day: the totals of ``speaker_months`` per topic."""
        found = self._id(speaker)
        if found is None:
            return []
        return list(self._db.execute(
            "SELECT t.iri, SUM(k.claims) FROM month_counts k LEFT JOIN terms t ON t.id = k.topic "
            "WHERE k.speaker = ? AND k.claims > 0 GROUP BY k.topic ORDER BY t.iri", (found,)))

    @staticmethod
    def _dates(column: str, since: str | None, until: str | None) -> tuple[str, list]:
        """The SQL of the named queries' date filter on ``column``: a date matches ``since`` on as
        many characters as it has (a month matches from its first day), and no date matches none."""
        sql, params = "", []
        if since:  # the first test bounds the range on the index, the second is the query's own
            sql += f" AND {column} >= ? AND {column} >= substr(?, 1, length({column}))"
            params += [since[:4], since]
        if until:
            sql += f" AND {column} > '' AND {column} <= ?"
            params.append(until)
        return sql, params

    def topic_speakers(self, topic: str, since: str | None = None,
                       until: str | None = None) -> list[tuple[str, str | None, int]]:
        """(speaker IRI, label, claims) of the speakers with claims on one topic, between two dates
        (queries/topic-speakers.rq), in no order."""
        found = self._id(topic)
        if found is None:
            return []
        if since or until:
            where, params = self._dates("date", since, until)
            counted = ("SELECT speaker, COUNT(*) AS claims FROM claim_topics "
                       f"WHERE topic = ? AND speaker IS NOT NULL{where} GROUP BY speaker")
        else:
            counted, params = "SELECT speaker, claims FROM topic_speaker_counts WHERE topic = ? AND claims > 0", []
        return list(self._db.execute(f"SELECT t.iri, t.label, k.claims FROM ({counted}) k "
                                     "CROSS JOIN terms t ON t.id = k.speaker", [found, *params]))

    def topic_months(self, topic: str, since: str | None = None, until: str | None = None,
                     keep: Iterable[str] | None = None) -> list[tuple[str, str, int]]:
        """(month, speaker IRI, claims) of one topic's claims with a speaker, dated to a month or a
        day, between two dates (queries/topic-timeline.rq), by month.  With ``keep`` (speaker IRIs)
        the other speakers' claims are summed per month under SUMMED (a chart's 'others')."""
        found = self._id(topic)
        if found is None:
            return []
        if keep is not None:
            ids = {self._id(s) for s in keep} - {None}
            return [(month, iri or SUMMED, n) for month, iri, n in self._db.execute(
                "SELECT k.month, t.iri, SUM(k.claims) FROM (SELECT month, CASE WHEN speaker IN "
                f"({','.join('?' * len(ids))}) THEN speaker END AS speaker, claims FROM ({self._months_of(since, until)})) k "
                "LEFT JOIN terms t ON t.id = k.speaker GROUP BY k.month, k.speaker ORDER BY k.month, t.iri",
                [*ids, found, *self._dates("date", since, until)[1]])]
        return list(self._db.execute(f"SELECT k.month, t.iri, k.claims FROM ({self._months_of(since, until)}) k "
                                     "CROSS JOIN terms t ON t.id = k.speaker ORDER BY k.month, t.iri",
                                     [found, *self._dates("date", since, until)[1]]))

    def _months_of(self, since: str | None, until: str | None) -> str:
        """The SQL of (month, speaker id, claims) of one topic (its id the first parameter, the dates'
        parameters after it): the kept counts, or with dates a count of the topic's claims between them."""
        if since or until:
            where, _ = self._dates("date", since, until)
            return ("SELECT substr(date, 1, 7) AS month, speaker, COUNT(*) AS claims FROM claim_topics "
                    f"WHERE topic = ? AND speaker IS NOT NULL AND length(date) >= 7{where} GROUP BY 1, 2")
        return "SELECT month, speaker, claims FROM month_counts WHERE topic = ? AND speaker != 0 AND claims > 0"

    def _page(self, source: str, where: str, params: list, order: str, limit: int | None, offset: int,
              details: bool = False, topics: bool = True) -> list:
        # the outer table's ordered index gives the date order; only claims of the same
        # date are sorted further (SQLite sorts "the right part of the ORDER BY")
        limit = -1 if limit is None else max(int(limit), 0)
        what = (_LISTED + ", " + ("x.topics" if topics else "''")) if details else "x.claim"
        found = self._db.execute(
            f"SELECT {what} FROM {source} CROSS JOIN documents d ON d.id = c.doc "
            f"CROSS JOIN claim_text x ON x.id = c.id WHERE {where} "
            f"ORDER BY {order}, d.graph, c.start, x.claim LIMIT ? OFFSET ?",
            [*params, limit, max(int(offset), 0)]).fetchall()
        return [iri for (iri,) in found] if not details else found

    def _listing(self, found: list[tuple]) -> Listing:
        # the terms named, looked up once each: hundreds of speakers, a few hundred sets of topics
        speakers = {i for i in {row[6] for row in found} if i is not None}
        sets = {row[8] for row in found}
        numbers = {int(n) for cell in sets for n in cell.split()}
        iris = {i: iri for i, (iri, _) in self._terms(speakers | numbers).items()}
        return Listing(found, {i: iris[i] for i in speakers},
                       {cell: " ".join(sorted(iris[int(n)] for n in cell.split())) for cell in sets})

    def speaker_claims(self, speaker: str, topic: str | None = None, since: str | None = None,
                       until: str | None = None, limit: int | None = 25, offset: int = 0,
                       details: bool = False, topics: bool = True) -> list:
        """The IRIs of one speaker's claims (on one topic), newest first, undated last
        (queries/speaker-claims.rq, speaker-topic-claims.rq); ``limit`` None: all from ``offset``.
        ``details``: a ``Listing`` of the claims in place of their IRIs (without topics unless ``topics``)."""
        found, on = self._id(speaker), self._id(topic) if topic else None
        if found is None or (topic and on is None):
            return self._listing([]) if details else []
        if topic:
            dates, params = self._dates("t.date", since, until)
            listed = self._page("claim_topics t CROSS JOIN claims c ON c.id = t.id",
                                f"t.topic = ? AND t.speaker = ?{dates}", [on, found, *params],
                                "t.date DESC", limit, offset, details, topics)
        else:
            dates, params = self._dates("c.date", since, until)
            listed = self._page("claims c", f"c.speaker = ?{dates}", [found, *params], "c.date DESC", limit,
                                offset, details, topics)
        return self._listing(listed) if details else listed

    def topic_claims(self, topic: str, since: str | None = None, until: str | None = None,
                     limit: int | None = 25, offset: int = 0, details: bool = False,
                     topics: bool = True) -> list:
        """The IRIs of one topic's claims, oldest first, undated last (queries/topic-claims.rq);
        ``details``: a ``Listing`` of the claims in place of their IRIs (without topics unless ``topics``)."""
        found = self._id(topic)
        if found is None:
            return self._listing([]) if details else []
        offset = max(int(offset), 0)
        source = "claim_topics t CROSS JOIN claims c ON c.id = t.id"
        dates, params = self._dates("t.date", since, until)
        with self._transaction():
            out = self._page(source, f"t.topic = ? AND t.date > ''{dates}", [found, *params], "t.date",
                             limit, offset, details, topics)
            if not (since or until or (limit is not None and len(out) >= limit)):
                dated = self._db.execute("SELECT COUNT(*) FROM claim_topics WHERE topic = ? AND date > ''",
                                         (found,)).fetchone()[0]
                rest = None if limit is None else limit - len(out)
                out += self._page(source, "t.topic = ? AND t.date = ''", [found], "t.date", rest,
                                  max(offset - dated, 0), details, topics)
        return self._listing(out) if details else out

    def latest_claims(self, limit: int = 10) -> list[str]:
        """The IRIs of the latest dated claims with a speaker, newest first (queries/latest-claims.rq)."""
        return self._page("claims c", "c.date > '' AND c.speaker IS NOT NULL", [], "c.date DESC", limit, 0)

    def _terms(self, ids: Iterable[int]) -> dict[int, tuple[str, str | None]]:
        ids = list(ids)
        out = {}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            out.update({i: (iri, label) for i, iri, label in self._db.execute(
                f"SELECT id, iri, label FROM terms WHERE id IN ({','.join('?' * len(part))})", part)})
        return out


class BulkWriter:
    """Writes many documents in one transaction; commits on leaving the ``with`` block.

    After ``clear()`` the rows go in without their ordered indexes and
    without counting, document by document: on leaving the block the indexes
    are made (one sort each) and the counts computed from the rows (one
    GROUP BY each), which is what makes a rebuild of a million claims
    minutes rather than hours.  Without ``clear()`` each document is counted
    as ``replace_document`` counts it.
    """

    def __init__(self, index: SearchIndex):
        self.index = index
        self._cache: dict = {}
        self._cleared = False

    def __enter__(self) -> "BulkWriter":
        self.index._db.execute("BEGIN")
        return self

    def commit(self) -> None:
        """Commit what is written so far and go on in a new transaction."""
        self._finish()
        self.index._db.execute("COMMIT")
        self.index._db.execute("BEGIN")

    def add(self, graph_iri: str, rows: list[Row], labels: Mapping[str, str | None],
            resources: tuple[int, int] = (0, 0)) -> None:
        self.index._replace(str(graph_iri), rows, labels, self._cache, resources, tally=not self._cleared)

    def clear(self) -> None:
        db = self.index._db
        db.execute("INSERT INTO claims_fts(claims_fts) VALUES ('delete-all')")
        for name in _BROWSE_INDEXES:
            db.execute(f"DROP INDEX IF EXISTS {name}")
        for table in ("claims", "claim_text", "claim_topics", "documents", "terms", *COUNT_TABLES):
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        self._cache.clear()
        self._cleared = True

    def set_complete(self, complete: bool) -> None:
        self.index._db.execute("INSERT INTO meta VALUES ('complete', ?) ON CONFLICT(key) "
                               "DO UPDATE SET value = excluded.value", ("1" if complete else "0",))

    def _finish(self) -> None:
        if self._cleared:
            db = self.index._db
            _create_browse_indexes(db)
            for table in COUNT_TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            for table, select in _recount_sql().items():
                db.execute(f"INSERT INTO {table} {select}")  # noqa: S608 - fixed SQL
            self._cleared = False

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self._finish()
            self.index._db.execute("COMMIT")
        else:
            self.index._db.execute("ROLLBACK")


def _recount_sql() -> dict[str, str]:
    """The counts of every table of COUNT_TABLES as one SELECT each over the rows (what ``_tally`` keeps)."""
    return {
        "speaker_counts": "SELECT speaker, COUNT(*) FROM claims WHERE speaker IS NOT NULL GROUP BY speaker",
        "topic_counts": "SELECT topic, COUNT(*) FROM claim_topics GROUP BY topic",
        "topic_speaker_counts": "SELECT topic, speaker, COUNT(*) FROM claim_topics WHERE speaker IS NOT NULL "
                                "GROUP BY topic, speaker",
        "month_counts": "SELECT COALESCE(c.speaker, 0), COALESCE(t.topic, 0), substr(c.date, 1, 7), COUNT(*) "
                        "FROM claims c LEFT JOIN claim_topics t ON t.id = c.id WHERE length(c.date) >= 7 "
                        "GROUP BY 1, 2, 3",
        "totals": "SELECT 'claims', COUNT(*) FROM claims UNION ALL SELECT 'documents', COALESCE(SUM(entities), 0) "
                  "FROM documents UNION ALL SELECT 'posts', COALESCE(SUM(posts), 0) FROM documents",
    }


def count_differences(index: SearchIndex) -> list[str]:
    """How the kept counts differ from counts made afresh from the rows, one line per table that differs."""
    out = []
    db = index._db
    with index._transaction():
        for table, select in _recount_sql().items():
            # a total of 0 is the same as none
            kept = sorted(r for r in db.execute(f"SELECT * FROM {table}") if r[-1])  # noqa: S608 - fixed names
            fresh = sorted(r for r in db.execute(select) if r[-1])
            if kept != fresh:
                extra, missing = set(kept) - set(fresh), set(fresh) - set(kept)
                out.append(f"counts {table}: {len(extra)} row(s) kept that the claims do not give, "
                           f"{len(missing)} row(s) the claims give that are not kept")
    return out


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
    return out + count_differences(index)


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
                graph = read(name)
                rows, labels = rows_of(graph, lookup)
                writer.add(key, rows, labels, resources_of(graph))
            except Exception as exc:  # noqa: BLE001 - one document must not cost the rest
                report.failures.append(" ".join(f"{key or 'default graph'}: {type(exc).__name__}: {exc}".split()))
            else:
                report.documents += 1
                report.claims += len(rows)
        writer.set_complete(not report.failures)
    return report
