"""The side index of one store: opening it, writing a document's rows and counts in one
transaction, and what every reader shares (``SearchIndex``; searching and browsing are its parts
in kb.fts.search and kb.fts.browse).

Keeping it in step: ``kb.store.EmbeddedStore`` calls ``replace_document``
right after each write of a document graph has committed, so each document's
rows are replaced in one SQLite transaction.  Before the store's transaction
the document is marked ``pending`` (``begin_document``); the mark goes with
the transaction that writes the rows.  A crash between the two commits thus
leaves the document marked, ``stale()`` says so (the search page checks it:
one indexed lookup), and ``kb reindex`` (which rebuilds everything from the
store) is the repair.  Replacing a document subtracts its old rows from the
counts and adds its new ones in the same transaction (``_tally``); a rebuild
(``BulkWriter``) counts once at the end.
"""
from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from rdflib import Graph

from ..errors import KbError
from .browse import Browsing
from .rows import Lookup, Row, fingerprint, key_of, resources_of, row_order, rows_of
from .schema import (BROWSE_INDEXES, COUNT_TABLES, FILE_NAME, SCHEMA_VERSION, create, create_browse_indexes,
                     recount_sql)
from .search import Searching, facet_token


class IndexMissing(KbError):
    """The store has no search index (a store written before it existed), or an old one.

    ``reason`` is the message without the file's path, for pages served to the network.
    """

    def __init__(self, where, reason: str):
        super().__init__(f"{where}: {reason}")
        self.reason = reason


class SearchIndex(Searching, Browsing):
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
                create(db)
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
        for row in sorted(rows, key=row_order):  # ids in this order, whoever made the rows (browse._page)
            speaker = self._term(row.speaker, labels.get(row.speaker), cache) if row.speaker else None
            topics = sorted({self._term(t, labels.get(t), cache) for t in row.topics})
            facets = " ".join([*([facet_token("speaker", speaker)] if speaker is not None else []),
                               *([facet_token("year", row.year)] if row.year is not None else []),
                               *([facet_token("kind", row.kind)] if row.kind else []),
                               *(facet_token("topic", t) for t in topics)])
            rowid = db.execute("INSERT INTO claims(doc, speaker, year, kind, date, start, graph) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)",
                               (doc, speaker, row.year, row.kind, row.date, row.start, graph)).lastrowid
            db.execute("INSERT INTO claim_text(id, claim, words, facets, date, start, plain, document, kind_term, "
                       "topics) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (rowid, row.claim, row.words, facets, row.date, row.start, int(row.plain),
                        None if row.document == graph else row.document, row.kind_term, " ".join(map(str, topics))))
            db.execute("INSERT INTO claims_fts(rowid, words, facets) VALUES (?, ?, ?)", (rowid, row.words, facets))
            db.executemany("INSERT INTO claim_topics(id, topic, speaker, date, graph, start) VALUES (?, ?, ?, ?, ?, ?)",
                           [(rowid, t, speaker, row.date, graph, row.start) for t in topics])
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
        for name in BROWSE_INDEXES:
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
            create_browse_indexes(db)
            for table in COUNT_TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            for table, select in recount_sql().items():
                db.execute(f"INSERT INTO {table} {select}")  # noqa: S608 - fixed SQL
            self._cleared = False

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self._finish()
            self.index._db.execute("COMMIT")
        else:
            self.index._db.execute("ROLLBACK")
