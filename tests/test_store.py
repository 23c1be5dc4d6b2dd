"""The embedded store: atomic replacement of document graphs, queries, SERVICE refused, dumps."""
from __future__ import annotations

import io

import pytest
import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import XSD

from conftest import DOCS, KB, C, build_document, count_triples, iri
from kb.errors import QueryError, StoreError
from kb.store import FORMATS, EmbeddedStore, from_ox, ontology_graph_iri, open_store, write_graph


def union(store: EmbeddedStore) -> Graph:
    """Every named graph's triples in one graph (what a triple format export holds)."""
    out = Graph()
    for name in [*store.documents(), ontology_graph_iri()]:
        for triple in store.graph(name):
            out.add(triple)
    return out


# ---------------------------------------------------------------- replace

def test_replace_twice_gives_the_same_triples(store, ontology):
    doc, g = build_document("a.txt", DOCS["001_lavrov.txt"])
    store.replace_document(doc, g)
    once = count_triples(store)
    store.replace_document(doc, g)
    assert count_triples(store) == once == len(g)
    assert isomorphic(store.graph(doc), g)


def test_replace_drops_the_old_graph_and_leaves_the_others(store):
    doc_a, g_a = build_document("a.txt", DOCS["001_lavrov.txt"])
    doc_b, g_b = build_document("b.txt", DOCS["002_zakharova.txt"])
    store.replace_document(doc_a, g_a)
    store.replace_document(doc_b, g_b)
    _, smaller = build_document("a.txt", [C("dmitry-peskov", "Only this now")])
    store.replace_document(doc_a, smaller)
    assert isomorphic(store.graph(doc_a), smaller)
    assert isomorphic(store.graph(doc_b), g_b)
    assert store.documents() == sorted([str(doc_a), str(doc_b)])


def test_replace_with_an_empty_graph_removes_the_document(store):
    doc, g = build_document("a.txt", DOCS["001_lavrov.txt"])
    store.replace_document(doc, g)
    store.replace_document(doc, Graph())
    assert store.documents() == []
    assert count_triples(store) == 0


def test_one_update_request_is_one_transaction(store):
    """replace_document relies on this: Oxigraph runs all the operations of an update request
    in one transaction, so when a later operation fails the DROP before it is undone."""
    doc, g = build_document("a.txt", DOCS["001_lavrov.txt"])
    other, g_other = build_document("b.txt", DOCS["002_zakharova.txt"])
    store.replace_document(doc, g)
    store.replace_document(other, g_other)
    with pytest.raises((RuntimeError, StoreError), match="already exists"):
        store.update(f"DROP GRAPH <{doc}> ; INSERT DATA {{ GRAPH <{doc}> {{ <x:a> <x:b> <x:c> }} }} ;"
                     f" CREATE GRAPH <{other}>")
    assert isomorphic(store.graph(doc), g)


def test_literals_that_look_like_sparql_are_stored_as_they_are(store):
    tricky = ['"} } ; DROP ALL ; INSERT DATA { <x:a> <x:b> "', "back\\slash \\u0022 and \\n", "tab\tnew\nline",
              "🎙 emoji and Лавров", "'single' \"double\" \"\"\"triple\"\"\""]
    doc = iri("document", "tricky.txt")
    g = Graph()
    for n, text in enumerate(tricky):
        g.add((URIRef(f"{doc}#claim-{n}"), KB.cue, Literal(text)))
    g.add((URIRef(f"{doc}#x"), KB.cue, Literal("ru", lang="ru")))
    g.add((URIRef(f"{doc}#x"), KB.statedOn, Literal("2025-05", datatype=XSD.gYearMonth)))
    g.add((BNode(), KB.matchedText, Literal("blank subject")))
    store.replace_document(doc, g)
    assert isomorphic(store.graph(doc), g)
    assert count_triples(store) == len(g)


# ---------------------------------------------------------------- open

@pytest.mark.embedded_only(reason="the file lock of the embedded store")
def test_a_store_in_use_is_a_one_line_error(store, store_dir):
    with pytest.raises(StoreError, match="in use by another process") as err:
        EmbeddedStore.open(store_dir)
    assert "\n" not in str(err.value)


