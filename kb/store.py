"""The store: one named graph per document in an embedded Oxigraph store.

``EmbeddedStore`` is the only class that talks to pyoxigraph.  Its methods
take and return rdflib terms and graphs, so that another backend (a remote
SPARQL server) can stand behind the same methods later.

Replacing a document is one SPARQL UPDATE request,
``DROP SILENT GRAPH <g> ; INSERT DATA { GRAPH <g> { … } }``: Oxigraph runs
all the operations of one update request in a single transaction
(``Store::update_opt`` wraps ``evaluate_update`` in ``storage.transaction``),
so a reader sees the old graph or the new one, never a mix, and a failure
leaves the old graph in place (tests/test_store.py checks both).  A graph
the store does not hold yet is written by one ``load`` of its triples, also
one transaction, without the SPARQL parser.

Beside the graphs, the store directory keeps the full-text index of the
claims (kb.fts, ``kb-search.sqlite``): every write of a document graph marks
the document pending in the index, commits the store's transaction, then
replaces the document's rows in one SQLite transaction.  The ontology graph
is not indexed; writing it refreshes the labels the index shows.  A crash
between the two commits leaves the document marked pending, and ``kb
reindex`` (``EmbeddedStore.reindex``) rebuilds the index from the store.

Queries run with the union of all graphs as the default graph; parameters
are bound as typed terms through Oxigraph's ``substitutions`` and never
pasted into the query text.  Queries that use SERVICE are refused before
they reach the store.  A CONSTRUCT or DESCRIBE answer is a ``GraphResult``:
an rdflib Graph that keeps Oxigraph's triples as they came until something
reads it as rdflib, so that writing it out (``kb query --format turtle``,
``kb export --speaker``) is pyoxigraph's work alone.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import io
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Mapping

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.stores.memory import Memory

from . import config, fts
from .errors import QueryError, StoreError
from .turtle import turtle_text

FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "trig": ox.RdfFormat.TRIG,
    "nt": ox.RdfFormat.N_TRIPLES,
    "nq": ox.RdfFormat.N_QUADS,
    "jsonld": ox.RdfFormat.JSON_LD,
}
# what a graph (a query's answer) can be written as: FORMATS and RDF/XML
WRITE_FORMATS = {**FORMATS, "rdfxml": ox.RdfFormat.RDF_XML}


def ontology_graph_iri() -> str:
    return config.base_iri() + "graph/ontology"


@dataclass
class SelectResult:
    """The answer to a SELECT query: variable names and rows of rdflib terms (None when unbound), or
    of plain strings when the store was asked for strings (``query(..., strings=True)``)."""

    variables: list[str]
    rows: list[tuple]


def _filled_first(method):
    """``method`` of rdflib's Memory store, called once _PendingMemory has filled itself."""
    @functools.wraps(method)
    def filled(self, *args, **kwargs):
        self.fill()
        return method(self, *args, **kwargs)
    return filled


class _PendingMemory(Memory):
    """rdflib's in-memory store, filled from a list of pyoxigraph triples the first time
    anything reads or writes it (GraphResult's store)."""

    def __init__(self, triples: list):
        super().__init__()
        self.pending: list | None = triples
        self.owner = None  # the GraphResult, the context its triples are added to
        self._distinct: int | None = None

    def fill(self) -> None:
        triples, self.pending = self.pending, None
        if triples is None:
            return
        add, context = super().add, self.owner
        term = interning_from_ox()  # an IRI made an rdflib term once per answer: predicates repeat

        for t in triples:
            add((term(t.subject), term(t.predicate), term(t.object)), context, False)

    def distinct(self) -> int:
        """How many different triples are pending (what rdflib's len would say), counted once."""
        if self._distinct is None:
            self._distinct = len(set(self.pending))
        return self._distinct

    # every way in to the triples fills the store first
    add = _filled_first(Memory.add)
    remove = _filled_first(Memory.remove)
    triples = _filled_first(Memory.triples)
    contexts = _filled_first(Memory.contexts)
    add_graph = _filled_first(Memory.add_graph)
    remove_graph = _filled_first(Memory.remove_graph)

    def __len__(self, context=None) -> int:
        if self.pending is not None and (context is None or context is self.owner):
            return self.distinct()
        return super().__len__(context)


