"""The SPARQL page (/sparql/ui) and the search page (/search), through Flask's test client.

The store holds the hand-built documents of conftest.DOCS (five claims);
queries of the SPARQL page run on worker processes, as at the endpoint.
"""
from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from markupsafe import escape

from conftest import fill
from kb import queries
from kb.store import EmbeddedStore, open_store
from kb.web import create_app, explore
from live_server import app_with_pool

GRAPH_TYPES = ["text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"]
CLAIMS = "PREFIX schema: <https://schema.org/> SELECT ?claim ?text WHERE { ?claim schema:text ?text } ORDER BY ?text"


@pytest.fixture(scope="module")
def app(tmp_path_factory, ontology, new_store):
    store_dir = new_store("explore")
    with open_store(store_dir) as store:
        fill(store, ontology)
    with app_with_pool({"KB_STORE": str(store_dir), "TESTING": True, "QUERY_WORKERS": 1,
                        "QUERY_TIMEOUT": 30}) as app:
        yield app


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def page(client, path: str, status: int = 200, **params) -> str:
    response = client.get(path + ("?" + urlencode(params) if params else ""))
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def links(text: str, cls: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(rf'<a href="([^"]*)"[^>]*class="{cls}"', text)]


# ---------------------------------------------------------------- the SPARQL page

def test_the_examples_are_the_named_queries(client):
    text = page(client, "/sparql/ui")
    for name in queries.query_names():
        summary = queries.load_query(name).summary
        assert re.search(rf'<option value="{name}"[^>]*>{re.escape(escape(name) + ": " + escape(summary))}</option>', text)
        assert f'/sparql/ui?example={name}"' in text  # a link for each: works without JS
    assert "<textarea" in text and 'method="get"' in text
    assert 'id="results"' not in text  # nothing run yet


def test_an_example_link_fills_the_textarea_and_runs(client):
    text = page(client, "/sparql/ui", example="claims")
    assert escape(queries.load_query("claims").text) in text
    assert re.search(r'<option value="claims"[^>]* selected>', text)
    assert text.count('<tr><td>') == 6  # conftest.DOCS: five claims, one with two topics


def test_a_select_is_a_table_with_its_downloads(client):
    text = page(client, "/sparql/ui", query=CLAIMS)
    assert "<th>claim</th><th>text</th>" in text
    assert "5 rows" in text
    assert "No comment on that" in text
    assert 'href="/claim/' not in text  # the claims of conftest are document IRIs with a fragment…
    assert 'href="/document/001_lavrov.txt#claim-0"' in text  # …and link to this server
    downloads = links(text, "download")
    assert [parse_qs(urlsplit(u).query)["format"] for u in downloads] == [["json"], ["xml"], ["csv"], ["tsv"]]
    for url in downloads:
        assert urlsplit(url).path == "/sparql"
        assert parse_qs(urlsplit(url).query)["query"] == [CLAIMS]
        assert client.get(url).status_code == 200
    rows = list(csv.reader(io.StringIO(client.get(downloads[2]).get_data(as_text=True))))
    assert len(rows) == 6


def test_construct_and_ask_get_their_own_downloads(client):
    construct = queries.load_query("export-claims").text
    text = page(client, "/sparql/ui", query=construct)
    assert "<th>subject</th><th>predicate</th><th>object</th>" in text
    formats = [parse_qs(urlsplit(u).query)["format"][0] for u in links(text, "download")]
    assert formats == ["turtle", "nt", "jsonld", "rdfxml"]
    for url, media_type in zip(links(text, "download"), GRAPH_TYPES):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == media_type
    text = page(client, "/sparql/ui", query="ASK { ?s ?p ?o }")
    assert '<p class="boolean">true</p>' in text
    assert [parse_qs(urlsplit(u).query)["format"][0] for u in links(text, "download")] == ["json", "xml"]
    assert all(client.get(u).status_code == 200 for u in links(text, "download"))


@pytest.mark.parametrize("query, message", [
    ("SELECT ?s WHERE { ?s ?p }", "not a valid SPARQL query"),
    ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE is not allowed"),
])
def test_errors_are_a_message_not_a_500(client, query, message):
    text = page(client, "/sparql/ui", status=400, query=query)
    assert 'class="error"' in text and message in text
    assert "download" not in text.split('id="results"')[1]
    assert escape(query) in text  # the query stays in the textarea, to be fixed


def test_a_long_query_and_a_time_out_are_messages(app):
    app.config.update(MAX_QUERY_LENGTH=50)
    try:
        text = page(app.test_client(), "/sparql/ui", status=413, query=CLAIMS)
    finally:
        app.config.update(MAX_QUERY_LENGTH=20_000)
    assert "longer than 50 characters" in text
    app.config.update(QUERY_TIMEOUT=0.5)
    try:
        heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"
        text = page(app.test_client(), "/sparql/ui", query=heavy)
    finally:
        app.config.update(QUERY_TIMEOUT=30)
    assert "was stopped" in text