def test_reading_a_missing_store_says_so(tmp_path):
    with pytest.raises(StoreError, match="no store here"):
        EmbeddedStore.open(tmp_path / "nowhere", read_only=True)
    assert not (tmp_path / "nowhere").exists()


def test_a_store_that_cannot_be_created_is_a_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open the store"):
        EmbeddedStore.open(blocker / "store")


def test_a_read_only_store_reads_while_another_writes(filled_store, store_dir):
    with open_store(store_dir, read_only=True) as reader:
        assert reader.documents() == filled_store.documents()


def test_documents_leave_out_the_ontology(filled_store):
    assert filled_store.documents() == sorted(str(iri("document", n)) for n in DOCS)
    assert len(filled_store.graph(ontology_graph_iri())) > 100
    assert filled_store.stats()["documents"] == 2


# ---------------------------------------------------------------- query

def test_select_returns_variables_and_rdflib_rows(filled_store):
    result = filled_store.query(
        "PREFIX schema: <https://schema.org/> SELECT ?claim ?quote WHERE { ?claim schema:text ?quote } ORDER BY ?quote")
    assert result.variables == ["claim", "quote"]
    assert len(result.rows) == 5
    assert all(isinstance(c, URIRef) and isinstance(q, Literal) for c, q in result.rows)


@pytest.mark.embedded_only("the rows made into terms in this process: the embedded store's conversion")
def test_a_select_leaves_the_cyclic_collector_as_it_found_it(filled_store):
    """Rows are made into terms with the cyclic collector held off (kb.store.cyclic_gc_paused):
    after the answer, on again if it was on, still off if it was off; on after a query that fails.
    The same IRI down a column is one term (interning), equal to what from_ox makes."""
    import gc

    text = "SELECT ?claim ?kind WHERE { ?claim <https://w3id.org/kb/ns#kind> ?kind } ORDER BY ?claim"
    assert gc.isenabled()
    rows = filled_store.query(text).rows
    assert gc.isenabled() and len(rows) == 5
    kinds = [kind for _, kind in rows]
    assert kinds == [URIRef(k) for k in kinds] and len({id(k) for k in kinds}) == len(set(kinds))
    gc.disable()
    try:
        filled_store.query(text)
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(QueryError):
        filled_store.query("SELECT * WHERE { ?s ?p ?o FILTER(?o < ) }")
    assert gc.isenabled()


def test_ask_and_construct(filled_store):
    assert filled_store.query("ASK { ?s a <https://schema.org/Claim> }") is True
    g = filled_store.query("CONSTRUCT { ?s a ?t } WHERE { ?s a <https://w3id.org/kb/ns#Document> ; a ?t }")
    assert len(g) == 2


def test_bindings_are_typed_terms_not_text(filled_store):
    text = "SELECT ?s ?o WHERE { ?s ?p ?o }"
    evil = '"} UNION { ?s ?p ?o } #'
    assert filled_store.query(text, {"o": Literal(evil)}).rows == []
    assert filled_store.query(text, {"o": URIRef("urn:nothing")}).rows == []
    rows = filled_store.query(text, {"o": Literal("No comment on that")}).rows
    assert len(rows) == 1


@pytest.mark.embedded_only(reason="how Oxigraph's substitutions bind on the embedded store; a SPARQL server gets VALUES blocks (tests/test_remote_store.py)")
def test_binding_a_variable_that_is_not_projected_is_refused(filled_store):
    """Oxigraph substitutes only projected variables: a query's filter parameters must be projected."""
    with pytest.raises(QueryError, match="projection"):
        filled_store.query("SELECT ?s WHERE { ?s ?p ?o }", {"o": Literal(1)})


