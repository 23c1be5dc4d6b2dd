"""The store on a SPARQL server: Oxigraph's own server on a loopback port answers as the embedded store does."""
from __future__ import annotations

import io
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest
import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic

from kb import config, pipeline, queries
from kb.errors import QueryError, StoreError
from kb.remote import RemoteStore, bind, is_remote
from kb.store import EmbeddedStore, from_ox

from live_server import free_port
from oxigraph_server import oxigraph_server

# Values for the named queries' required parameters, found in the seeds.
SAMPLE = {"speaker": "sergey-lavrov", "topic": "un-reform", "text": "reform",
          "from": "2025-01-01", "to": "2025-12-31"}


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """(embedded, remote): the seeds ingested into each, by the same pipeline."""
    base = tmp_path_factory.mktemp("remote")
    with oxigraph_server(base / "oxigraph") as url:
        remote = RemoteStore.open(url)
        embedded = EmbeddedStore.open(base / "embedded")
        for store in (embedded, remote):
            report = pipeline.ingest([config.seeds_dir()], store, progress=False)
            assert report.ok and report.claims > 100
        yield embedded, remote
        embedded.close()


def test_store_urls_are_recognised():
    assert is_remote("sparql+http://127.0.0.1:7878/")
    assert is_remote("sparql+https://example.org/ds/")
    assert not is_remote("kb-store")
    assert not is_remote("/var/lib/kb")


def test_service_layout_can_be_named_in_the_url():
    store = RemoteStore("sparql+https://example.org/ds/?query=sparql&update=update&data=data")
    assert store.query_url == "https://example.org/ds/sparql"
    assert store.update_url == "https://example.org/ds/update"
    assert store.data_url == "https://example.org/ds/data"


def test_credentials_in_the_url_are_refused():
    with pytest.raises(StoreError, match="KB_STORE_USER"):
        RemoteStore("sparql+http://me:secret@127.0.0.1:7878/")


def test_credentials_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("KB_STORE_TOKEN", "s3cret")
    assert RemoteStore("sparql+http://127.0.0.1:1/")._headers == {"Authorization": "Bearer s3cret"}
    monkeypatch.delenv("KB_STORE_TOKEN")
    monkeypatch.setenv("KB_STORE_USER", "kb")
    monkeypatch.setenv("KB_STORE_PASSWORD", "pw")
    assert RemoteStore("sparql+http://127.0.0.1:1/")._headers == {"Authorization": "Basic a2I6cHc="}


def test_a_server_that_is_not_there_is_a_one_line_store_error():
    with pytest.raises(StoreError, match="cannot reach the SPARQL server"):
        RemoteStore.open(f"sparql+http://127.0.0.1:{free_port()}/")


def test_bound_values_are_serialized_terms_not_query_text():
    text = bind('SELECT ?c WHERE { ?c <http://schema.org/text> ?t FILTER(CONTAINS(?t, ?q)) }',
                {"q": Literal('"} UNION { ?s ?p ?o } #')})
    assert text.startswith('SELECT ?c WHERE { VALUES ?q { "\\"} UNION { ?s ?p ?o } #" }')
    construct = bind("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", {"s": URIRef("http://example.org/a")})
    assert construct == "CONSTRUCT { ?s ?p ?o } WHERE { VALUES ?s { <http://example.org/a> }  ?s ?p ?o }"
    with pytest.raises(QueryError):
        bind("SELECT * WHERE { ?s ?p ?o }", {"s p": URIRef("http://example.org/a")})


def test_documents_and_graphs_are_the_same_on_both(stores):
    embedded, remote = stores
    assert remote.documents() == embedded.documents()
    for iri in embedded.documents():
        assert isomorphic(remote.graph(iri), embedded.graph(iri)), iri