class GraphResult(Graph):
    """The answer to a CONSTRUCT or DESCRIBE query: an rdflib Graph whose triples stay
    Oxigraph's (one list of ``pyoxigraph.Triple``, read once from the answer) until
    something reads it as an rdflib graph, which converts them then, once.

    ``write`` and ``serialized`` serialize the answer with pyoxigraph, without that
    conversion while nothing has asked for it: ``kb query --format turtle``, ``kb export
    --speaker`` and whatever only writes the answer out never build rdflib terms.
    Everything else (``len``, iteration, ``value``, ``+=``, ``isomorphic`` …) is
    rdflib's Graph, as ``store.query`` returned before.
    """

    def __init__(self, triples: Iterable = ()):  # (): rdflib's set operations make an empty one
        store = _PendingMemory(list(triples))
        super().__init__(store=store)
        store.owner = self
        self._pending = store

    def oxigraph_triples(self) -> list:
        """The answer's triples as pyoxigraph triples: those read from the store while no one has
        read the graph as rdflib (then maybe with duplicates, which serialize as one), else
        the rdflib graph's, converted (its blank nodes kept apart)."""
        if self._pending.pending is not None:
            return self._pending.pending
        return list(ox_triples(self))

    def write(self, fileobj: BinaryIO, format: str = "turtle", prefixes: Mapping[str, str] | None = None) -> None:
        """Serialize with pyoxigraph in one of WRITE_FORMATS (in a dataset format, as the default graph)."""
        write_triples(self.oxigraph_triples(), fileobj, format, prefixes)

    def serialized(self, format: str = "turtle", prefixes: Mapping[str, str] | None = None) -> bytes:
        out = io.BytesIO()
        self.write(out, format, prefixes)
        return out.getvalue()


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