@pytest.mark.embedded_only(reason="how Oxigraph's substitutions bind on the embedded store; a SPARQL server gets VALUES blocks (tests/test_remote_store.py)")
def test_what_a_substituted_variable_looks_like_inside_a_select(filled_store):
    """Oxigraph quirks the .rq files work around: BOUND(?param) is false and BIND(?param AS ?copy)
    leaves ?copy unbound, while a function of the parameter (STR, IRI, COALESCE) sees its value."""
    q = "SELECT ?x (BOUND(?x) AS ?bound) ?copy ?str WHERE { BIND(?x AS ?copy) BIND(STR(?x) AS ?str) }"
    (x, bound, copy, as_str), = filled_store.query(q, {"x": Literal(1)}).rows
    assert (x, bound.toPython(), copy, as_str) == (Literal(1), False, None, Literal("1"))


@pytest.mark.embedded_only(reason="how Oxigraph's substitutions bind on the embedded store; a SPARQL server gets VALUES blocks (tests/test_remote_store.py)")
def test_a_construct_binds_its_parameters_after_the_where(filled_store):
    """In a CONSTRUCT, FILTER does not see a parameter, and the template must name it."""
    q = "CONSTRUCT { ?c a ?t } WHERE { ?c a ?t FILTER(?t = ?wanted) }"
    with pytest.raises(QueryError, match="projection"):
        filled_store.query(q, {"wanted": KB.Document})
    q = "CONSTRUCT { ?c a ?t . ?c <x:wanted> ?wanted } WHERE { ?c a ?t FILTER(?t = ?wanted) }"
    assert len(filled_store.query(q, {"wanted": KB.Document})) == 0


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
    "select * where { ?a ?b ?c optional { service silent <http://example.org/sparql> { ?s ?p ?o } } }",
    "SELECT * WHERE { { SELECT ?s WHERE { SERVICE ?endpoint { ?s ?p ?o } } } }",
    "CONSTRUCT { ?s ?p ?o } WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
])
def test_service_is_refused(filled_store, query):
    with pytest.raises(QueryError, match="SERVICE is not allowed"):
        filled_store.query(query)


def test_the_word_service_elsewhere_is_fine(filled_store):
    q = 'SELECT ?service WHERE { BIND("SERVICE <http://example.org/>" AS ?service) } # SERVICE'
    assert filled_store.query(q).rows == [(Literal("SERVICE <http://example.org/>"),)]


def test_a_select_as_strings_is_its_terms_as_strings(filled_store):
    """``query(..., strings=True)`` (what the pages read) gives each cell as the string of its term:
    an IRI, a literal's lexical form, None when unbound; on both backends, plain and listed queries."""
    from kb import queries

    doc, g = build_document("strings.txt", [C("sergey-lavrov", "Quote", "2025-01-02",
                                              extra=[(KB.note, Literal("7", datatype=XSD.integer)),
                                                     (KB.note, Literal("слово", lang="ru"))])])
    filled_store.replace_document(doc, g)
    for name in ("claims", "speakers", "topic-list"):
        text = queries.load_query(name).text
        terms, strings = filled_store.query(text), filled_store.query(text, strings=True)
        assert strings.variables == terms.variables and len(terms.rows) > 1
        assert strings.rows == [tuple(None if t is None else str(t) for t in row) for row in terms.rows]
    q = ("SELECT ?c ?note ?none WHERE {\n  VALUES ?c { }  # LIST\n"
         f"  ?c <{KB.note}> ?note OPTIONAL {{ ?c <x:none> ?none }}\n}}")
    claim = URIRef(f"{doc}#claim-0")
    rows = filled_store.query_listed(q, "c", [claim], strings=True).rows
    assert sorted(rows) == [(str(claim), "7", None), (str(claim), "слово", None)]
    assert sorted(rows) == sorted(tuple(None if t is None else str(t) for t in row)
                                  for row in filled_store.query_listed(q, "c", [claim]).rows)


@pytest.mark.parametrize("query", ["SELECT WHERE {", "INSERT DATA { <x:a> <x:b> <x:c> }", "DROP ALL"])
def test_bad_queries_and_updates_are_query_errors(filled_store, query):
    with pytest.raises(QueryError) as err:
        filled_store.query(query)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- dump

@pytest.mark.parametrize("fmt,rdflib_format", [("turtle", "turtle"), ("nt", "nt")])
def test_triple_dumps_hold_the_union_of_the_graphs(filled_store, fmt, rdflib_format):
    out = io.BytesIO()
    filled_store.dump(out, fmt, prefixes={"kb": str(KB)})
    back = Graph().parse(data=out.getvalue(), format=rdflib_format)
    assert isomorphic(back, union(filled_store))


