"""The store: one named graph per document in an embedded Oxigraph store.

``EmbeddedStore`` is the only class that talks to pyoxigraph.  Its methods
take and return rdflib terms and graphs, so that another backend (a remote
SPARQL server) can stand behind the same methods later.

Replacing a document is one SPARQL UPDATE request,
``DROP SILENT GRAPH <g> ; INSERT DATA { GRAPH <g> { … } }``: Oxigraph runs
all the operations of one update request in a single transaction
(``Store::update_opt`` wraps ``evaluate_update`` in ``storage.transaction``),
so a reader sees the old graph or the new one, never a mix, and a failure
leaves the old graph in place (tests/test_store.py checks both).

Queries run with the union of all graphs as the default graph; parameters
are bound as typed terms through Oxigraph's ``substitutions`` and never
pasted into the query text.  Queries that use SERVICE are refused before
they reach the store.
"""
from __future__ import annotations

import functools
import gc
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Mapping

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue

from . import config
from .errors import QueryError, StoreError

FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "trig": ox.RdfFormat.TRIG,
    "nt": ox.RdfFormat.N_TRIPLES,
    "nq": ox.RdfFormat.N_QUADS,
    "jsonld": ox.RdfFormat.JSON_LD,
}


def ontology_graph_iri() -> str:
    return config.base_iri() + "graph/ontology"


@dataclass
class SelectResult:
    """The answer to a SELECT query: variable names and rows of rdflib terms (None when unbound)."""

    variables: list[str]
    rows: list[tuple]


# ---------------------------------------------------------------- terms

def to_ox(term, bnodes: dict | None = None):
    """An rdflib term (or a pyoxigraph term, returned as it is) as a pyoxigraph term."""
    if isinstance(term, (ox.NamedNode, ox.BlankNode, ox.Literal)):
        return term
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        if bnodes is None:
            return ox.BlankNode()
        return bnodes.setdefault(term, ox.BlankNode())
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


_XSD_STRING = str(XSD.string)


