"""CONSTRUCT and DESCRIBE answers kept as Oxigraph's triples (kb.store.GraphResult).

A graph answer is no longer turned into an rdflib Graph triple by triple as
it is read: it keeps the store's (or the server's, parsed by pyoxigraph)
triples, serializes them with pyoxigraph, and becomes an rdflib Graph only
when something reads it as one.  What must not change is the graph: each
answer is compared, with rdflib.compare.isomorphic, to the same query's
answer read the way kb read it before (embedded: every pyoxigraph triple
added to an rdflib Graph; on a SPARQL server: the server's N-Triples parsed
by rdflib), on the seeds and on hand-built documents with blank nodes, in
every format, through the store, ``kb query``, ``kb export`` and /sparql,
on both backends.  And /sparql, which now leaves out rdflib's parse of a
query that cannot hold SERVICE nor nest deep (kb.store.needs_check), still
refuses SERVICE however it is written, and deep nesting, before the store's
parser sees them.
"""
from __future__ import annotations

import io
import urllib.parse
import urllib.request
import warnings

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

from conftest import KB, SCHEMA, iri
from kb import queries
from kb.cli import main
from kb.remote import RemoteStore, bind
from kb.store import WRITE_FORMATS, GraphResult, from_ox, needs_check, open_store, to_ox, write_graph
from live_server import app_with_pool, seed_store

GRAPH_QUERIES = ("claim-export", "describe", "describe-page", "export-claims")
# rdflib's parser for each format pyoxigraph writes (the answer read back by another library)
RDFLIB_FORMATS = {"turtle": "turtle", "nt": "nt", "nq": "nquads", "trig": "trig",
                  "jsonld": "json-ld", "rdfxml": "xml"}
# `kb query --format` for a graph: the format each name gives
CLI_FORMATS = {"table": "turtle", "json": "jsonld", "xml": "rdfxml", **{f: f for f in RDFLIB_FORMATS}}


# ---------------------------------------------------------------- helpers

