"""The SPARQL endpoint with real clients (SPARQLWrapper, rdflib's SPARQLStore) against a real ``kb serve``.

The store holds the seeds, ingested with kb.pipeline.ingest; the answers of
the endpoint must be those of EmbeddedStore on the same store.  Then the
refusals (400, 406, 403, SERVICE), the time-out, CORS and the service
description; the row cap, reading a store that is written meanwhile and
updates (allowed, on a copy of the store) go through the app in-process, on
worker processes all the same.
"""
from __future__ import annotations

import shutil
import socket
import threading
import time
from urllib.parse import urlencode

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import Namespace
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CONSTRUCT as CONSTRUCT_FORM, JSON, SELECT as SELECT_FORM, TURTLE, SPARQLWrapper

from kb import queries
from kb.cli import main
from kb.store import EmbeddedStore, from_ox, open_store
from kb.web import create_app
from live_server import fetch, free_port, running_server, seed_store

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
TIMEOUT = 1.5  # seconds: the endpoint's query time-out in these tests
# a cross product of the store with itself four times over: far more than TIMEOUT to count
EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
SELECT = queries.load_query("claims").text
CONSTRUCT = queries.load_query("export-claims").text
ASK = "PREFIX schema: <https://schema.org/> ASK { ?claim a schema:Claim }"


@pytest.fixture(scope="module")
def seeds_store(tmp_path_factory, new_store):
    store_dir = seed_store(new_store("endpoint"))
    return store_dir


@pytest.fixture(scope="module")
def endpoint(seeds_store):
    with running_server(seeds_store, "--query-timeout", str(TIMEOUT)) as url:
        yield url


@pytest.fixture(scope="module")
def local(seeds_store):
    with open_store(seeds_store, read_only=True) as store:
        yield store




def get(endpoint: str, query: str, **params):
    accept = params.pop("accept", None)
    return fetch(f"{endpoint}?{urlencode({'query': query, **params})}",
                 headers={"Accept": accept} if accept else {})


def parse_rdf(body: bytes, media_type: str) -> Graph:
    """An answer as an rdflib graph, read by pyoxigraph (rdflib's JSON-LD and TriG parsers warn)."""
    graph = Graph()
    for quad in ox.parse(body, format=ox.RdfFormat.from_media_type(media_type)):
        graph.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
    return graph


def _term(cell: dict):
    if cell["type"] == "uri":
        return URIRef(cell["value"])
    if cell["type"] == "bnode":
        return BNode(cell["value"])
    return Literal(cell["value"], lang=cell.get("xml:lang"),
                   datatype=None if "xml:lang" in cell else cell.get("datatype"))


def _rows(variables, rows) -> list[tuple]:
    return sorted((tuple("" if t is None else t for t in row) for row in rows), key=repr)


# ---------------------------------------------------------------- real clients, same answers

def test_sparqlwrapper_select_is_what_the_store_answers(endpoint, local):
    client = SPARQLWrapper(endpoint, returnFormat=JSON)
    client.setQuery(SELECT)
    assert client.queryType == SELECT_FORM
    doc = client.queryAndConvert()
    expected = local.query(SELECT)
    assert doc["head"]["vars"] == expected.variables
    got = [tuple(_term(b[v]) if v in b else None for v in expected.variables)
           for b in doc["results"]["bindings"]]
    assert len(got) == len(expected.rows) > 100
    assert _rows(expected.variables, got) == _rows(expected.variables, expected.rows)


def test_sparqlwrapper_ask_and_construct(endpoint, local):
    client = SPARQLWrapper(endpoint, returnFormat=JSON)
    client.setQuery(ASK)
    assert client.queryAndConvert()["boolean"] is True is local.query(ASK)
    client = SPARQLWrapper(endpoint, returnFormat=TURTLE)
    client.setQuery(CONSTRUCT)
    # SPARQLWrapper guesses the query form with a regex that skips only every other
    # comment line, and takes 'ASK' in a word of a comment for the form
    client.queryType = CONSTRUCT_FORM
    graph = Graph().parse(data=client.queryAndConvert(), format="turtle")
    expected = local.query(CONSTRUCT)
    assert len(graph) == len(expected) > 100
    assert isomorphic(graph, expected)


def test_rdflib_sparqlstore_select_ask_construct(endpoint, local):
    remote = SPARQLStore(endpoint)
    try:
        result = remote.query(SELECT)
        expected = local.query(SELECT)
        assert [str(v) for v in result.vars] == expected.variables
        assert _rows(expected.variables, list(result)) == _rows(expected.variables, expected.rows)
        assert remote.query(ASK).askAnswer is True
        graph = remote.query(CONSTRUCT).graph
        assert isomorphic(graph, local.query(CONSTRUCT))
    finally:
        remote.close()