def from_ox(term):
    """A pyoxigraph term as an rdflib term; xsd:string literals become plain literals."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"unsupported term from the store: {term!r}")


# ---------------------------------------------------------------- SERVICE check

@functools.lru_cache(maxsize=256)
def check_query(sparql: str) -> None:
    """Parse ``sparql`` and refuse SERVICE (it makes the store fetch from the network)."""
    try:
        parsed = parseQuery(sparql)
    except Exception as exc:  # pyparsing's ParseException, and whatever else the grammar raises
        raise QueryError(f"not a valid SPARQL query: {one_line(exc)}") from None
    if _uses_service(parsed):
        raise QueryError("SERVICE is not allowed: queries run on the local store only")


def _uses_service(node) -> bool:
    if isinstance(node, CompValue):
        return node.name == "ServiceGraphPattern" or any(_uses_service(v) for v in node.values())
    if isinstance(node, str) or not isinstance(node, Iterable):  # terms are str too
        return False
    return any(_uses_service(v) for v in node)  # pyparsing's ParseResults, lists


def one_line(message) -> str:
    """A message (or an exception) on one line, whitespace runs collapsed."""
    return " ".join(str(message).split()) or type(message).__name__


# ---------------------------------------------------------------- the store

class EmbeddedStore:
    """An on-disk Oxigraph store: one named graph per document, plus the ontology graph."""

    def __init__(self, store: ox.Store, path: Path, read_only: bool = False):
        self._store = store
        self.path = path
        self.read_only = read_only

    @classmethod
    def open(cls, path, read_only: bool = False) -> "EmbeddedStore":
        """Open (creating it unless ``read_only``) the store in directory ``path``."""
        path = Path(path)
        try:
            if read_only:
                if not (path / "CURRENT").is_file():
                    raise StoreError(f"{path}: no store here (run `kb ingest` first)")
                return cls(ox.Store.read_only(str(path)), path, read_only=True)
            path.mkdir(parents=True, exist_ok=True)
            try:
                return cls(ox.Store(str(path)), path)
            except OSError:
                # The lock goes with the last reference to a closed store, and
                # a query's result iterator kept in a reference cycle holds one
                # until the garbage collector runs: collect, then try again.
                gc.collect()
                return cls(ox.Store(str(path)), path)
        except OSError as exc:
            message = one_line(exc)
            if "lock" in message.lower():
                raise StoreError(f"{path}: the store is in use by another process") from None
            raise StoreError(f"{path}: cannot open the store: {message}") from None

    def __enter__(self) -> "EmbeddedStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def _ox(self) -> ox.Store:
        if self._store is None:
            raise StoreError(f"{self.path}: the store is closed")
        return self._store

    # -------------------------------------------------------- writing

    def replace_document(self, graph_iri, graph: Graph) -> None:
        """Replace the named graph ``graph_iri`` by ``graph``, in one transaction."""
        name = to_ox(URIRef(graph_iri))
        bnodes: dict = {}
        triples = "\n".join(
            f"{to_ox(s, bnodes)} {to_ox(p)} {to_ox(o, bnodes)} ." for s, p, o in graph)
        update = f"DROP SILENT GRAPH {name}"
        if triples:
            update += f" ;\nINSERT DATA {{ GRAPH {name} {{\n{triples}\n}} }}"
        try:
            self._ox.update(update)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot write {graph_iri}: {one_line(exc)}") from None

    def add_to_default_graph(self, graph: Graph) -> None:
        """Add the triples of ``graph`` to the store's default graph (kb load), in one transaction."""
        bnodes: dict = {}
        triples = "\n".join(
            f"{to_ox(s, bnodes)} {to_ox(p)} {to_ox(o, bnodes)} ." for s, p, o in graph)
        if not triples:
            return
        try:
            self._ox.update(f"INSERT DATA {{\n{triples}\n}}")
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot write the default graph: {one_line(exc)}") from None

    def update(self, sparql: str, base_iri: str | None = None) -> None:
        """Run a SPARQL Update as it is, in one transaction (kb.updates checks it first)."""
        try:
            self._ox.update(sparql, base_iri=base_iri)
        except SyntaxError as exc:
            raise QueryError(f"not a valid SPARQL update: {one_line(exc)}") from None
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot write: {one_line(exc)}") from None

    def set_ontology(self, graph: Graph) -> None:
        self.replace_document(ontology_graph_iri(), graph)

    def optimize(self) -> None:
        self._ox.optimize()

    def close(self) -> None:
        if self._store is not None:
            if not self.read_only:
                self._store.flush()
            self._store = None  # the Rust store (and its lock) goes with the last reference

    # -------------------------------------------------------- reading

    def documents(self) -> list[str]:
        """The IRIs of the document graphs, sorted."""
        ontology = ontology_graph_iri()
        names = (g.value for g in self._ox.named_graphs() if isinstance(g, ox.NamedNode))
        return sorted(n for n in names if n != ontology)

    def graph(self, iri) -> Graph:
        """One named graph as an rdflib Graph (empty if there is no such graph)."""
        out = Graph()
        for quad in self._ox.quads_for_pattern(None, None, None, to_ox(URIRef(iri))):
            out.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
        return out

    def query(self, sparql: str, bindings: Mapping[str, object] | None = None):
        """Run a query over the union of all graphs.

        Returns a ``SelectResult`` for SELECT, an rdflib ``Graph`` for CONSTRUCT
        and DESCRIBE, a bool for ASK.  ``bindings`` maps variable names to rdflib
        or pyoxigraph terms; Oxigraph requires each bound variable to be one of
        the SELECT's projected variables.
        """
        check_query(sparql)
        try:
            substitutions = {ox.Variable(k): to_ox(v) for k, v in (bindings or {}).items()}
            result = self._ox.query(sparql, use_default_graph_as_union=True,
                                    substitutions=substitutions)
            if isinstance(result, ox.QueryBoolean):
                return bool(result)
            if isinstance(result, ox.QueryTriples):
                out = Graph()
                for t in result:
                    out.add((from_ox(t.subject), from_ox(t.predicate), from_ox(t.object)))
                return out
            variables = [v.value for v in result.variables]
            rows = [tuple(from_ox(term) for term in solution) for solution in result]
            return SelectResult(variables, rows)
        except (SyntaxError, RuntimeError, ValueError) as exc:
            raise QueryError(one_line(exc)) from None
        except OSError as exc:
            raise StoreError(f"{self.path}: {one_line(exc)}") from None

    def dump(self, fileobj: BinaryIO, format: str = "trig", graph=None,
             prefixes: Mapping[str, str] | None = None) -> None:
        """Stream the store (or the named graph ``graph``) to a binary file object.

        Triple formats (turtle, nt) without ``graph`` get the union of all graphs.
        """
        if format not in FORMATS:
            raise QueryError(f"unknown format {format!r} (one of: {', '.join(FORMATS)})")
        rdf_format = FORMATS[format]
        prefixes = dict(prefixes or {}) if format in ("turtle", "trig") else None
        if graph is not None:
            self._ox.dump(fileobj, rdf_format, from_graph=to_ox(URIRef(graph)), prefixes=prefixes)
        elif rdf_format.supports_datasets:
            self._ox.dump(fileobj, rdf_format, prefixes=prefixes)
        else:
            triples = (q.triple for q in self._ox.quads_for_pattern(None, None, None, None))
            ox.serialize(triples, fileobj, rdf_format, prefixes=prefixes)

    def stats(self) -> dict:
        """What the store holds, without a full scan."""
        return {"store": str(self.path), "documents": len(self.documents())}


def write_graph(graph: Graph, fileobj: BinaryIO, format: str = "turtle",
                prefixes: Mapping[str, str] | None = None) -> None:
    """Serialize an rdflib graph in one of FORMATS (in a dataset format, as its default graph)."""
    if format not in FORMATS:
        raise QueryError(f"unknown format {format!r} (one of: {', '.join(FORMATS)})")
    rdf_format = FORMATS[format]
    bnodes: dict = {}
    make = ox.Quad if rdf_format.supports_datasets else ox.Triple
    statements = (make(to_ox(s, bnodes), to_ox(p), to_ox(o, bnodes)) for s, p, o in graph)
    prefixes = dict(prefixes or {}) if format in ("turtle", "trig") else None
    ox.serialize(statements, fileobj, rdf_format, prefixes=prefixes)
