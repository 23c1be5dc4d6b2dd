"""The search of a store on a SPARQL server (kb.remote_search) against the full-text index (kb.fts).

The seeds, and a document of words that fold (accents, decomposed accents,
Cyrillic, capitals), go into an embedded store, whose SQLite index is the
reference, and into the store of the backend under test; kb.remote_search
answers the same searches from the latter (on the embedded backend, through
the embedded store's SPARQL: the same queries, Oxigraph's own engine).  Both
must give the same hits, total and facets.
"""
from __future__ import annotations

import json
from dataclasses import astuple
from pathlib import Path
from urllib.parse import urlencode

import pytest

from conftest import C, build_document
from rdflib import Literal

from kb import fts, pipeline, queries
from kb.remote_search import PARTIAL, RemoteSearch, _with_pattern, pattern
from kb.store import EmbeddedStore, check_query, open_store, to_ox
from kb.web import create_app

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
FOLDING = [
    C("sergey-lavrov", "Türkiye hosts the talks", "2025-03-01", topics=("istanbul-talks",)),
    C("sergey-lavrov", "Tu\u0308rkiye again, and the ÉLYSÉE", "2025-03-02"),
    C("maria-zakharova", "Лавров сказал: переговоры в Стамбуле", "2024-11-05", kind="indirect"),
    C("dmitry-peskov", "Accord-017 is signed; naïve hopes", None),
]
SEARCHES = [
    ("reform", {}), ("REFORM", {}), ("UN reform", {}), ("Lavrov", {}), ("s", {}), ("t", {}), ("the", {}),
    ("sanction", {}), ("new start", {}), ("New START treaty", {}), ("nuclear weap", {}), ("ukr", {}),
    ("Turkiye", {}), ("türkiye", {}), ("TURKIYE again", {}), ("elysee", {}), ("naive", {}),
    ("лавров", {}), ("ЛАВРОВ сказал", {}), ("переговор", {}), ("accord-017", {}), ("accord 017", {}),
    ("zzzzqqq", {}), ("\u19b0", {}), ("reform \u19b0", {}), ('"} UNION {', {}), ("NEAR(a b)", {}), ("*", {}), ("-x", {}), ("AND", {}),
    ("", {"speaker": "sergey-lavrov"}), ("", {"topic": "un-reform"}), ("", {"year": "2025"}),
    ("", {"kind": "indirect"}), ("", {"kind": "Direct"}), ("", {"year": "02024"}),
    ("s", {"speaker": "sergey-lavrov"}), ("s", {"topic": "istanbul-talks"}), ("the", {"year": "2025", "kind": "direct"}),
    ("the", {"speaker": "https://kb.example.org/speaker/maria-zakharova"}), ("s", {"speaker": "no-such-speaker"}),
    ("s", {"year": "not a year"}), ("s", {"kind": "!!"}), ("", {}), ("   ", {}),
]


def _fill(store) -> None:
    report = pipeline.ingest([SEEDS], store, progress=False, jobs=1)
    assert report.ok and len(report.documents) == 5
    doc, graph = build_document("folding.txt", FOLDING)
    store.replace_document(doc, graph)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The SQLite index of an embedded store holding the seeds and FOLDING."""
    with EmbeddedStore.open(tmp_path_factory.mktemp("reference") / "store") as store:
        _fill(store)
        yield store.search_index()


@pytest.fixture(scope="module")
def backend_store(new_store):
    """The backend under test holding the same: a directory or a SPARQL server's URL."""
    where = new_store("remote-search")
    with open_store(where) as store:
        _fill(store)
    return where


@pytest.fixture(scope="module")
def searched(backend_store):
    with open_store(backend_store, read_only=True) as store:
        yield RemoteSearch(store)


def _same(a: fts.Results, b: fts.Results) -> None:
    assert a.total == b.total
    assert a.facets_over == b.facets_over
    assert a.facets == b.facets
    # the order of documents is the order of ingest in the index, of graph IRIs on a server
    assert sorted(astuple(h) for h in a.hits) == sorted(astuple(h) for h in b.hits)


