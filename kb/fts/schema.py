"""The side index's tables: their SQL, its version, and the counts as one SELECT each.

An index of another version is emptied and made again when opened for
writing (``create``), marked incomplete until ``kb reindex`` fills it.
"""
from __future__ import annotations

import sqlite3

FILE_NAME = "kb-search.sqlite"
DEFAULT_GRAPH = ""  # the key of the store's default graph (kb load of triples) among the documents
SCHEMA_VERSION = "7"  # 3: dates on the narrow rows, ordered browse indexes, counts; 4: a view's row of a claim;
# 5: a claim's topics on its wide row; 6: its document's graph on its narrow rows, in the ordered indexes;
# 7: its offset on its topics' rows too

SCHEMA_SQL = """
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
-- compared as SPARQL compares the strings; graph the document's graph IRI (documents.graph),
-- start the claim's kb:startOffset.  The order of a list is (date, graph, start, claim IRI); the
-- ordered indexes hold (date, graph, start) and then the id, and the ids of one document follow
-- its claims' offsets and IRIs (_replace writes them in row_order): an index gives a list's
-- whole order, so a page skips the claims before it in the index, without sorting or reading
-- them (a channel's undated claims are all on one date: hundreds of thousands of them)
CREATE TABLE IF NOT EXISTS claims(
    id INTEGER PRIMARY KEY,
    doc INTEGER NOT NULL,
    speaker INTEGER,
    year INTEGER,
    kind TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL DEFAULT '',
    start INTEGER,
    graph TEXT NOT NULL DEFAULT '');
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
-- speaker, date, graph and start repeated from the claim's row, for the ordered indexes of a topic's claims
CREATE TABLE IF NOT EXISTS claim_topics(
    id INTEGER NOT NULL,
    topic INTEGER NOT NULL,
    speaker INTEGER,
    date TEXT NOT NULL DEFAULT '',
    graph TEXT NOT NULL DEFAULT '',
    start INTEGER,
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
# (in the order the lists are read: a speaker's claims newest first, a topic's oldest first,
# each date's claims by document graph and offset, then id)
BROWSE_INDEXES = {
    "claims_speaker_date": "claims(speaker, date DESC, graph, start)",
    "claims_date": "claims(date)",
    "claim_topics_topic_date": "claim_topics(topic, date, graph, start)",
    "claim_topics_topic_speaker_date": "claim_topics(topic, speaker, date DESC, graph, start)",
}
COUNT_TABLES = ("speaker_counts", "topic_counts", "topic_speaker_counts", "month_counts", "totals")


def create_browse_indexes(db: sqlite3.Connection) -> None:
    for name, on in BROWSE_INDEXES.items():
        db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")


def create(db: sqlite3.Connection) -> None:
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
            db.executescript(SCHEMA_SQL)
            create_browse_indexes(db)
            db.execute("INSERT INTO meta VALUES ('schema', ?), ('complete', '0')", (SCHEMA_VERSION,))
            return
    db.executescript(SCHEMA_SQL)
    create_browse_indexes(db)
    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))


def recount_sql() -> dict[str, str]:
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
