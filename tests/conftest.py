"""Fixtures for the store, query and command-line tests.

``store`` is a real on-disk store under tmp_path.  ``doc_graph`` builds a
small document graph by hand, in the shape ontology/kb.ttl describes, so
that the store and the queries can be tested without the extractor;
``filled_store`` holds two such documents and the ontology.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import PROV, RDF, XSD

from kb import config
from kb.lexicon import load_graph
from kb.store import EmbeddedStore

KB = Namespace("https://w3id.org/kb/ns#")
SCHEMA = Namespace("https://schema.org/")
ROOT = Path(__file__).resolve().parent.parent
KINDS = {"direct": KB.DirectQuote, "indirect": KB.ReportedSpeech}


def iri(kind: str, key: str) -> URIRef:
    """An IRI under the base, as the ontology files resolve them ('speaker', 'sergey-lavrov')."""
    return URIRef(f"{config.base_iri()}{kind}/{key}")


@dataclass
class C:
    """A claim for a hand-built document graph."""

    speaker: str  # key in ontology/speakers.ttl
    quote: str
    date: str | None = None  # 'YYYY-MM-DD', 'YYYY-MM' or 'YYYY'
    kind: str = "direct"
    topics: tuple[str, ...] = ()
    start: int | None = None
    extra: list = field(default_factory=list)  # more (predicate, object) pairs


def _date(value: str) -> Literal:
    datatype = {10: XSD.date, 7: XSD.gYearMonth, 4: XSD.gYear}[len(value)]
    return Literal(value, datatype=datatype)


def build_document(name: str, claims: list[C]) -> tuple[URIRef, Graph]:
    """(graph IRI, graph) of a document holding ``claims``, one post."""
    doc = iri("document", name)
    post = URIRef(f"{doc}#post-0")
    g = Graph()
    g.add((doc, RDF.type, KB.Document))
    g.add((doc, KB.fileName, Literal(name)))
    g.add((post, RDF.type, KB.Post))
    g.add((post, KB.postIndex, Literal(0)))
    for n, c in enumerate(claims):
        claim = URIRef(f"{doc}#claim-{n}")
        start = c.start if c.start is not None else 100 * n
        g.add((claim, RDF.type, SCHEMA.Claim))
        g.add((claim, SCHEMA.author, iri("speaker", c.speaker)))
        g.add((claim, SCHEMA.text, Literal(c.quote)))
        g.add((claim, KB.kind, KINDS[c.kind]))
        g.add((claim, PROV.wasDerivedFrom, doc))
        g.add((claim, SCHEMA.appearance, post))
        g.add((claim, KB.startOffset, Literal(start)))
        g.add((claim, KB.endOffset, Literal(start + len(c.quote))))
        g.add((claim, KB.confidence, Literal(0.8)))
        if c.date:
            g.add((claim, KB.statedOn, _date(c.date)))
        for t in c.topics:
            assignment = BNode()
            g.add((claim, SCHEMA.about, iri("topic", t)))
            g.add((claim, KB.topicAssignment, assignment))
            g.add((assignment, KB.topic, iri("topic", t)))
            g.add((assignment, KB.matchedText, Literal(t.replace("-", " "), lang="en")))
            g.add((assignment, KB.confidence, Literal(0.9)))
        for p, o in c.extra:
            g.add((claim, p, o))
    return doc, g


DOCS = {
    "001_lavrov.txt": [
        C("sergey-lavrov", "The New START treaty expires in February", "2025-05-28", topics=("new-start",)),
        C("sergey-lavrov", 'We are ready for talks in Istanbul, he said "again"', "2025-05",
          kind="indirect", topics=("istanbul-talks", "ukraine-settlement")),
        C("dmitry-peskov", "No comment on that", None),
    ],
    "002_zakharova.txt": [
        C("maria-zakharova", "The UN needs reform\nof the Security Council", "2025-06-02", topics=("un-reform",)),
        C("sergey-lavrov", "Strategic stability matters", "2024", kind="indirect"),
    ],
}


@pytest.fixture(scope="session")
def ontology() -> Graph:
    """The vocabulary and the speakers, topics and lexicon, as the store's ontology graph."""
    g = load_graph()
    g.parse(config.ontology_dir() / "kb.ttl", format="turtle")
    return g


@pytest.fixture
def store_dir(tmp_path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(store_dir):
    with EmbeddedStore.open(store_dir) as s:
        yield s


def fill(store: EmbeddedStore, ontology: Graph) -> dict[str, Graph]:
    store.set_ontology(ontology)
    graphs = {}
    for name, claims in DOCS.items():
        doc, g = build_document(name, claims)
        store.replace_document(doc, g)
        graphs[str(doc)] = g
    return graphs


@pytest.fixture
def filled_store(store, ontology) -> EmbeddedStore:
    fill(store, ontology)
    return store


@pytest.fixture
def filled_store_dir(store_dir, ontology) -> Path:
    """A store directory holding DOCS, closed again so that the command line can open it."""
    with EmbeddedStore.open(store_dir) as s:
        fill(s, ontology)
    return store_dir


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def count_triples(store: EmbeddedStore) -> int:
    """Triples in all named graphs, counted with SPARQL (never len() on the store)."""
    result = store.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
    return int(result.rows[0][0])
