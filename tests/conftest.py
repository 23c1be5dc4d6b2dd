"""Fixtures for the store, query and command-line tests, on either backend.

``pytest`` runs the suite on the embedded store (a real on-disk store under
tmp_path); ``pytest --backend=remote`` (or ``KB_TEST_BACKEND=remote``) runs
the tests that touch a store on Oxigraph's own SPARQL server instead, started
on a loopback port (tests/oxigraph_server.py): ``store_dir`` is then the
server's ``sparql+http://`` URL, emptied before each test, and ``store`` a
kb.remote.RemoteStore on it.  Module-scoped stores come from ``new_store``
(a directory, or a server of their own).  In the remote run only the tests
that use these fixtures or are marked ``backend`` are collected; those marked
``embedded_only`` are skipped with their reason, and those marked
``remote_xfail`` (or named in REMOTE_KNOWN_FAILURES) are strict xfails.

``build_document`` builds a small document graph by hand, in the shape
ontology/kb.ttl describes, so that the store and the queries can be tested
without the extractor; ``filled_store`` holds two such documents and the
ontology.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import PROV, RDF, XSD

from kb import config
from kb.lexicon import load_graph
from kb.store import EmbeddedStore, open_store

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


# ---------------------------------------------------------------- the backend under test

BACKENDS = ("embedded", "remote")
BACKEND_ENV = "KB_TEST_BACKEND"
# The fixtures whose store is the backend under test: a test using one runs in the remote run too.
BACKEND_FIXTURES = ("store_dir", "store", "filled_store", "filled_store_dir", "new_store", "backend")
# Known failures on a SPARQL server of parametrized cases that a marker cannot name
# (generated parameters): test name with its parameters -> why.
REMOTE_KNOWN_FAILURES: dict[str, str] = {}


def pytest_addoption(parser):
    parser.addoption("--backend", choices=BACKENDS, default=None,
                     help=f"the store the tests run on: embedded (default) or remote, Oxigraph's "
                          f"SPARQL server on a loopback port (also ${BACKEND_ENV})")


def backend_of(config) -> str:
    name = config.getoption("--backend") or os.environ.get(BACKEND_ENV) or "embedded"
    if name not in BACKENDS:
        raise pytest.UsageError(f"{BACKEND_ENV}={name!r}: one of {', '.join(BACKENDS)}")
    return name


def pytest_report_header(config):
    return f"kb store backend: {backend_of(config)}"


def pytest_collection_modifyitems(config, items):
    """In the remote run keep the tests that touch a store through the backend's fixtures (or are
    marked ``backend``), skip those marked ``embedded_only`` with their reason, and expect those
    marked ``remote_xfail`` to fail (strictly: one that passes is an error, the mark must go)."""
    if backend_of(config) != "remote":
        return
    kept, deselected = [], []
    for item in items:
        embedded_only = item.get_closest_marker("embedded_only")
        if embedded_only is not None:
            reason = embedded_only.kwargs.get("reason") or (embedded_only.args or ["embedded store only"])[0]
            item.add_marker(pytest.mark.skip(reason=f"embedded store only: {reason}"))
        known = item.get_closest_marker("remote_xfail")
        reason = REMOTE_KNOWN_FAILURES.get(item.nodeid.split("::", 1)[-1])
        if known is not None or reason:
            reason = reason or known.kwargs.get("reason") or (known.args or ["fails on a SPARQL server"])[0]
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"on a SPARQL server: {reason}"))
        if embedded_only is not None or item.get_closest_marker("backend") or _uses_backend(item):
            kept.append(item)
        else:
            deselected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _uses_backend(item) -> bool:
    """Whether the test's fixtures include one of BACKEND_FIXTURES as defined here (a test module's
    own fixture of the same name, on a store of its own, does not count)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for name in BACKEND_FIXTURES:
        definitions = info.name2fixturedefs.get(name)
        if definitions and definitions[-1].func.__module__ == __name__:
            return True
    return False


@pytest.fixture(scope="session")
def backend(request) -> str:
    """'embedded' or 'remote': the store the tests run on."""
    return backend_of(request.config)


@pytest.fixture(scope="session")
def _stores():
    """The Oxigraph servers of the remote run, stopped at the end of the session."""
    with contextlib.ExitStack() as servers:
        yield servers


@pytest.fixture(scope="session")
def _shared_server(backend, _stores) -> str | None:
    """ONE Oxigraph server (in memory) for the function-scoped stores of the remote run."""
    if backend != "remote":
        return None
    from oxigraph_server import oxigraph_server

    return _stores.enter_context(oxigraph_server())


@pytest.fixture(scope="session")
def new_store(backend, _stores, tmp_path_factory):
    """``new_store(name)``: where a new, empty store goes, for module-scoped stores: a directory
    (embedded), or the URL of an Oxigraph server of its own that lives until the session ends
    (remote).  Open it with kb.store.open_store; give it to the command line as ``--store``."""
    def make(name: str = "store"):
        if backend != "remote":
            return tmp_path_factory.mktemp(name) / "store"
        from oxigraph_server import oxigraph_server

        return _stores.enter_context(oxigraph_server())

    return make


@pytest.fixture
def store_dir(backend, tmp_path, request):
    """The test's own empty store: a directory under tmp_path, or the shared server's URL
    (a str, emptied with DROP ALL first) in the remote run."""
    if backend != "remote":
        return tmp_path / "store"
    from oxigraph_server import drop_all

    url = request.getfixturevalue("_shared_server")
    drop_all(url)
    return url


@pytest.fixture
def store(store_dir):
    with open_store(store_dir) as s:
        yield s


def set_index_complete(store_dir, complete: bool) -> None:
    """Mark the store's side index complete, or not (as after an interrupted write: not to be trusted)."""
    from kb import fts

    index = fts.SearchIndex.open(store_dir)
    try:
        index.set_complete(complete)
    finally:
        index.close()


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
    with open_store(store_dir) as s:
        fill(s, ontology)
    return store_dir


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def count_triples(store: EmbeddedStore) -> int:
    """Triples in all named graphs, counted with SPARQL (never len() on the store)."""
    result = store.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
    return int(result.rows[0][0])


@pytest.fixture(scope="module")
def embedded_seeds(tmp_path_factory):
    """An embedded store directory holding the seeds, ingested once per module (with its side index)."""
    def make(name: str) -> Path:
        from kb import pipeline
        store_dir = tmp_path_factory.mktemp(name) / "store"
        with EmbeddedStore.open(store_dir) as store:
            report = pipeline.ingest([config.seeds_dir()], store, progress=False)
        assert report.ok and report.claims > 50
        return store_dir
    return make
