"""The browse side of the side index (kb.fts): ordered indexes and counts kept at ingest.

Each count the index keeps (claims per speaker, per topic, per topic and
speaker, per month; the totals) is checked against the answer of the named
query that counts it in the store, on the seeds and on the hand-built DOCS
of conftest; the orders the pages take from the index against the orders of
the named queries; the counts kept through a replaced and a removed document
against the counts of a fresh ``kb reindex``; the pages, read from the
index, against the same pages read from SPARQL alone (the index marked
incomplete, as after an interrupted write); and the named queries that take
their lists and counts from the index (``#+ index``) against the same
queries run as they are written.
"""
from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner
from rdflib import Namespace, URIRef

from conftest import C, build_document, fill, iri, set_index_complete
from kb import config, fts, queries
from kb.cli import main
from kb.errors import QueryError
from kb.store import EmbeddedStore
from kb.web import create_app

KB = Namespace("https://w3id.org/kb/ns#")

pytestmark = pytest.mark.embedded_only(reason="the side index kept beside the embedded store")

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
RANGES = [(None, None), ("2025-01-01", None), (None, "2025-05-31"), ("2025-05-15", "2025-06-30"),
          ("2024-01-01", "2024-12-31")]


def kb(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def rows(store, name, use_index=False, **values) -> list[dict]:
    """The named query's rows; by default as written (SPARQL alone), the reference the index is checked on."""
    return queries.as_dicts(queries.run(store, queries.load_query(name), {k: v for k, v in values.items() if v},
                                        use_index=use_index))


@pytest.fixture(scope="module")
def seeds_dir(embedded_seeds):
    return embedded_seeds("browse")


@pytest.fixture
def seeds(seeds_dir):
    with EmbeddedStore.open(seeds_dir, read_only=True) as store:
        yield store


def counts_of(index: fts.SearchIndex) -> dict[str, list]:
    """Every count table of the index, as sorted rows with the speakers and topics as IRIs
    (what two indexes of one store agree on, whatever ids their terms got)."""
    db = index._db
    iris = {0: "", **dict(db.execute("SELECT id, iri FROM terms"))}
    out = {}
    for table in fts.COUNT_TABLES:
        cursor = db.execute(f"SELECT * FROM {table}")  # noqa: S608 - the index's own table names
        columns = [d[0] for d in cursor.description]
        out[table] = sorted(
            tuple(iris[v] if c in ("speaker", "topic") else v for c, v in zip(columns, row))
            for row in cursor if row[-1])
    return out


def assert_counts_are_sparqls(store) -> None:
    """Every count the index keeps equals the count of the named query that the pages ran before."""
    index = store.search_index()
    assert index.problem() is None
    stats = rows(store, "stats")[0] | rows(store, "date-range")[0]
    assert index.totals() == stats
    speakers = {r["speaker"]: int(r["claims"]) for r in rows(store, "speaker-list") if int(r["claims"])}
    assert index.speaker_counts() == speakers and speakers
    topics = {r["topic"]: int(r["claims"]) for r in rows(store, "topic-list") if int(r["claims"])}
    assert index.topic_counts() == topics and topics
    for speaker in speakers:
        expected = sorted((r["month"], r["topic"], int(r["claims"]))
                          for r in rows(store, "speaker-timeline", speaker=speaker))
        assert sorted((m, t or "", n) for m, t, n in index.speaker_months(speaker)) == expected, speaker
    for topic in topics:
        for since, until in RANGES:
            expected = sorted((r["speaker"], int(r["claims"]))
                              for r in rows(store, "topic-speakers", topic=topic, **{"from": since, "to": until}))
            assert sorted((s, n) for s, _, n in index.topic_speakers(topic, since, until)) == expected
            expected = sorted((r["month"], r["speaker"], int(r["claims"]))
                              for r in rows(store, "topic-timeline", topic=topic, **{"from": since, "to": until}))
            assert sorted(index.topic_months(topic, since, until)) == expected, (topic, since, until)
    assert not fts.count_differences(index)


def assert_orders_are_sparqls(store) -> None:
    """The claims the index lists for a page, in its order, are the named query's, page by page."""
    index = store.search_index()
    assert index.latest_claims(10) == [r["claim"] for r in rows(store, "latest-claims")]
    speakers = index.speaker_counts()
    topics = sorted(index.topic_counts())
    for speaker in speakers:
        for since, until in RANGES:
            dates = {"from": since, "to": until}
            expected = [r["claim"] for r in rows(store, "speaker-claims", speaker=speaker, **dates)]
            assert index.speaker_claims(speaker, since=since, until=until, limit=None) == expected
            for offset in range(0, len(expected) + 1, 3):  # pages across documents and dates
                assert index.speaker_claims(speaker, since=since, until=until, limit=2,
                                            offset=offset) == expected[offset:offset + 2]
        for topic in topics:
            expected = [r["claim"] for r in rows(store, "speaker-topic-claims", speaker=speaker, topic=topic)]
            assert index.speaker_claims(speaker, topic, limit=None) == expected
    for topic in topics:
        for since, until in RANGES:
            dates = {"from": since, "to": until}
            expected = [r["claim"] for r in rows(store, "topic-claims", topic=topic, **dates)]
            assert index.topic_claims(topic, since, until, limit=None) == expected
            for offset in range(0, len(expected) + 1, 2):  # pages across the dated and the undated claims
                assert index.topic_claims(topic, since, until, limit=3, offset=offset) == expected[offset:offset + 3]


# ---------------------------------------------------------------- counts and orders

def test_the_counts_kept_at_ingest_are_sparqls_on_the_seeds(seeds):
    assert_counts_are_sparqls(seeds)
    assert int(seeds.search_index().totals()["claims"]) > 50


def test_the_counts_kept_at_ingest_are_sparqls_on_hand_built_documents(filled_store):
    assert_counts_are_sparqls(filled_store)
    totals = filled_store.search_index().totals()
    assert (totals["claims"], totals["documents"], totals["posts"]) == ("5", "2", "2")
    assert (totals["first"], totals["last"]) == ("2024", "2025-06-02")


def test_the_orders_the_pages_read_are_the_named_queries_orders_on_the_seeds(seeds):
    assert_orders_are_sparqls(seeds)


def add_ties(store) -> None:
    """A document of month-only and undated claims, ties on the date broken by document, offset and IRI."""
    doc, g = build_document("003_ties.txt", [
        C("sergey-lavrov", "One", "2025-05-28", topics=("new-start",), start=50),
        C("sergey-lavrov", "Two", "2025-05-28", topics=("new-start",), start=10),
        C("sergey-lavrov", "Three", None, topics=("new-start",)),
        C("sergey-lavrov", "Four", "2025-05", topics=("new-start",)),
    ])
    store.replace_document(doc, g)


def test_the_orders_the_pages_read_are_the_named_queries_orders_on_hand_built_documents(filled_store):
    add_ties(filled_store)  # with the year-only claim of the filled store
    assert_orders_are_sparqls(filled_store)


def test_the_orders_hold_for_documents_written_in_another_order_than_their_graphs_sort(filled_store):
    """Claims of one speaker and topic on one date, and undated, in documents written in another
    order than their graph IRIs sort in, with ties on the offset: the index lists them as the named
    queries order them (date, then the document's graph, offset and IRI), page by page."""
    for name in ("009_z.txt", "004_m.txt", "007_a.txt", "005_b.txt"):
        doc, g = build_document(name, [
            C("sergey-lavrov", f"{name} {n}", date, topics=("new-start",), start=start)
            for n, (date, start) in enumerate([(None, 30), (None, 10), (None, 10), ("2025-05-28", 20),
                                               ("2025-05-28", 5), ("2025-05-28", 0), (None, 0)])])
        for n in (5, 6):  # two claims without an offset: first within their date and document
            g.remove((URIRef(f"{doc}#claim-{n}"), KB.startOffset, None))
        filled_store.replace_document(doc, g)
    speaker, topic = str(iri("speaker", "sergey-lavrov")), str(iri("topic", "new-start"))
    listed = filled_store.search_index().speaker_claims(speaker, limit=None)
    assert listed == [r["claim"] for r in rows(filled_store, "speaker-claims", speaker=speaker)]
    undated = [claim for claim in listed if claim[-1] in "0126"]
    assert [c.split("/")[-1] for c in undated[-16:]] == [  # by graph, offset, IRI: not by when written
        f"{name}#claim-{n}" for name in ("004_m.txt", "005_b.txt", "007_a.txt", "009_z.txt") for n in (6, 1, 2, 0)]
    assert topic in filled_store.search_index().topic_counts()
    assert_orders_are_sparqls(filled_store)


def test_counts_follow_a_replaced_and_a_removed_document_as_a_fresh_reindex_counts(store_dir, ontology):
    with EmbeddedStore.open(store_dir) as store:
        fill(store, ontology)
        # the same document with another speaker, other topics and dates, one claim fewer
        doc, g = build_document("001_lavrov.txt", [
            C("maria-zakharova", "The New START treaty expires in February", "2025-07-01",
              topics=("new-start", "un-reform")),
            C("dmitry-peskov", "No comment on that", "2025-05", topics=("istanbul-talks",)),
        ])
        store.replace_document(doc, g)
        assert_counts_are_sparqls(store)
        kept = counts_of(store.search_index())
        store.reindex()
        assert counts_of(store.search_index()) == kept
        # removed: the graph dropped by an update, the index told which graph changed
        gone = iri("document", "002_zakharova.txt")
        store.update(f"DROP GRAPH <{gone}>", changed=[str(gone)])
        assert_counts_are_sparqls(store)
        kept = counts_of(store.search_index())
        assert ("claims", 2) in kept["totals"] and ("documents", 1) in kept["totals"]
        store.reindex()
        assert counts_of(store.search_index()) == kept
    result = kb("reindex", "--check", "--store", store_dir)
    assert result.exit_code == 0, result.output


def test_kb_reindex_check_compares_the_counts(filled_store_dir):
    with sqlite3.connect(filled_store_dir / fts.FILE_NAME) as db:
        db.execute("UPDATE speaker_counts SET claims = claims + 1")
        db.execute("DELETE FROM month_counts")
    result = kb("reindex", "--check", "--store", filled_store_dir)
    assert result.exit_code == 1
    assert "counts speaker_counts: 3 row(s) kept that the claims do not give, 3 row(s)" in result.output
    assert "counts month_counts: 0 row(s) kept that the claims do not give" in result.output
    assert kb("reindex", "--store", filled_store_dir).exit_code == 0
    assert kb("reindex", "--check", "--store", filled_store_dir).exit_code == 0


def test_an_index_of_an_older_schema_is_reported_and_the_pages_answer_from_sparql(filled_store_dir):
    client = create_app({"KB_STORE": str(filled_store_dir), "TESTING": True}).test_client()
    before = client.get("/speakers?format=json").get_json()
    with sqlite3.connect(filled_store_dir / fts.FILE_NAME) as db:  # an index written before the counts
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    with EmbeddedStore.open(filled_store_dir, read_only=True) as store:
        with pytest.raises(fts.IndexMissing, match="another version.*kb reindex"):
            store.search_index()
    check = kb("reindex", "--check", "--store", filled_store_dir)
    assert check.exit_code == 1 and "another version" in check.output
    assert client.get("/speakers?format=json").get_json() == before
    assert client.get("/", headers={"Accept": BROWSER}).status_code == 200
    assert kb("reindex", "--store", filled_store_dir).exit_code == 0
    with EmbeddedStore.open(filled_store_dir, read_only=True) as store:
        assert store.search_index().problem() is None


# ---------------------------------------------------------------- the pages

def test_every_page_is_the_same_read_from_the_index_or_from_sparql(seeds_dir):
    client = create_app({"KB_STORE": str(seeds_dir), "TESTING": True}).test_client()
    base = config.base_iri()
    local = lambda iri_: "/" + iri_[len(base):]  # noqa: E731
    speakers = [r["speaker"] for r in client.get("/speakers?format=json").get_json()["rows"] if int(r["claims"])]
    topics = [r["topic"] for r in client.get("/topics?format=json").get_json()["rows"] if int(r["claims"])]
    assert speakers and topics
    urls = ["/", "/speakers", "/speakers?sort=count", "/topics", "/?format=json", "/speakers?format=csv",
            "/topics?format=json", "/topics.ttl", "/?format=ttl"]
    for speaker in speakers[:12]:
        urls += [local(speaker), f"{local(speaker)}?page=2", f"{local(speaker)}?from=2025-01&to=2025-06-30",
                 f"{local(speaker)}?topic={topics[0].rsplit('/', 1)[-1]}", f"{local(speaker)}?to=2024-12-31"]
    for topic in topics[:12]:
        urls += [local(topic), f"{local(topic)}?size=2&page=2", f"{local(topic)}?from=2025-02-01&to=2025-05",
                 f"{local(topic)}?size=1&page=3"]
    urls += ["/speaker/sergey-lavrov?from=not-a-date", "/topic/new-start?to=2025-13"]  # 400 either way

    def answers():
        out = {}
        for url in urls:
            response = client.get(url, headers={"Accept": BROWSER})
            out[url] = (response.status_code, response.get_data(as_text=True))
        return out

    from_index = answers()
    set_index_complete(seeds_dir, False)  # as after an interrupted write: the pages must not trust the index
    try:
        from_sparql = answers()
    finally:
        set_index_complete(seeds_dir, True)
    assert [u for u in urls if from_index[u] != from_sparql[u]] == []
    assert {status for status, _ in from_index.values()} == {200, 400}


def test_the_pages_read_their_counts_from_the_index_when_it_is_complete(filled_store_dir):
    client = create_app({"KB_STORE": str(filled_store_dir), "TESTING": True}).test_client()
    lavrov = str(iri("speaker", "sergey-lavrov"))

    def lavrovs_claims() -> str:
        found = client.get("/speakers?format=json").get_json()["rows"]
        return next(r["claims"] for r in found if r["speaker"] == lavrov)

    assert lavrovs_claims() == "3"
    with sqlite3.connect(filled_store_dir / fts.FILE_NAME) as db:  # a count no query of the store gives
        db.execute("UPDATE speaker_counts SET claims = 1000 WHERE speaker = (SELECT id FROM terms WHERE iri = ?)",
                   (lavrov,))
    assert lavrovs_claims() == "1000"
    set_index_complete(filled_store_dir, False)
    assert lavrovs_claims() == "3"


def test_a_listed_iri_is_written_as_a_term_never_as_query_text(filled_store):
    details = queries.load_query("claim-details").text
    claim = str(iri("document", "001_lavrov.txt")) + "#claim-0"
    found = queries.as_dicts(filled_store.query_listed(details, "claim", [URIRef(claim)]))
    assert [(r["claim"], r["date"], r["topics"]) for r in found] == [(claim, "2025-05-28", str(iri("topic", "new-start")))]
    assert filled_store.query_listed(details, "claim", []).rows == []
    with pytest.raises(ValueError):  # pyoxigraph refuses it as an IRI: it never reaches the query
        filled_store.query_listed(details, "claim", [URIRef("http://example.org/> } SERVICE <http://example.org/x> {")])
    with pytest.raises(QueryError, match="no line"):
        filled_store.query_listed(details, "speaker", [URIRef(claim)])


# ---------------------------------------------------------------- named queries with "#+ index"

INDEXED = [n for n in queries.query_names() if queries.load_query(n).index]


def test_the_browse_queries_name_their_index_lists():
    assert {"speaker-claims", "speaker-topic-claims", "topic-claims", "topic-list", "topics", "speakers"} <= set(INDEXED)


def indexed_cases(store) -> list[tuple[str, dict]]:
    """Every named query with an index header, with parameters that page across the dated and the
    undated claims, every date range and a filter on a topic."""
    index = store.search_index()
    speakers, topics = sorted(index.speaker_counts()), sorted(index.topic_counts())
    assert speakers and topics
    cases: list[tuple[str, dict]] = []
    for name in INDEXED:
        query = queries.load_query(name)
        given = {p.name for p in query.params}
        if not given & {"speaker", "topic"}:
            cases.append((name, {}))
            continue
        both = {"speaker", "topic"} <= given  # a speaker's claims on a topic: a few topics, fewer ranges
        for speaker in speakers if "speaker" in given else [None]:
            for topic in (topics[:3] if both else topics) if "topic" in given else [None]:
                for since, until in RANGES[:2] if both else RANGES:
                    values = {"speaker": speaker, "topic": topic, "from": since, "to": until}
                    cases.append((name, values))
                    cases += [(name, values | {"limit": "2", "offset": str(k)}) for k in (0, 1, 5)]
    return cases


def assert_indexed_queries_are_as_written(store) -> None:
    assert queries.side_index(store) is not None  # else both sides would be SPARQL
    empty = 0
    for name, values in indexed_cases(store):
        query, given = queries.load_query(name), {k: v for k, v in values.items() if v}
        indexed = queries.run(store, query, given, use_index=True)
        written = queries.run(store, query, given, use_index=False)
        assert (indexed.variables, indexed.rows) == (written.variables, written.rows), (name, values)
        empty += not written.rows
    assert empty  # some views hold no claim: the columns of an empty answer are the query's too


def test_the_named_queries_give_the_same_rows_from_the_index_as_written_on_the_seeds(seeds, monkeypatch):
    monkeypatch.setattr(queries, "INDEX_CHUNK", 7)  # every claim of a view, listed a few at a time
    assert_indexed_queries_are_as_written(seeds)


def test_the_named_queries_give_the_same_rows_from_the_index_as_written_on_hand_built_documents(filled_store):
    add_ties(filled_store)
    assert_indexed_queries_are_as_written(filled_store)


def test_the_named_queries_read_the_index_only_when_it_is_complete(filled_store_dir):
    lavrov = str(iri("speaker", "sergey-lavrov"))

    def lavrovs_claims(*flags) -> str:
        result = kb("query", "speakers", "--format", "csv", "--store", filled_store_dir, *flags)
        assert result.exit_code == 0, result.output
        return next(line.split(",")[2] for line in result.output.splitlines() if line.startswith(lavrov + ","))

    assert lavrovs_claims() == lavrovs_claims("--no-index") == "3"
    with sqlite3.connect(filled_store_dir / fts.FILE_NAME) as db:  # a count no query of the store gives
        db.execute("UPDATE speaker_counts SET claims = 1000 WHERE speaker = (SELECT id FROM terms WHERE iri = ?)",
                   (lavrov,))
    assert (lavrovs_claims(), lavrovs_claims("--no-index")) == ("1000", "3")
    set_index_complete(filled_store_dir, False)
    assert lavrovs_claims() == "3"


def test_a_page_of_a_named_query_is_cut_where_the_query_says(filled_store):
    everything = rows(filled_store, "speaker-claims", speaker="sergey-lavrov")
    assert len(everything) == 3
    for use_index in (False, True):
        assert rows(filled_store, "speaker-claims", use_index, speaker="sergey-lavrov", limit="1", offset="1") \
            == everything[1:2]
        assert rows(filled_store, "speaker-claims", use_index, speaker="sergey-lavrov", offset="2") == everything[2:]


@pytest.mark.parametrize("header, body, message", [
    ("#+ index: claims-of-everyone ?claim", "# INDEX", "must be one of"),
    ("#+ index: topic-claims", "# INDEX", "must be one of"),
    ("#+ index: topic-claims ?claim ?other", "# INDEX", "fills 1 variable"),
    ("#+ index: topic-counts ?topic", "# INDEX BEGIN\n# INDEX END", "fills 2 variable"),
    ("#+ index: topic-claims ?claim", "", "no line '# INDEX'"),
    ("#+ index: topic-counts ?topic ?n", "# INDEX", "no lines '# INDEX BEGIN' and '# INDEX END'"),
])
def test_a_query_file_with_a_bad_index_header_is_refused_in_one_line(tmp_path, header, body, message):
    path = tmp_path / "mine.rq"
    path.write_text(f"{header}\nSELECT ?claim WHERE {{\n{body}\n?claim ?p ?o }}\n", encoding="utf-8")
    with pytest.raises(QueryError, match=message) as caught:
        queries.load_query(str(path))
    assert "\n" not in str(caught.value) and "mine.rq" in str(caught.value)