def test_the_load_button_works_without_javascript(client):
    text = page(client, "/sparql/ui", example="speakers", load="1", query="ASK { ?s ?p ?o }")
    assert escape(queries.load_query("speakers").text) in text
    assert '<p class="boolean">' not in text


# ---------------------------------------------------------------- the search page

def search(client, **params):
    return client.get("/search?" + urlencode(params))


def test_search_finds_the_words_and_marks_them(client):
    text = page(client, "/search", q="REFORM")
    assert "1 claim" in text
    assert "The UN needs <mark>reform</mark>" in text
    assert 'href="/speaker/maria-zakharova"' in text
    assert 'href="/document/002_zakharova.txt#claim-0"' in text
    assert page(client, "/search").count('class="hit"') == 0  # no words, no search


def test_facets_count_the_results_and_add_a_filter(client):
    text = page(client, "/search", q="s")  # words starting with s: four claims of conftest.DOCS
    assert "4 claims" in text
    speakers = re.search(r'data-facet="speaker">(.*?)</section>', text, re.S).group(1)
    assert re.search(r'/search\?q=s&amp;speaker=sergey-lavrov">Sergey Lavrov</a> <span class="count">3<', speakers)
    years = re.search(r'data-facet="year">(.*?)</section>', text, re.S).group(1)
    assert re.findall(r">(\d{4})</a> <span class=\"count\">(\d+)<", years) == [("2025", "3"), ("2024", "1")]
    kinds = re.search(r'data-facet="kind">(.*?)</section>', text, re.S).group(1)
    assert re.findall(r'kind=(\w+)">', kinds) == ["direct", "indirect"]
    filtered = page(client, "/search", q="s", speaker="sergey-lavrov", topic="istanbul-talks")
    assert "1 claim" in filtered and "Istanbul" in filtered
    assert "<strong>Sergey Lavrov</strong>" in filtered  # the chosen filter is no link
    assert page(client, "/search", q="s", year="2024").count('class="hit"') == 1
    assert page(client, "/search", q="s", kind="indirect").count('class="hit"') == 2
    assert page(client, "/search", q="s", topic="no-such-topic").count('class="hit"') == 0
    # filters alone are a view too: every claim of the speaker
    assert page(client, "/search", speaker="sergey-lavrov").count('class="hit"') == 3


def test_search_pages(client, monkeypatch):
    monkeypatch.setattr(explore, "PAGE_SIZE", 3)
    first = page(client, "/search", q="t")  # The, treaty, talks, that, the: four claims
    assert first.count('class="hit"') == 3 and "page 1 of 2" in first
    assert 'href="/search?q=t&amp;page=2" rel="next"' in first
    last = page(client, "/search", q="t", page="2")
    assert last.count('class="hit"') == 1 and 'rel="prev"' in last and 'rel="next"' not in last
    for wild in ("999999999999", "-5", "x"):  # clamped, never an error
        assert page(client, "/search", q="t", page=wild).count('class="hit"') in (1, 3)
    data = search(client, q="t", page="2", format="json").get_json()
    assert data["page"] == 2 and data["pages"] == 2 and len(data["results"]) == 1
    # without a page, the data formats export the whole view, every page of it
    everything = search(client, q="t", format="json").get_json()
    assert len(everything["results"]) == everything["total"] == 4
    rows = list(csv.reader(io.StringIO(search(client, q="t", format="csv").get_data(as_text=True))))
    assert len(rows) == 1 + 4
    assert 'href="/search?q=t&amp;format=json"' in first
    # the pages together are the whole view, in the same order, each claim once
    paged = [r["claim"] for n in (1, 2) for r in search(client, q="t", page=n, format="json").get_json()["results"]]
    assert paged == [r["claim"] for r in everything["results"]] and len(set(paged)) == 4


def test_the_page_says_when_the_facets_count_a_sample(client, monkeypatch):
    from kb import fts

    assert "The facets count the first" not in page(client, "/search", q="s")
    monkeypatch.setattr(fts.search, "FACET_SAMPLE", 2)
    text = page(client, "/search", q="s")
    assert "4 claims" in text and "The facets count the first 2 of the 4 claims." in text
    data = search(client, q="s", format="json").get_json()
    assert data["total"] == 4 and data["facetsCounted"] == 2 and len(data["results"]) == 4


def test_the_export_is_capped_by_max_rows(app):
    app.config.update(MAX_ROWS=2)
    try:
        response = app.test_client().get("/search?q=t&format=json")
    finally:
        app.config.update(MAX_ROWS=10_000)
    assert response.headers["KB-Results-Truncated"] == "max-rows=2"
    data = response.get_json()
    assert data["total"] == 4 and len(data["results"]) == 2


