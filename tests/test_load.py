"""``kb load``: existing RDF into the store as it is, each graph validated with the shapes first."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from rdflib import Graph, Literal
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

from conftest import SCHEMA
from kb import config, pipeline
from kb.cli import main
from kb.store import EmbeddedStore, open_store

EX = "http://example.org/"
TURTLE = f"""@prefix ex: <{EX}> .
ex:a ex:p "one" ; ex:q ex:b .
"""
TRIG = f"""@prefix ex: <{EX}> .
ex:d ex:p 1 .
ex:g1 {{ ex:a ex:p "in g1" }}
ex:g2 {{ ex:b ex:p "in g2" }}
"""


def kb(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_triples_into_a_named_graph(tmp_path, store_dir):
    source = tmp_path / "data.ttl"
    source.write_text(TURTLE, encoding="utf-8")
    result = kb("load", source, "--graph", EX + "g", "--store", store_dir)
    assert result.exit_code == 0, result.output
    assert "loaded 2 triple(s) into 1 graph(s)" in result.output
    with open_store(store_dir, read_only=True) as store:
        assert isomorphic(store.graph(EX + "g"), Graph().parse(data=TURTLE, format="turtle"))


def test_quads_into_their_own_graphs_and_triples_into_the_default_graph(tmp_path, store_dir):
    source = tmp_path / "data.trig"
    source.write_text(TRIG, encoding="utf-8")
    result = kb("load", source, "--store", store_dir)
    assert result.exit_code == 0, result.output
    with open_store(store_dir, read_only=True) as store:
        assert store.documents() == [EX + "g1", EX + "g2"]
        assert store.query(f"ASK {{ GRAPH <{EX}g2> {{ <{EX}b> <{EX}p> 'in g2' }} }}") is True
        default = store.query(f"SELECT ?o WHERE {{ <{EX}d> <{EX}p> ?o FILTER NOT EXISTS {{ GRAPH ?g {{ <{EX}d> ?p ?o }} }} }}")
        assert default.rows == [(Literal(1),)]


def test_loading_a_graph_again_replaces_it(tmp_path, store_dir):
    source = tmp_path / "data.nt"
    source.write_text(f"<{EX}a> <{EX}p> \"old\" .\n", encoding="utf-8")
    kb("load", source, "--graph", EX + "g", "--store", store_dir)
    source.write_text(f"<{EX}a> <{EX}p> \"new\" .\n", encoding="utf-8")
    assert kb("load", source, "--graph", EX + "g", "--store", store_dir).exit_code == 0
    with open_store(store_dir, read_only=True) as store:
        assert set(store.graph(EX + "g").objects()) == {Literal("new")}


@pytest.fixture(scope="module")
def seed_document(tmp_path_factory) -> tuple[str, Graph]:
    """(graph IRI, graph) of one seed document, as kb ingest stores it."""
    store_dir = tmp_path_factory.mktemp("seed") / "store"
    with EmbeddedStore.open(store_dir) as store:
        report = pipeline.ingest([sorted(config.seeds_dir().iterdir())[0]], store, progress=False)
        assert report.ok
        iri = store.documents()[0]
        return iri, store.graph(iri)


def test_a_document_graph_goes_in_as_it_is(tmp_path, seed_document, store_dir):
    iri, graph = seed_document
    source = tmp_path / "doc.ttl"
    graph.serialize(source, format="turtle", encoding="utf-8")
    result = kb("load", source, "--graph", iri, "--store", store_dir)
    assert result.exit_code == 0, result.output
    with open_store(store_dir, read_only=True) as store:
        assert isomorphic(store.graph(iri), graph)


def test_a_claim_that_breaks_the_shapes_is_refused_and_nothing_written(tmp_path, seed_document, store_dir):
    iri, graph = seed_document
    broken = Graph()
    for triple in graph:
        broken.add(triple)
    claim = next(broken.subjects(RDF.type, SCHEMA.Claim))
    broken.remove((claim, SCHEMA.text, None))
    source = tmp_path / "bad.nt"
    broken.serialize(source, format="nt", encoding="utf-8")
    result = kb("load", source, "--graph", iri, "--store", store_dir)
    assert result.exit_code == 1
    assert "SHACL violation" in result.stderr and "schema:text" in result.stderr
    with open_store(store_dir, read_only=True) as store:
        assert store.documents() == []


@pytest.mark.parametrize("name, text, message", [
    ("data.txt", "whatever", "unknown RDF format"),
    ("data.ttl", "<a> <b", "not valid"),
])
def test_a_file_that_cannot_be_read_is_one_line(tmp_path, store_dir, name, text, message):
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    result = kb("load", source, "--store", store_dir)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kb: error: ") and message in lines[0]