# ---------------------------------------------------------------- formats

@pytest.mark.parametrize("accept, media_type", [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("*/*", "application/sparql-results+json"),
])
def test_select_formats_by_accept(endpoint, accept, media_type):
    status, headers, body = get(endpoint, "SELECT ?s WHERE { ?s a <https://schema.org/Claim> } LIMIT 3",
                                accept=accept)
    assert status == 200
    assert headers["Content-Type"] == f"{media_type}; charset=utf-8"
    assert body


@pytest.mark.parametrize("fmt, media_type", [
    ("turtle", "text/turtle"),
    ("nt", "application/n-triples"),
    ("jsonld", "application/ld+json"),
    ("rdfxml", "application/rdf+xml"),
    ("trig", "application/trig"),
])
def test_construct_formats_by_format_parameter(endpoint, local, fmt, media_type):
    status, headers, body = get(endpoint, CONSTRUCT, format=fmt)
    assert status == 200
    assert headers["Content-Type"] == f"{media_type}; charset=utf-8"
    assert isomorphic(parse_rdf(body, media_type), local.query(CONSTRUCT))


def test_nothing_acceptable_is_406(endpoint):
    status, headers, body = get(endpoint, ASK, accept="image/png")
    assert status == 406
    assert b"no acceptable format" in body
    assert get(endpoint, CONSTRUCT, format="csv")[0] == 406


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize("query", ["SELECT ?s WHERE { ?s ?p ", "SELECT ?s WHERE {\n ?s ?p ?o .\n FILTER(\n }"])
def test_malformed_query_is_400_with_the_parsers_message(endpoint, query):
    status, headers, body = get(endpoint, query)
    assert status == 400
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert body.startswith(b"not a valid SPARQL query:") and b"col" in body
    assert body.endswith(b"\n") and body.count(b"\n") == 1  # one line, whatever the parser wrote


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer anything"}])
def test_update_is_403(endpoint, local, headers):
    before = local.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows
    status, _, body = fetch(endpoint, b"CLEAR ALL",
                            {"Content-Type": "application/sparql-update", **headers})
    assert status == 403 and b"read-only" in body
    status, _, _ = fetch(endpoint, urlencode({"update": "CLEAR ALL"}).encode(),
                         {"Content-Type": "application/x-www-form-urlencoded", **headers})
    assert status == 403
    assert local.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows == before


def test_service_is_refused_and_nothing_is_sent(endpoint):
    connections = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", free_port()))
        listener.listen()
        listener.settimeout(0.2)
        port = listener.getsockname()[1]

        def accept():
            try:
                connections.append(listener.accept()[0])
            except OSError:
                pass

        watcher = threading.Thread(target=accept)
        watcher.start()
        query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
        status, _, body = get(endpoint, query)
        watcher.join()
    for conn in connections:
        conn.close()
    assert status == 400 and b"SERVICE is not allowed" in body
    assert connections == []


def test_a_query_too_long_is_413(endpoint):
    status, _, body = fetch(endpoint, ("ASK {} #" + "x" * 30_000).encode(),
                            {"Content-Type": "application/sparql-query"})
    assert status == 413


def test_timeout_then_the_next_query_at_once(endpoint):
    started = time.monotonic()
    status, _, body = get(endpoint, EXPENSIVE)
    took = time.monotonic() - started
    assert status == 503 and b"ran longer than" in body
    assert TIMEOUT <= took < TIMEOUT + 2
    started = time.monotonic()
    status, _, body = get(endpoint, ASK, accept="application/sparql-results+json")
    assert status == 200 and b"true" in body
    assert time.monotonic() - started < 1


# ---------------------------------------------------------------- CORS, service description