def test_the_view_as_turtle_is_the_claims_rdf(client, app):
    from rdflib import Graph, URIRef
    from rdflib.compare import isomorphic

    response = search(client, q="s", speaker="sergey-lavrov", format="ttl")
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    got = Graph().parse(data=response.get_data(as_text=True), format="turtle")
    claims = [URIRef(r["claim"]) for r in search(client, q="s", speaker="sergey-lavrov",
                                                  format="json").get_json()["results"]]
    assert len(claims) == 3
    assert set(got.subjects(URIRef("https://schema.org/author"))) == set(claims)
    with open_store(app.config["KB_STORE"], read_only=True) as store:
        expected = Graph()
        for claim in claims:  # each claim's triples and its topic assignments' (blank nodes in conftest)
            expected += store.query("CONSTRUCT { ?c ?p ?o . ?a ?ap ?ao } WHERE { { ?c ?p ?o } UNION "
                                    "{ ?c <https://w3id.org/kb/ns#topicAssignment> ?a . ?a ?ap ?ao } }",
                                    {"c": claim})
    assert isomorphic(got, expected)
    assert "format=ttl" in page(client, "/search", q="s")


def test_search_as_json_and_csv(client):
    data = search(client, q="reform", format="json").get_json()
    assert data["total"] == 1 and data["q"] == "reform"
    assert data["results"][0]["quote"] == "The UN needs reform\nof the Security Council"
    assert data["results"][0]["topics"] == ["https://kb.example.org/topic/un-reform"]
    assert {f["key"] for f in data["facets"]["topic"]} == {"un-reform"}
    response = search(client, q="reform", format="csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["claim", "speaker", "speakerName", "date", "kind", "topics", "quote", "document"]
    assert len(rows) == 2 and rows[1][2] == "Maria Zakharova"
    assert search(client, q="reform", format="pdf").status_code == 400
    html_answer = search(client, q="reform")
    assert "format=json" in html_answer.headers["Link"]


@pytest.mark.parametrize("evil", ['"} UNION {', '"}} UNION { ?s ?p ?o } #', "') || true || ('", "<script>x</script>",
                                  'NEAR(a b)', "*", "-x", "AND", '"', "^", "x OR", "{}:"])
def test_injection_strings_are_only_words(client, evil):
    text = page(client, "/search", q=evil)
    assert "0 claims" in text and 'class="hit"' not in text
    assert "<script>x</script>" not in text
    assert json.loads(search(client, q=evil, format="json").get_data())["total"] == 0


def test_a_store_without_a_search_index_says_to_run_kb_reindex(tmp_path, ontology):
    import os

    from kb import fts

    store_dir = tmp_path / "store"
    with EmbeddedStore.open(store_dir) as store:
        fill(store, ontology)
    for name in os.listdir(store_dir):  # a store written before there was an index
        if name.startswith(fts.FILE_NAME):
            os.remove(store_dir / name)
    app = create_app({"KB_STORE": str(store_dir), "TESTING": True, "QUERY_WORKERS": 1})
    client = app.test_client()
    text = page(client, "/search", q="reform")
    assert "no search index" in text and "<code>kb reindex</code>" in text and 'class="hit"' not in text
    response = search(client, q="reform", format="json")
    assert response.status_code == 503 and "kb reindex" in response.get_data(as_text=True)
    assert len(response.get_data(as_text=True).splitlines()) == 1
    assert str(tmp_path) not in text + response.get_data(as_text=True)  # no path of the server's disk
    with EmbeddedStore.open(store_dir) as store:
        store.reindex()
    text = page(client, "/search", q="reform")
    assert "1 claim" in text and "kb reindex" not in text


def test_cyrillic_words_are_found_and_marked(tmp_path, ontology):
    from conftest import C, build_document

    store_dir = tmp_path / "store"
    with EmbeddedStore.open(store_dir) as store:
        store.set_ontology(ontology)
        store.replace_document(*build_document("ru.txt", [C("sergey-lavrov", "Лавров заявил о переговорах")]))
    client = create_app({"KB_STORE": str(store_dir), "TESTING": True, "QUERY_WORKERS": 1}).test_client()
    text = page(client, "/search", q="ЛАВРОВ перегов")
    assert "1 claim" in text
    assert "<mark>Лавров</mark> заявил о <mark>перегов</mark>орах" in text


def test_marking_follows_the_words_of_the_search():
    assert explore.marked("The UN needs reform", "un REF") == [
        ("The ", False), ("UN", True), (" needs ", False), ("ref", True), ("orm", False)]
    assert explore.marked("Sunday", "un") == [("Sunday", False)]  # words start with the text, not contain it
    assert explore.marked("x", '"} UNION {') == [("x", False)]


# ---------------------------------------------------------------- the CI script

def test_ci_runs_the_readme_test_command():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    command = re.search(r"Install kb with its test dependencies and run the tests:\s*```sh\n(.+?)\n```", readme).group(1)
    script = (root / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert script[-1] == command  # the last thing CI does is exactly what the README says
    assert "playwright install" not in "\n".join(script)  # Debian's Chromium, never Playwright's download