def reference(store, text: str, bindings: dict | None = None) -> Graph:
    """The answer to ``text`` read the way kb read graph answers before GraphResult."""
    bindings = bindings or {}
    out = Graph()
    if isinstance(store, RemoteStore):  # the server's N-Triples, parsed by rdflib
        body = urllib.parse.urlencode({"query": bind(text, bindings)}).encode()
        request = urllib.request.Request(store.query_url, data=body, headers={
            "Accept": "application/n-triples", "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return out.parse(data=response.read(), format="nt")
    answer = store._ox.query(text, use_default_graph_as_union=True,
                             substitutions={ox.Variable(k): to_ox(v) for k, v in bindings.items()})
    for t in answer:  # one Graph.add per triple, as EmbeddedStore._query did
        out.add((from_ox(t.subject), from_ox(t.predicate), from_ox(t.object)))
    return out


def parsed(data: bytes, fmt: str) -> Graph:
    """Serialized triples read back by rdflib (a dataset format: every quad in the default graph)."""
    with warnings.catch_warnings():  # rdflib's own deprecations inside its JSON-LD, TriG and N-Quads parsers
        warnings.simplefilter("ignore", DeprecationWarning)
        if fmt in ("nq", "trig"):
            dataset = Dataset()
            dataset.parse(data=data, format=RDFLIB_FORMATS[fmt])
            quads = list(dataset.quads((None, None, None, None)))
            assert all(g is None or g == dataset.default_graph.identifier for *_, g in quads)
            graph = Graph()
            for s, p, o, _ in quads:
                graph.add((s, p, o))
            return graph
        return Graph().parse(data=data, format=RDFLIB_FORMATS[fmt])


def pending(result: GraphResult) -> bool:
    """Whether the answer still holds Oxigraph's triples only (no rdflib Graph made of it yet)."""
    return result._pending.pending is not None


def values_for(store, name: str) -> dict:
    """Parameters for a graph query: a claim with topics, its speaker, its topic, its document."""
    row = store.query("PREFIX schema: <https://schema.org/> PREFIX prov: <http://www.w3.org/ns/prov#> "
                      "SELECT ?claim ?speaker ?topic ?document WHERE { ?claim a schema:Claim ; "
                      "schema:author ?speaker ; schema:about ?topic ; prov:wasDerivedFrom ?document } "
                      "ORDER BY ?claim LIMIT 1").rows[0]
    claim, speaker, topic, document = map(str, row)
    return {"claim-export": {"claim": claim}, "describe": {"resource": speaker},
            "describe-page": {"resource": claim},
            "export-claims": {"speaker": speaker, "topic": topic}}[name]


# ---------------------------------------------------------------- the seeds

@pytest.fixture(scope="module")
def seeds(new_store):
    return seed_store(new_store("construct"))


@pytest.fixture(scope="module")
def seeds_store(seeds):
    with open_store(seeds, read_only=True) as store:
        yield store


@pytest.mark.parametrize("name", GRAPH_QUERIES)
def test_a_named_graph_query_answers_the_same_graph(seeds_store, name):
    query = queries.load_query(name)
    values = values_for(seeds_store, name)
    result = queries.run(seeds_store, query, values)
    expected = reference(seeds_store, query.text, queries.bind(query, values)[0])
    assert isinstance(result, GraphResult) and isinstance(result, Graph)
    assert pending(result)
    assert len(result) == len(expected) > 0  # counted without making rdflib terms
    assert pending(result)
    assert isomorphic(result, expected)
    assert not pending(result)  # read as rdflib: converted, once
    assert len(result) == len(expected)


@pytest.mark.parametrize("fmt", sorted(WRITE_FORMATS))
@pytest.mark.parametrize("name", GRAPH_QUERIES)
def test_every_format_is_written_by_pyoxigraph_without_rdflib(seeds_store, name, fmt):
    query = queries.load_query(name)
    values = values_for(seeds_store, name)
    result = queries.run(seeds_store, query, values)
    data = result.serialized(fmt, queries.prefixes())
    assert pending(result)  # written straight from Oxigraph's triples
    expected = reference(seeds_store, query.text, queries.bind(query, values)[0])
    assert isomorphic(parsed(data, fmt), expected)


def test_turtle_keeps_the_prefixes(seeds_store):
    result = queries.run(seeds_store, queries.load_query("claim-export"), values_for(seeds_store, "claim-export"))
    text = result.serialized("turtle", queries.prefixes()).decode()
    assert "@prefix schema: <https://schema.org/> ." in text and "@prefix kb: <https://w3id.org/kb/ns#> ." in text
    assert "schema:author" in text and "<https://schema.org/author>" not in text


@pytest.mark.parametrize("fmt", sorted(CLI_FORMATS))
def test_kb_query_writes_a_graph_in_each_format(seeds, seeds_store, fmt):
    query = queries.load_query("export-claims")
    values = values_for(seeds_store, "export-claims")
    args = [a for k, v in values.items() for a in ("--param", f"{k}={v}")]
    result = CliRunner().invoke(main, ["query", "export-claims", *args, "--format", fmt, "--store", str(seeds)])
    assert result.exit_code == 0, result.output
    expected = reference(seeds_store, query.text, queries.bind(query, values)[0])
    assert len(expected) > 0
    assert isomorphic(parsed(result.output.encode(), CLI_FORMATS[fmt]), expected)


def test_kb_query_refuses_a_graph_format_for_rows_and_rows_formats_for_a_graph(seeds):
    runner = CliRunner()
    rows = runner.invoke(main, ["query", "stats", "--format", "turtle", "--store", str(seeds)])
    assert rows.exit_code != 0 and "answers with rows" in rows.output
    graph = runner.invoke(main, ["query", "describe", "--param", f"resource={iri('speaker', 'sergey-lavrov')}",
                                 "--format", "csv", "--store", str(seeds)])
    assert graph.exit_code != 0 and "answers with a graph" in graph.output


def test_kb_export_of_a_speaker_is_the_graph_of_export_claims(seeds, seeds_store, tmp_path):
    out = tmp_path / "lavrov.nt"
    result = CliRunner().invoke(main, ["export", "--speaker", "sergey-lavrov", "--format", "nt",
                                       "-o", str(out), "--store", str(seeds)])
    assert result.exit_code == 0, result.output
    query = queries.load_query("export-claims")
    expected = reference(seeds_store, query.text, queries.bind(query, {"speaker": "sergey-lavrov"})[0])
    assert len(expected) > 0
    assert isomorphic(Graph().parse(out, format="nt"), expected)


# ---------------------------------------------------------------- blank nodes, duplicates, changes

NEW_NODES = ("PREFIX schema: <https://schema.org/> PREFIX kb: <https://w3id.org/kb/ns#> "
             "CONSTRUCT { ?claim kb:note [ kb:words ?text ] } WHERE { ?claim schema:text ?text }")


@pytest.mark.parametrize("fmt", sorted(WRITE_FORMATS))
def test_blank_nodes_of_a_template_stay_one_per_solution(filled_store, fmt):
    claims = len(filled_store.query("SELECT ?c WHERE { ?c a <https://schema.org/Claim> }").rows)
    result = filled_store.query(NEW_NODES)
    graph = parsed(result.serialized(fmt), fmt)
    notes = set(graph.objects(None, KB.note))
    assert len(notes) == claims == 5 and all(isinstance(n, BNode) for n in notes)
    assert isomorphic(graph, reference(filled_store, NEW_NODES))
    assert len(set(result.objects(None, KB.note))) == claims  # and as rdflib


def test_stored_blank_nodes_stay_distinct_across_answers(filled_store):
    """claim-export of two claims with topic assignments (blank nodes in the store), merged into one
    Graph as the search page merges them: as many assignments as the claims have, apart."""
    named = queries.load_query("claim-export")
    claims = [iri("document", "001_lavrov.txt") + "#claim-0", iri("document", "001_lavrov.txt") + "#claim-1"]
    merged = Graph()
    expected = Graph()
    for claim in claims:
        answer = queries.run(filled_store, named, {"claim": str(claim)})
        expected_one = reference(filled_store, named.text, {"claim": URIRef(claim)})
        assert isomorphic(parsed(answer.serialized("nt"), "nt"), expected_one)
        merged += answer
        expected += expected_one
    assignments = set(merged.objects(None, KB.topicAssignment))
    assert len(assignments) == 3 and all(isinstance(a, BNode) for a in assignments)
    assert isomorphic(merged, expected)


def test_duplicate_triples_count_once(filled_store):
    """Oxigraph does not drop repeated triples that hold a blank node: the answer counts and
    converts to what rdflib's Graph holds, each triple once."""
    text = "CONSTRUCT { ?a <https://w3id.org/kb/ns#seen> true } WHERE { ?a ?p ?o FILTER(isBlank(?a)) }"
    result = filled_store.query(text)
    expected = reference(filled_store, text)
    assert len(expected) == 4  # the topic assignments of conftest.DOCS
    assert len(result._pending.pending) > len(expected)  # each once per triple of its own
    assert len(result) == len(expected)
    assert pending(result)
    assert len(list(result)) == len(expected)


def test_what_is_added_after_reading_is_written_too(filled_store):
    """Once read as rdflib (a page adds its counts to the graph), the rdflib graph is the answer."""
    result = filled_store.query("CONSTRUCT { ?s a ?t } WHERE { ?s a <https://w3id.org/kb/ns#Document> ; a ?t }")
    extra = (URIRef("http://example.org/x"), RDF.type, SCHEMA.Thing)
    result.add(extra)
    assert not pending(result) and len(result) == 3
    assert extra in parsed(result.serialized("nt"), "nt")
    out = parsed(_written(result, "turtle"), "turtle")
    assert len(out) == 3 and extra in out


def test_write_graph_takes_a_plain_rdflib_graph_too():
    graph = Graph()
    node = BNode()
    graph.add((URIRef("http://example.org/a"), KB.note, node))
    graph.add((node, KB.words, Literal("x", lang="en")))
    for fmt in sorted(WRITE_FORMATS):
        assert isomorphic(parsed(_written(graph, fmt), fmt), graph)


def test_set_operations_of_rdflib_work_on_answers(filled_store):
    a = filled_store.query("CONSTRUCT { ?s a ?t } WHERE { ?s a ?t }")
    b = filled_store.query("CONSTRUCT { ?s a <https://w3id.org/kb/ns#Document> } "
                           "WHERE { ?s a <https://w3id.org/kb/ns#Document> }")
    assert len(a + b) == len(a)
    assert len(a - b) == len(a) - 2


def _written(graph, fmt: str) -> bytes:
    out = io.BytesIO()
    write_graph(graph, out, fmt, queries.prefixes())
    return out.getvalue()


# ---------------------------------------------------------------- /sparql: the same graphs, and what it still refuses

@pytest.fixture(scope="module")
def client(seeds):
    with app_with_pool({"KB_STORE": str(seeds), "TESTING": True}) as app:
        yield app.test_client()


@pytest.mark.parametrize("fmt", sorted(WRITE_FORMATS))
@pytest.mark.parametrize("name", ["claim-export", "describe", "describe-page"])
def test_sparql_answers_the_named_graph_queries_without_the_rdflib_parse(client, seeds_store, name, fmt):
    query = queries.load_query(name)
    bindings = queries.bind(query, values_for(seeds_store, name))[0]
    text = bind(query.text, bindings)  # the parameters as VALUES blocks: what a client would send
    assert not needs_check(text)
    response = client.post("/sparql", data=text, content_type="application/sparql-query",
                           query_string={"format": fmt})
    assert response.status_code == 200, response.get_data(as_text=True)
    expected = reference(seeds_store, query.text, bindings)
    assert len(expected) > 0
    assert isomorphic(parsed(response.get_data(), fmt), expected)


SERVICE_QUERIES = [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
    "select * where { service <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SeRvIcE SILENT <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p ?o . SERVICE ?endpoint { ?s ?p ?o } VALUES ?endpoint { <http://127.0.0.1:1/> } }",
    # a \\# in a prefixed name is not a comment: a SERVICE after it on the same line is still a SERVICE
    "PREFIX ex: <http://example.org/> SELECT * WHERE { ?s ex:a\\#b ?o . SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVI\\u0043E <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",  # a codepoint escape
]


@pytest.mark.parametrize("text", SERVICE_QUERIES)
def test_sparql_still_refuses_service_however_written(client, text):
    assert needs_check(text)
    response = client.get("/sparql", query_string={"query": text})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert body.startswith(("SERVICE is not allowed", "not a valid SPARQL query")), body


@pytest.mark.parametrize("text", [
    "SELECT * WHERE " + "{" * 5000 + " ?s ?p ?o " + "}" * 5000,  # Oxigraph's parser crashed on it
    "SELECT * WHERE { " + "<< " * 200 + "?a ?b ?c" + " >> ?b ?c" * 200 + " . }",  # took minutes to parse
    "SELECT * WHERE { ?s ?p " + "[ ?p " * 120 + "1" + " ]" * 120 + " }",  # took seconds
])
def test_sparql_refuses_deep_nesting_before_the_store_parses_it(client, text):
    assert needs_check(text)
    response = client.get("/sparql", query_string={"query": text})
    assert response.status_code == 400
    assert response.get_data(as_text=True).startswith("not a valid SPARQL query")
    after = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }", "format": "json"})
    assert after.status_code == 200 and after.get_json()["boolean"] is True


def test_a_malformed_query_still_gets_rdflibs_message(client):
    text = "SELECT ?s WHERE {\n ?s ?p ?o .\n FILTER(\n }"
    assert not needs_check(text)  # the store's parser finds it out, then check_query says where
    response = client.get("/sparql", query_string={"query": text})
    body = response.get_data()
    assert response.status_code == 400
    assert body.startswith(b"not a valid SPARQL query:") and b"col" in body and body.count(b"\n") == 1


@pytest.mark.parametrize("text, needed", [
    ("SELECT * WHERE { ?s ?p 'a service' }", True),  # the word in a string: check_query tells
    ("SELECT * WHERE { ?s <http://example.org/Service> ?o }", True),
    ("SELECT * WHERE { ?s ?p ?o } # no serv\\u0069ce here", True),
    ("SELECT * WHERE { ?s ?p ?o FILTER(?o IN (" + ", ".join(["(1)"] * 70) + ")) }", True),
    ("SELECT * WHERE { ?s ?p ?o }", False),
    ("PREFIX schema: <https://schema.org/> CONSTRUCT { ?c ?p ?o } WHERE { ?c a schema:Claim ; ?p ?o }", False),
])
def test_needs_check(text, needed):
    assert needs_check(text) is needed