def test_cors(endpoint):
    status, headers, _ = get(endpoint, ASK)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    status, headers, _ = fetch(endpoint, method="OPTIONS", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "content-type" in headers["Access-Control-Allow-Headers"].lower()


@pytest.mark.parametrize("accept, media_type", [
    (None, "text/turtle"), ("text/turtle", "text/turtle"), ("application/ld+json", "application/ld+json"),
    ("application/rdf+xml", "application/rdf+xml")])
def test_service_description(endpoint, accept, media_type):
    status, headers, body = fetch(endpoint, headers={"Accept": accept} if accept else {})
    assert status == 200
    assert headers["Content-Type"] == f"{media_type}; charset=utf-8"
    graph = parse_rdf(body, media_type)
    service = URIRef(endpoint)
    assert (service, SD.endpoint, service) in graph
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph


# ---------------------------------------------------------------- in-process: row cap, a store written meanwhile

@pytest.fixture
def app_on(request):
    apps = []

    def make(store_dir, **settings):
        app = create_app({"KB_STORE": str(store_dir), "TESTING": True, **settings})
        apps.append(app)
        return app

    yield make
    for app in apps:
        pool = app.extensions.get("kb_query_pool")
        if pool is not None:
            pool.close()


def test_rows_are_capped(seeds_store, app_on):
    client = app_on(seeds_store, MAX_ROWS=5).test_client()
    response = client.get("/sparql", query_string={"query": SELECT, "format": "csv"})
    assert response.status_code == 200
    assert len(response.get_data(as_text=True).splitlines()) == 1 + 5
    assert response.headers["KB-Results-Truncated"] == "max-rows=5"
    response = client.get("/sparql", query_string={"query": CONSTRUCT, "format": "nt"})
    assert len(response.get_data(as_text=True).splitlines()) == 5


def test_the_server_reads_what_is_written_after_it_started(filled_store_dir, app_on):
    client = app_on(filled_store_dir).test_client()
    count = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"

    def graphs() -> int:
        response = client.get("/sparql", query_string={"query": count, "format": "csv"})
        return int(response.get_data(as_text=True).split()[1])

    before = graphs()
    with open_store(filled_store_dir) as store:  # the writer, while the server reads
        store.replace_document("https://kb.example.org/document/new.txt", store.graph(store.documents()[0]))
    assert graphs() == before + 1


# ---------------------------------------------------------------- updates, when allowed

TOKEN = "endpoint-tests"
NEW = "INSERT DATA { GRAPH <http://example.org/g> { <http://example.org/a> <http://example.org/p> 'x' } }"
NO_TEXT = ("PREFIX schema: <https://schema.org/> DELETE { GRAPH ?g { ?c schema:text ?t } } "
           "WHERE { GRAPH ?g { ?c a schema:Claim ; schema:text ?t } }")
TEXTS = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?c <https://schema.org/text> ?t } }"


@pytest.fixture
def updatable(seeds_store, tmp_path, app_on):
    """A test client of an app that allows updates, on a copy of the seeds store."""
    shutil.copytree(seeds_store, tmp_path / "store")
    return app_on(tmp_path / "store", ALLOW_UPDATE=True, UPDATE_TOKEN=TOKEN).test_client()


def _count(client, query: str) -> int:
    response = client.get("/sparql", query_string={"query": query, "format": "csv"})
    return int(response.get_data(as_text=True).split()[1])


@pytest.mark.embedded_only(reason="updates through kb serve --allow-update (a SPARQL server takes its own updates)")
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_an_update_without_the_token_is_403(updatable, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = updatable.post("/sparql", data=NEW, content_type="application/sparql-update", headers=headers)
    assert response.status_code == 403
    assert _count(updatable, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <http://example.org/g> { ?s ?p ?o } }") == 0


@pytest.mark.embedded_only(reason="updates through kb serve --allow-update (a SPARQL server takes its own updates)")
def test_an_update_with_the_token_is_written(updatable):
    response = updatable.post("/sparql", data={"update": NEW}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert _count(updatable, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <http://example.org/g> { ?s ?p ?o } }") == 1


@pytest.mark.embedded_only(reason="updates through kb serve --allow-update (a SPARQL server takes its own updates)")
def test_an_update_that_breaks_the_shapes_is_refused_and_nothing_written(updatable):
    before = _count(updatable, TEXTS)
    response = updatable.post("/sparql", data=NO_TEXT, content_type="application/sparql-update",
                              headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 422
    assert "SHACL violation" in response.get_data(as_text=True)
    assert _count(updatable, TEXTS) == before > 0


@pytest.mark.embedded_only(reason="updates through kb serve --allow-update (a SPARQL server takes its own updates)")
@pytest.mark.parametrize("update, message", [
    ("LOAD <http://127.0.0.1:9/data.ttl>", "LOAD is not allowed"),
    ("INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "SERVICE is not allowed"),
    ("CLEAR XYZ", "not a valid SPARQL update"),
])
def test_updates_that_are_refused(updatable, update, message):
    response = updatable.post("/sparql", data=update, content_type="application/sparql-update",
                              headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_allow_update_needs_a_token(seeds_store, monkeypatch):
    monkeypatch.delenv("KB_UPDATE_TOKEN", raising=False)
    result = CliRunner().invoke(main, ["serve", "--store", str(seeds_store), "--allow-update"])
    assert result.exit_code == 1
    assert "needs a token in the environment variable KB_UPDATE_TOKEN" in result.stderr