@pytest.mark.parametrize("fmt", ["trig", "nq", "jsonld"])
def test_dataset_dumps_keep_the_named_graphs(filled_store, fmt):
    out = io.BytesIO()
    filled_store.dump(out, fmt)
    back: dict[str, Graph] = {}  # parsed with pyoxigraph: rdflib 7.6's Dataset warns on its own calls
    for quad in ox.parse(out.getvalue(), FORMATS[fmt]):
        back.setdefault(quad.graph_name.value, Graph()).add(
            (from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
    assert sorted(back) == sorted([*filled_store.documents(), ontology_graph_iri()])
    for name, graph in back.items():
        assert isomorphic(graph, filled_store.graph(name))


def test_dump_of_one_graph(filled_store):
    name = filled_store.documents()[0]
    out = io.BytesIO()
    filled_store.dump(out, "turtle", graph=name)
    assert isomorphic(Graph().parse(data=out.getvalue(), format="turtle"), filled_store.graph(name))


def test_dump_in_an_unknown_format_is_refused(filled_store):
    with pytest.raises(QueryError, match="unknown format"):
        filled_store.dump(io.BytesIO(), "rdfxml")


def parse_back(data: bytes, fmt: str) -> Graph:
    """Turtle and N-Triples with rdflib; JSON-LD with pyoxigraph (rdflib 7.6's JSON-LD parser warns on its own calls)."""
    if fmt in ("turtle", "nt"):
        return Graph().parse(data=data, format=fmt)
    out = Graph()
    for q in ox.parse(data, FORMATS[fmt]):
        out.add((from_ox(q.subject), from_ox(q.predicate), from_ox(q.object)))
    return out


@pytest.mark.parametrize("fmt", ["turtle", "nt", "jsonld"])
def test_write_graph_round_trips(filled_store, fmt):
    g = filled_store.graph(filled_store.documents()[0])
    out = io.BytesIO()
    write_graph(g, out, fmt, prefixes={"kb": str(KB)})
    assert isomorphic(parse_back(out.getvalue(), fmt), g)


# ---------------------------------------------------------------- the ingest's write path

@pytest.mark.embedded_only(reason="the text of the graph is the embedded store's fast path")
def test_a_graph_given_as_text_is_stored_whole_and_indexed_from_the_triples_given(store, ontology):
    """An ingest worker sends the whole graph as text and only the indexed triples as a graph."""
    from kb.pipeline import indexed_triples
    from kb.store import triples_text

    store.set_ontology(ontology)
    doc, g = build_document("a.txt", DOCS["001_lavrov.txt"])
    small = indexed_triples(g)
    assert 0 < len(small) < len(g)
    store.replace_document(doc, small, text=triples_text(g))  # a new graph: loaded
    assert isomorphic(store.graph(doc), g)
    first = store.search_index().rows()
    _, smaller = build_document("a.txt", [C("dmitry-peskov", "Only this now")])
    store.replace_document(doc, indexed_triples(smaller), text=triples_text(smaller))  # replaced
    assert isomorphic(store.graph(doc), smaller)
    assert store.search_index().rows() != first
    store.reindex()
    assert [r[2] for r in store.search_index().rows()] == ["Only this now"]


@pytest.mark.embedded_only(reason="the text of the graph is the embedded store's fast path")
def test_a_text_that_does_not_parse_writes_nothing(store):
    doc, g = build_document("a.txt", DOCS["001_lavrov.txt"])
    other, _ = build_document("b.txt", DOCS["002_zakharova.txt"])
    store.replace_document(doc, g)
    from kb.store import triples_text

    broken = triples_text(g) + "\n<x:a> <x:b> ."
    for name in (other, doc):  # a new graph (one load) and an old one (DROP and INSERT in one update)
        with pytest.raises(StoreError, match="cannot write"):
            store.replace_document(name, g, text=broken)
    assert store.documents() == [str(doc)]
    assert isomorphic(store.graph(doc), g)