@pytest.mark.parametrize("name", queries.query_names())
def test_every_named_query_answers_as_on_the_embedded_store(stores, name):
    embedded, remote = stores
    query = queries.load_query(name)
    values = {}
    for p in query.params:
        if p.name in SAMPLE and (not p.optional or p.name in ("speaker", "topic")):
            values[p.name] = SAMPLE[p.name]
        elif not p.optional:  # a document or resource: the first document of the store
            values[p.name] = embedded.documents()[0]
    mine = queries.run(embedded, query, values)
    theirs = queries.run(remote, query, values)
    if isinstance(mine, Graph):
        assert isomorphic(mine, theirs)
    elif isinstance(mine, bool):
        assert mine == theirs
    else:
        assert mine.variables == theirs.variables
        assert sorted(map(repr, mine.rows)) == sorted(map(repr, theirs.rows))


def test_reingest_replaces_and_a_failed_update_leaves_the_graph(stores):
    embedded, remote = stores
    iri = embedded.documents()[0]
    before = remote.graph(iri)
    report = pipeline.ingest([config.seeds_dir()], remote, progress=False)
    assert report.ok
    assert isomorphic(remote.graph(iri), before)  # replaced, not added twice
    with pytest.raises(QueryError):
        remote.update("INSERT DATA { GRAPH <urn:x> { <urn:a> <urn:b> } }")  # not valid SPARQL
    assert isomorphic(remote.graph(iri), before)


def test_export_streams_the_same_dataset(stores):
    embedded, remote = stores
    mine, theirs = io.BytesIO(), io.BytesIO()
    embedded.dump(mine, "nq")
    remote.dump(theirs, "nq")
    a, b = _graphs(mine.getvalue()), _graphs(theirs.getvalue())
    assert a.keys() == b.keys() and sum(map(len, a.values())) > 1000
    for name in a:
        assert isomorphic(a[name], b[name]), name


def _graphs(nquads: bytes) -> dict[str, Graph]:
    out: dict[str, Graph] = {}
    for q in ox.parse(nquads, format=ox.RdfFormat.N_QUADS):
        out.setdefault(str(q.graph_name), Graph()).add(
            (from_ox(q.subject), from_ox(q.predicate), from_ox(q.object)))
    return out


def test_service_is_refused_before_the_query_leaves(stores):
    _, remote = stores
    with pytest.raises(QueryError, match="SERVICE"):
        remote.query("SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")


def test_validate_store_works_on_the_server(stores):
    _, remote = stores
    assert pipeline.validate_store(remote) == []


# ---------------------------------------------------------------- the commands and the server on it

def kb(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", "from kb.cli import main; main()", *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """An Oxigraph server filled by `kb ingest --store URL`, and `kb serve` on it."""
    from live_server import running_server

    with oxigraph_server(tmp_path_factory.mktemp("served") / "oxigraph") as url:
        done = kb("ingest", str(config.seeds_dir()), "--store", url)
        assert done.returncode == 0, done.stderr
        with running_server(url) as endpoint:
            yield url, endpoint.rsplit("/sparql", 1)[0]


def test_the_commands_work_on_a_server_given_by_kb_store(served):
    url, _ = served
    env = {"KB_STORE": url}
    assert kb("validate", env=env).returncode == 0
    rows = kb("query", "claims-by-speaker", "--param", "speaker=sergey-lavrov", "--format", "csv", env=env)
    assert rows.returncode == 0 and rows.stdout.count("\n") > 10
    exported = kb("export", "--format", "nt", env=env)
    assert exported.returncode == 0
    assert len(Graph().parse(data=exported.stdout, format="nt")) > 1000
    refused = kb("reindex", env=env)
    assert refused.returncode == 1 and "embedded store only" in refused.stderr


def test_kb_serve_on_a_server_answers_pages_and_sparql(served):
    import json

    _, site = served
    for path in ("/", "/speakers", "/speaker/sergey-lavrov?topic=un-reform", "/topics", "/topic/new-start"):
        with urllib.request.urlopen(site + path, timeout=30) as response:
            assert response.status == 200, path
    query = urllib.parse.urlencode({"query": "SELECT (COUNT(*) AS ?n) WHERE { ?c a <https://schema.org/Claim> }"})
    request = urllib.request.Request(f"{site}/sparql?{query}", headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        count = int(json.load(response)["results"]["bindings"][0]["n"]["value"])
    assert count > 100
    service = urllib.parse.urlencode({"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{site}/sparql?{service}", timeout=30)
    assert refused.value.code == 400
    refused.value.close()