@pytest.mark.parametrize("text, filters", SEARCHES, ids=[f"{t!r} {f}" for t, f in SEARCHES])
def test_the_same_hits_total_and_facets_as_the_index(reference, searched, text, filters):
    expected = reference.search(text, filters, limit=None)
    got = searched.search(text, filters, limit=None)
    _same(got, expected)
    assert got.warning is None


def test_the_searches_find_something_worth_comparing(reference):
    found = {text: reference.search(text, {}, limit=None).total for text, filters in SEARCHES if not filters}
    assert found["s"] > 20 and found["reform"] >= 3 and found["zzzzqqq"] == 0
    for folded in ("Turkiye", "elysee", "naive", "лавров", "accord-017"):
        assert found[folded] >= 1, folded
    assert found["Turkiye"] == found["türkiye"] >= 2  # the composed and the decomposed ü of FOLDING at least
    assert found["elysee"] == 1


def test_pages_are_slices_of_the_whole_in_document_order(searched):
    everything = searched.search("the", {}, limit=None)
    assert everything.total > 10
    pages = [h.claim for n in range(0, everything.total, 7) for h in searched.search("the", {}, limit=7, offset=n).hits]
    assert pages == [h.claim for h in everything.hits]
    graphs = [h.graph for h in everything.hits]
    assert graphs == sorted(graphs)
    assert searched.search("the", {}, limit=5, offset=10**9).hits == []


def test_the_facets_count_a_sample_as_the_index_does(reference, searched, monkeypatch):
    monkeypatch.setattr(fts.search, "FACET_SAMPLE", 3)
    got, expected = searched.search("s", {}, limit=None), reference.search("s", {}, limit=None)
    assert got.facets_over == expected.facets_over == 3 and got.total == expected.total > 3
    assert sum(v.count for v in got.facets["kind"]) == 3


def test_a_search_past_the_cap_on_rows_says_it_is_partial(backend_store, reference):
    with open_store(backend_store, read_only=True) as store:
        capped = RemoteSearch(store, max_rows=5).search("s", {}, limit=None)
    assert capped.warning == PARTIAL.format(rows=5)
    whole = reference.search("s", {}, limit=None)
    assert 0 < capped.total <= 5 < whole.total
    assert {h.claim for h in capped.hits} < {h.claim for h in whole.hits}


def test_the_pattern_is_a_literal_of_folded_classes():
    regex = pattern("Türkiye")
    assert regex.startswith("[") and "ü" in regex and "Ü" in regex and "u" in regex
    # written as a term by pyoxigraph: whatever it holds stays one string literal
    hostile = '") || true) } } SELECT * { ?s ?p ?o } #\\'
    text = _with_pattern(queries.load_query("search-candidates").text, Literal(hostile))
    check_query(text)
    assert text.count("REGEX(") == 1 and "SELECT * { ?s" not in text.replace(str(to_ox(Literal(hostile))), "")
    assert pattern('"} UNION { ?s ?p ?o } #') is not None  # words only: 'union', 's', 'p', 'o'
    assert pattern("* - ^") is None


def test_the_page_says_where_the_search_runs(backend_store, backend):
    app = create_app({"KB_STORE": str(backend_store), "TESTING": True, "QUERY_WORKERS": 1})
    client = app.test_client()
    text = client.get("/search?" + urlencode({"q": "elysee"})).get_data(as_text=True)
    assert "1 claim" in text and "ÉLYSÉE" in text
    data = json.loads(client.get("/search?" + urlencode({"q": "elysee", "format": "json"})).get_data())
    assert data["total"] == 1 and data["results"][0]["speaker"].endswith("/sergey-lavrov")
    on_server = "runs on the SPARQL server" in text
    assert on_server == (backend == "remote")
    assert ("warning" in data) == on_server
    if on_server:
        assert "built by <code>kb reindex</code>." in text