@contextlib.contextmanager
def cyclic_gc_paused():
    """Hold off Python's cyclic garbage collector while an answer's rows are made into terms.

    The terms make no reference cycles, but each is an object the collector tracks, and the
    collections that their number sets off walk every object made so far: an answer of 100,000
    rows took 2.7 s to convert with the collector on, 1.6 s without it.  Reference counting
    frees memory as always; the collector is turned on again after, if it was on (a thread that
    finds it off leaves it to the one that turned it off).  The solutions are read from the
    store as they are converted, so the query's evaluation runs inside too.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def interning_from_ox():
    """``from_ox`` that makes each IRI an rdflib term once (for many terms with IRIs that repeat)."""
    iris: dict[str, URIRef] = {}

    def term(value):
        if isinstance(value, ox.NamedNode):
            found = iris.get(value.value)
            if found is None:
                found = iris[value.value] = URIRef(value.value)
            return found
        return from_ox(value)
    return term


# ---------------------------------------------------------------- SERVICE check

PARSER_LOCK = threading.Lock()


@functools.lru_cache(maxsize=256)
def check_query(sparql: str) -> None:
    """Parse ``sparql`` and refuse SERVICE (it makes the store fetch from the network)."""
    try:
        with PARSER_LOCK:  # pyparsing, under rdflib's parser, is not thread-safe (rdflib#1282)
            parsed = parseQuery(sparql)
    except Exception as exc:  # pyparsing's ParseException, and whatever else the grammar raises
        raise QueryError(f"not a valid SPARQL query: {one_line(exc)}") from None
    if _uses_service(parsed):
        raise QueryError("SERVICE is not allowed: queries run on the local store only")


_SERVICE_WORD = re.compile(r"service", re.IGNORECASE)  # IGNORECASE folds ſ, K, ı too: more hits, never fewer
_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _codepoint(match: re.Match) -> str:
    try:
        return chr(int(match.group(1) or match.group(2), 16))
    except ValueError:  # beyond Unicode: left as written
        return match.group()


# the brackets a query may open and skip check_query's parse (the named queries open up to 52,
# and a VALUES block or two more)
MAX_OPENINGS = 64


def needs_check(sparql: str) -> bool:
    """Whether the endpoint must run check_query on ``sparql`` before the store's parser reads it.

    Not when the text (after SPARQL's codepoint escapes, ``\\u0043``) has no word 'service' in any
    case anywhere, in strings, IRIs and comments too (a SERVICE clause begins with the keyword),
    no ``<<`` (RDF 1.2 triple terms: rdflib's parser refuses them, Oxigraph's took more than a
    minute on 200 nested ones) and at most MAX_OPENINGS of ``{ ( [`` in all, so nested no deeper
    (Oxigraph's parser crashed its process at 5,000 nested braces and took a second for 80
    nested blank nodes or lists; rdflib's refuses deep nesting).  Then check_query would find
    nothing to refuse, and its parse, 10 to 30 ms with rdflib's parser for a text never seen
    before, is saved.
    """
    text = _CODEPOINT.sub(_codepoint, sparql)
    if _SERVICE_WORD.search(text) or "<<" in text:
        return True
    return text.count("{") + text.count("(") + text.count("[") > MAX_OPENINGS


def _uses_service(node) -> bool:
    if isinstance(node, CompValue):
        return node.name == "ServiceGraphPattern" or any(_uses_service(v) for v in node.values())
    if isinstance(node, str) or not isinstance(node, Iterable):  # terms are str too
        return False
    return any(_uses_service(v) for v in node)  # pyparsing's ParseResults, lists


def fill_list(sparql: str, variable, terms: Iterable, write) -> str:
    """``sparql`` with its lines ``VALUES ?variable { }  # LIST`` (or ``VALUES (?a ?b) { }  # LIST``
    for a tuple of names) holding ``terms`` (rows of terms for a tuple), each written by ``write``."""
    names = (variable,) if isinstance(variable, str) else tuple(variable)
    if len(names) == 1:
        head = rf"\?{re.escape(names[0])}"
        block = " ".join(write(t) for t in terms)
    else:
        head = r"\(" + " ".join(rf"\?{re.escape(n)}" for n in names) + r"\)"
        block = " ".join("(" + " ".join(write(t) for t in row) + ")" for row in terms)
    text, found = re.subn(rf"^([ \t]*VALUES {head} \{{) \}}(?=[ \t]*# LIST[ \t]*$)",
                          lambda m: f"{m.group(1)} {block} }}", sparql, flags=re.MULTILINE)
    if not found:
        shown = names[0] if len(names) == 1 else "(" + " ".join(f"?{n}" for n in names) + ")"
        raise QueryError(f"the query has no line 'VALUES {'?' if len(names) == 1 else ''}{shown} {{ }}  # LIST'")
    return text


def triples_text(triples: Iterable) -> str:
    """Triples as lines of Turtle (N-Triples, but for long strings in triple quotes), which are also
    the body of an INSERT DATA: rdflib's own N3 form of each term, twice as fast to write as
    through pyoxigraph's terms."""
    return "\n".join(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in triples)


def one_line(message) -> str:
    """A message (or an exception) on one line, whitespace runs collapsed."""
    return " ".join(str(message).split()) or type(message).__name__


# ---------------------------------------------------------------- the store

READ_ONLY_RACE = "No such file or directory: While open a file"
READ_ONLY_ATTEMPTS = 5


def _open_read_only(path: Path) -> ox.Store:
    """``Store.read_only``, tried again when it loses the race with a writer.

    RocksDB's read-only mode reads the list of files, then opens them,
    holding no reference: a flush or compaction of a writer in between
    deletes one, and the open fails with ``READ_ONLY_RACE``; the next
    attempt reads the new list.
    """
    for attempt in range(READ_ONLY_ATTEMPTS):
        try:
            return ox.Store.read_only(str(path))
        except (OSError, RuntimeError) as exc:  # pyoxigraph reports it as either, by version
            if READ_ONLY_RACE not in str(exc) or attempt == READ_ONLY_ATTEMPTS - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")

class EmbeddedStore:
    """An on-disk Oxigraph store: one named graph per document, plus the ontology graph."""

    def __init__(self, store: ox.Store, path: Path, read_only: bool = False):
        self._store = store
        self.path = path
        self.read_only = read_only
        self._index: fts.SearchIndex | None = None
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, path, read_only: bool = False) -> "EmbeddedStore":
        """Open (creating it unless ``read_only``) the store in directory ``path``."""
        path = Path(path)
        try:
            if read_only:
                if not (path / "CURRENT").is_file():
                    raise StoreError(f"{path}: no store here (run `kb ingest` first)")
                return cls(_open_read_only(path), path, read_only=True)
            path.mkdir(parents=True, exist_ok=True)
            try:
                return cls(ox.Store(str(path)), path)
            except OSError:
                # The lock goes with the last reference to a closed store, and
                # a query's result iterator kept in a reference cycle holds one
                # until the garbage collector runs: collect, then try again.
                gc.collect()
                return cls(ox.Store(str(path)), path)
        except (OSError, RuntimeError) as exc:  # RuntimeError: a store whose creation was cut short
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

    # -------------------------------------------------------- the search index

    def search_index(self) -> fts.SearchIndex:
        """The full-text index of the claims (kb.fts), opened read-only with a read-only store.

        A store written before the index existed has none: ``fts.IndexMissing``
        (read-only), or an empty index marked incomplete (for writing) until
        ``reindex`` fills it.
        """
        if self._index is None:
            self._ox  # a closed store has no index either
            if self.read_only:
                self._index = fts.SearchIndex.open(self.path, read_only=True)
            else:
                fresh = not fts.SearchIndex.exists(self.path)
                index = fts.SearchIndex.open(self.path)
                if fresh:
                    index.set_complete(not self.documents() and not self._has_default_graph())
                self._index = index
        return self._index

    @contextlib.contextmanager
    def _indexing(self):
        """Errors of the search index as StoreError: the batch stops, as for the store itself."""
        try:
            yield self.search_index()
        except fts.IndexMissing as exc:  # for a writer: the file is there but cannot be opened
            raise StoreError(f"{one_line(exc)} (or delete {fts.FILE_NAME} and run it)") from None
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot write the search index ({one_line(exc)}): "
                             "run `kb reindex` once it is fixed") from None

    def _has_default_graph(self) -> bool:
        return next(iter(self._ox.quads_for_pattern(None, None, None, ox.DefaultGraph())), None) is not None

    def label(self, iri, predicates) -> str | None:
        """A label of ``iri`` in any graph of the store, by the first of ``predicates`` it has (English first)."""
        for predicate in predicates:
            values = [from_ox(q.object) for q in self._ox.quads_for_pattern(to_ox(URIRef(iri)), to_ox(predicate), None)]
            values = [v for v in values if isinstance(v, Literal)]
            if values:
                return str(min(values, key=lambda v: (v.language not in (None, "en"), v.language or "", str(v))))
        return None

    def _indexed_triples(self, name: str | None) -> fts.Triples:
        """The triples of one graph (None: the default graph) that the index reads (fts.INDEXED_PREDICATES):
        not a document's text, posts or topic assignments.  Read into fts.Triples, not an rdflib
        Graph, with each IRI made an rdflib term once: most of the time of ``kb reindex`` went there."""
        out = fts.Triples()
        graph = ox.DefaultGraph() if name is None else to_ox(URIRef(name))
        term = interning_from_ox()

        for predicate in dict.fromkeys(fts.INDEXED_PREDICATES):
            # the words, dates and offsets are read as their lexical forms (fts.LEXICAL): an rdflib
            # Literal parses its value, a quarter of the time of a rebuild
            lexical = predicate in fts.LEXICAL
            for quad in self._ox.quads_for_pattern(None, to_ox(predicate), None, graph):
                value = quad.object
                out.add((term(quad.subject), predicate,
                         value.value if lexical and isinstance(value, ox.Literal) else term(value)))
        return out

    def _index_graphs(self, names: Iterable[str | None]) -> None:
        """Replace the index rows of these graphs (None: the default graph) by what the store holds now."""
        with self._indexing() as index:
            self._index_each(index, names)

    def _index_each(self, index: fts.SearchIndex, names: Iterable[str | None]) -> None:
        for name in names:
            if name is None or name == fts.DEFAULT_GRAPH:
                index.replace_document(fts.DEFAULT_GRAPH, self._indexed_triples(None), self.label)
            elif name == ontology_graph_iri():
                index.set_labels(fts.ontology_labels(self._indexed_triples(name)))
            else:
                index.replace_document(name, self._indexed_triples(name), self.label)

    def _begin(self, names: Iterable[str | None]) -> None:
        with self._indexing() as index:
            for name in names:
                if name != ontology_graph_iri():
                    index.begin_document(fts.DEFAULT_GRAPH if name is None else name)

    def reindex(self, progress: bool = False) -> fts.RebuildReport:
        """Rebuild the search index from the store, document by document, in one transaction."""
        names = [*self.documents(), *([None] if self._has_default_graph() else [])]
        return fts.rebuild(self.search_index(), names, self._indexed_triples, self.label, progress=progress)

    def index_differences(self) -> list[str]:
        """How the search index differs from the store, one line per document (kb.fts.differences);
        counts the claims of every graph (queries/claims-per-graph.rq), reads no graph whole."""
        from . import queries  # kb.queries imports this module

        result = queries.run(self, queries.load_query("claims-per-graph"))
        counts = {str(graph): int(n) for graph, n in result.rows}
        counts = {graph: counts.get(graph, 0) for graph in self.documents()}
        return fts.differences(self.search_index(), counts)

    # -------------------------------------------------------- writing

    def replace_document(self, graph_iri, graph: Graph, text: str | None = None) -> None:
        """Replace the named graph ``graph_iri`` by ``graph``, in one transaction, then its index rows.

        ``text`` is the graph as ``triples_text`` writes it, when the caller
        has it already (an ingest worker writes it): then the store gets the
        triples of ``text``, and ``graph`` need hold only those the search
        index reads (kb.fts.INDEXED_PREDICATES).
        A graph the store does not hold yet is loaded from that text, one
        transaction that Oxigraph parses without a SPARQL parser; one it
        holds is replaced by ``DROP SILENT GRAPH <g> ; INSERT DATA {…}``, one
        update request and so one transaction.
        """
        is_ontology = str(graph_iri) == ontology_graph_iri()
        if not is_ontology:
            self._begin([str(graph_iri)])
        name = to_ox(URIRef(graph_iri))
        triples = triples_text(graph) if text is None else text
        try:
            with self._write_lock:  # nothing else writes between the look and the load
                if triples and not self._ox.contains_named_graph(name):
                    self._ox.load(triples, format=ox.RdfFormat.TURTLE, to_graph=name)
                else:
                    update = f"DROP SILENT GRAPH {name}"
                    if triples:
                        update += f" ;\nINSERT DATA {{ GRAPH {name} {{\n{triples}\n}} }}"
                    self._ox.update(update)
        except (OSError, SyntaxError) as exc:  # SyntaxError: a term the text cannot carry
            raise StoreError(f"{self.path}: cannot write {graph_iri}: {one_line(exc)}") from None
        if not is_ontology or fts.SearchIndex.exists(self.path):  # no index yet: the ontology waits for one
            with self._indexing() as index:
                if is_ontology:
                    index.set_labels(fts.ontology_labels(graph))
                else:
                    index.replace_document(str(graph_iri), graph, self.label)

    def add_to_default_graph(self, graph: Graph) -> None:
        """Add the triples of ``graph`` to the store's default graph (kb load), in one transaction."""
        triples = ntriples_text(graph)
        if not triples:
            return
        self._begin([None])
        try:
            self._ox.update(f"INSERT DATA {{\n{triples}\n}}")
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot write the default graph: {one_line(exc)}") from None
        self._index_graphs([None])

    def update(self, sparql: str, base_iri: str | None = None,
               changed: Iterable[str | None] | None = None) -> None:
        """Run a SPARQL Update as it is, in one transaction (kb.updates checks it first).

        ``changed`` names the graphs the update changes (None: the default
        graph), as kb.updates finds them on a copy: their index rows are
        replaced after the store's transaction commits.
        """
        changed = list(changed or [])
        self._begin(changed)
        try:
            with self._write_lock:
                self._ox.update(sparql, base_iri=base_iri)
        except SyntaxError as exc:
            raise QueryError(f"not a valid SPARQL update: {one_line(exc)}") from None
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot write: {one_line(exc)}") from None
        self._index_graphs(changed)

    def set_ontology(self, graph: Graph) -> None:
        self.replace_document(ontology_graph_iri(), graph)

    def optimize(self) -> None:
        self._ox.optimize()

    def flush(self) -> None:
        """Write what Oxigraph holds in memory to disk.  Oxigraph sets RocksDB up with large write
        buffers for each of its indexes, filled before it writes them out itself: an ingest that
        flushes every 250,000 triples stays under 500 MB instead of passing 2 GB, at the same
        speed (bench/RESULTS.md, "An ingest's memory")."""
        self._ox.flush()

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None
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

    def query(self, sparql: str, bindings: Mapping[str, object] | None = None, strings: bool = False):
        """Run a query over the union of all graphs.

        Returns a ``SelectResult`` for SELECT, a ``GraphResult`` (an rdflib Graph
        that keeps Oxigraph's triples until read as one) for CONSTRUCT and
        DESCRIBE, a bool for ASK.  ``bindings`` maps variable names to rdflib
        or pyoxigraph terms; Oxigraph requires each bound variable to be one of
        the SELECT's projected variables.  ``strings``: a SELECT's cells as
        plain strings (an IRI, a literal's lexical form as stored, None when
        unbound), what the pages show, without making an rdflib term of each.
        """
        check_query(sparql)
        return self._query(sparql, bindings, strings)

    def query_listed(self, sparql: str, variable, terms: Iterable,
                     bindings: Mapping[str, object] | None = None, strings: bool = False):
        """``query`` with the line ``VALUES ?variable { }  # LIST`` of ``sparql`` holding ``terms``
        (rdflib or pyoxigraph terms, written by pyoxigraph as N-Triples terms, never pasted as given).
        ``variable`` may be a tuple of names (``VALUES (?a ?b) { }  # LIST``), ``terms`` then rows of
        as many terms; ``bindings`` and ``strings`` are as for ``query``.

        ``sparql`` is checked once (check_query is cached by text), not once per list: a page
        that lists the claims it shows pays no parse of the query per request.
        """
        check_query(sparql)
        return self._query(fill_list(sparql, variable, terms, lambda t: str(to_ox(t))), bindings, strings)

    def _query(self, sparql: str, bindings: Mapping[str, object] | None, strings: bool = False):
        try:
            substitutions = {ox.Variable(k): to_ox(v) for k, v in (bindings or {}).items()}
            result = self._ox.query(sparql, use_default_graph_as_union=True,
                                    substitutions=substitutions)
            if isinstance(result, ox.QueryBoolean):
                return bool(result)
            if isinstance(result, ox.QueryTriples):
                return GraphResult(result)
            variables = [v.value for v in result.variables]
            if strings:
                rows = [tuple(None if term is None else term.value for term in solution) for solution in result]
            else:
                term = interning_from_ox()  # IRIs repeat down a column: a graph's, a speaker's, a kind's
                with cyclic_gc_paused():
                    rows = [tuple(map(term, solution)) for solution in result]
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
    """Serialize an rdflib graph (or any iterable of rdflib triples) in one of WRITE_FORMATS (in a
    dataset format, as its default graph); a query's answer (GraphResult) without rdflib terms."""
    if isinstance(graph, GraphResult):
        graph.write(fileobj, format, prefixes)
        return
    write_triples(ox_triples(graph), fileobj, format, prefixes)


def ox_triples(triples: Iterable) -> Iterator:
    """rdflib triples as pyoxigraph triples, each blank node of them one blank node of Oxigraph's."""
    bnodes: dict = {}
    return (ox.Triple(to_ox(s, bnodes), to_ox(p), to_ox(o, bnodes)) for s, p, o in triples)


def ntriples_text(triples: Iterable) -> str:
    """rdflib triples as lines of N-Triples, written by pyoxigraph (ox_triples)."""
    return "\n".join(f"{t} ." for t in ox_triples(triples))


def write_triples(triples: Iterable, fileobj: BinaryIO, format: str = "turtle",
                  prefixes: Mapping[str, str] | None = None) -> None:
    """Serialize pyoxigraph triples with pyoxigraph in one of WRITE_FORMATS (in a dataset format,
    as the default graph); ``prefixes`` for Turtle, TriG and RDF/XML."""
    if format not in WRITE_FORMATS:
        raise QueryError(f"unknown format {format!r} (one of: {', '.join(WRITE_FORMATS)})")
    rdf_format = WRITE_FORMATS[format]
    if rdf_format.supports_datasets:
        triples = (ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    prefixes = dict(prefixes or {}) if format in ("turtle", "trig", "rdfxml") else None
    ox.serialize(triples, fileobj, rdf_format, prefixes=prefixes)


def write_statements(statements: Iterable[tuple[str, str, str, str | None]], fileobj: BinaryIO,
                     format: str = "turtle", prefixes: Mapping[str, str] | None = None) -> None:
    """Statements of plain strings (subject IRI, predicate IRI, object, the object's datatype IRI:
    '' for a plain string, never xsd:string's IRI; None for an IRI), each written once.  Turtle is
    written from the strings (kb.turtle), no term made; the other formats by pyoxigraph
    (write_triples), each IRI made a term once and no rdflib term at all.  Making the terms was
    most of the time: 60,000 statements took 93-113 ms that way, where pyoxigraph's writing is
    12 ms of it (bench/RESULTS.md)."""
    if format == "turtle":
        fileobj.write(turtle_text(statements, prefixes).encode())
        return
    nodes: dict[str, ox.NamedNode] = {}
    named_node, literal, triple = ox.NamedNode, ox.Literal, ox.Triple

    def node(value: str) -> ox.NamedNode:
        made = nodes[value] = named_node(value)
        return made

    triples = []
    for s, p, o, datatype in dict.fromkeys(statements):
        obj = (nodes.get(o) or node(o) if datatype is None
               else literal(o, datatype=nodes.get(datatype) or node(datatype)) if datatype else literal(o))
        triples.append(triple(nodes.get(s) or node(s), nodes.get(p) or node(p), obj))
    write_triples(triples, fileobj, format, prefixes)


# ---------------------------------------------------------------- choosing the backend

def open_store(spec, read_only: bool = False):
    """The store that ``spec`` names: a ``sparql+http(s)://`` URL is a SPARQL server
    (kb.remote.RemoteStore), anything else a directory of the embedded store."""
    from .remote import RemoteStore, is_remote

    if is_remote(spec):
        return RemoteStore.open(str(spec), read_only=read_only)
    return EmbeddedStore.open(spec, read_only=read_only)
