"""Queries in worker processes, each with a time-out.

Oxigraph has no time-out of its own and a running query cannot be stopped
from another thread, so every query of the SPARQL endpoint runs in one of a
small pool of worker processes.  A worker opens the store read-only
(``pyoxigraph.Store.read_only``: no lock, so ``kb ingest`` can write the
store meanwhile) and opens it again when the store's files have changed,
so that it answers from what was last written.  When a query overruns its
time, its worker is killed and a fresh one takes its place; the other
workers go on answering.  A worker may also be given a cap on its memory
(``RLIMIT_DATA``, the heap and the anonymous mappings): a query that needs
more (``CONCAT`` doubling a string forty times over) stops that worker
alone, which is replaced, and is answered 503 rather than taking the
machine's memory.

This module imports only the standard library and pyoxigraph, so that a
worker starts fast.  Requests and answers are plain dicts, tuples, strings
and bytes.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import queue
import resource
import signal
import threading
from dataclasses import dataclass, field

import pyoxigraph as ox

# key -> (pyoxigraph format, media type with charset); the keys are those of the `format` parameter
RESULT_FORMATS = {
    "json": (ox.QueryResultsFormat.JSON, "application/sparql-results+json; charset=utf-8"),
    "xml": (ox.QueryResultsFormat.XML, "application/sparql-results+xml; charset=utf-8"),
    "csv": (ox.QueryResultsFormat.CSV, "text/csv; charset=utf-8"),
    "tsv": (ox.QueryResultsFormat.TSV, "text/tab-separated-values; charset=utf-8"),
}
GRAPH_FORMATS = {
    "turtle": (ox.RdfFormat.TURTLE, "text/turtle; charset=utf-8"),
    "nt": (ox.RdfFormat.N_TRIPLES, "application/n-triples; charset=utf-8"),
    "jsonld": (ox.RdfFormat.JSON_LD, "application/ld+json; charset=utf-8"),
    "rdfxml": (ox.RdfFormat.RDF_XML, "application/rdf+xml; charset=utf-8"),
    "trig": (ox.RdfFormat.TRIG, "application/trig; charset=utf-8"),
    "nq": (ox.RdfFormat.N_QUADS, "application/n-quads; charset=utf-8"),
}
# the files whose change means the store was written (RocksDB's write-ahead logs and manifests)
_STORE_FILES = ("CURRENT", "MANIFEST-", ".log")


class QueryTimeout(Exception):
    """The query ran longer than its time; its worker was replaced."""


TOO_BIG = "the query needed more memory than a query worker may use (kb serve --query-memory)"


@dataclass
class Answer:
    """A worker's answer: an HTTP status, a media type and the body."""

    status: int
    media_type: str
    body: bytes
    truncated: bool = False
    headers: dict = field(default_factory=dict)


# ---------------------------------------------------------------- in the worker

def store_signature(path: str) -> tuple:
    """What changes when the store at ``path`` is written: its logs' and manifests' names, sizes, times."""
    try:
        entries = os.scandir(path)
    except OSError:
        return ()
    signature = []
    with entries:
        for e in entries:
            if e.name.startswith(_STORE_FILES[:2]) or e.name.endswith(_STORE_FILES[2]):
                try:
                    info = e.stat()
                except OSError:  # removed by the writer since the listing
                    continue
                signature.append((e.name, info.st_size, info.st_mtime_ns))
    return tuple(sorted(signature))


def _json_term(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": _json_term(term.subject),
                                            "predicate": _json_term(term.predicate),
                                            "object": _json_term(term.object)}}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    else:
        out["datatype"] = term.datatype.value
    return out


def _solutions(result, fmt: str, max_rows: int) -> tuple[bytes, bool]:
    """At most ``max_rows`` solutions, serialized by pyoxigraph (after a round trip through JSON)."""
    variables = [v.value for v in result.variables]
    rows, truncated = [], False
    for solution in result:
        if len(rows) == max_rows:
            truncated = True
            break
        rows.append({v: _json_term(solution[v]) for v in variables if solution[v] is not None})
    doc = json.dumps({"head": {"vars": variables}, "results": {"bindings": rows}}).encode()
    capped = ox.parse_query_results(doc, ox.QueryResultsFormat.JSON)
    return capped.serialize(format=RESULT_FORMATS[fmt][0]), truncated


def _triples(result, fmt: str, max_rows: int) -> tuple[bytes, bool]:
    triples, truncated = [], False
    for triple in result:
        if len(triples) == max_rows:
            truncated = True
            break
        triples.append(triple)
    rdf_format = GRAPH_FORMATS[fmt][0]
    if rdf_format.supports_datasets:
        triples = [ox.Quad(t.subject, t.predicate, t.object) for t in triples]
    return ox.serialize(triples, format=rdf_format), truncated


def answer(store: ox.Store, request: dict) -> Answer:
    """Run one query request on an open store (in a worker, or in-process for tests)."""
    kwargs = {}
    if request.get("default_graph") is not None:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in request["default_graph"]]
    if request.get("named_graphs") is not None:
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in request["named_graphs"]]
        kwargs.setdefault("default_graph", [])  # named graphs alone: an empty default graph
    if not kwargs:
        kwargs["use_default_graph_as_union"] = True
    try:
        result = store.query(request["query"], base_iri=request.get("base_iri"), **kwargs)
        if isinstance(result, ox.QueryTriples):
            fmt = request["graph_format"]
            if fmt is None:
                return Answer(406, "text/plain; charset=utf-8", request["not_acceptable"].encode())
            body, truncated = _triples(result, fmt, request["max_rows"])
            return Answer(200, GRAPH_FORMATS[fmt][1], body, truncated)
        fmt = request["result_format"]
        if isinstance(result, ox.QueryBoolean):
            fmt = request.get("boolean_format")
        if fmt is None:
            return Answer(406, "text/plain; charset=utf-8", request["not_acceptable"].encode())
        if isinstance(result, ox.QueryBoolean):
            return Answer(200, RESULT_FORMATS[fmt][1], result.serialize(format=RESULT_FORMATS[fmt][0]))
        body, truncated = _solutions(result, fmt, request["max_rows"])
        return Answer(200, RESULT_FORMATS[fmt][1], body, truncated)
    except SyntaxError as exc:
        return Answer(400, "text/plain; charset=utf-8", f"not a valid SPARQL query: {exc}".encode())
    except MemoryError:
        return Answer(503, "text/plain; charset=utf-8", TOO_BIG.encode())
    except (OSError, RuntimeError, ValueError) as exc:
        return Answer(500, "text/plain; charset=utf-8", f"the query failed: {exc}".encode())


def _worker(conn, store_path: str, memory_limit: int | None = None) -> None:
    """A worker's loop: open the store read-only, answer requests until the pipe closes."""
    if memory_limit:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_limit, memory_limit))
        os.environ["RUST_BACKTRACE"] = "0"  # a failed allocation aborts: one line on stderr, not a backtrace
    store, seen = None, None
    try:  # open the store now, not at the first request
        seen = store_signature(store_path)
        store = ox.Store.read_only(store_path)
    except (OSError, RuntimeError):
        store = None  # tried again, and reported, at the first request
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):  # the server has gone
            return
        try:
            now = store_signature(store_path)
            if store is None or now != seen:
                try:
                    store, seen = ox.Store.read_only(store_path), now
                except (OSError, RuntimeError):
                    if store is None:
                        raise
                    # the writer is flushing or compacting: answer from the store opened
                    # before, which is whole, and reopen at the next request
            reply = answer(store, request)
        except MemoryError:
            reply = Answer(503, "text/plain; charset=utf-8", TOO_BIG.encode())
        except Exception as exc:  # noqa: BLE001 - a worker must answer, whatever happened
            reply = Answer(500, "text/plain; charset=utf-8", f"the query failed: {exc}".encode())
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


# ---------------------------------------------------------------- in the server

class _Worker:
    def __init__(self, ctx, store_path: str, memory_limit: int | None):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, store_path, memory_limit), daemon=True,
                                   name="kb-query-worker")
        self.process.start()
        child.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class QueryPool:
    """``size`` worker processes on the store at ``store_path``, each with at most ``memory_limit``
    bytes of heap (None: no cap); ``run`` answers one request."""

    def __init__(self, store_path, size: int = 2, memory_limit: int | None = None):
        self._ctx = multiprocessing.get_context("spawn")  # never fork a threaded server
        self._path = str(store_path)
        self._memory_limit = memory_limit
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._all: list[_Worker] = []
        self._closed = False
        for _ in range(size):
            self._add()

    def _add(self) -> None:
        worker = _Worker(self._ctx, self._path, self._memory_limit)
        with self._lock:
            self._all.append(worker)
        self._idle.put(worker)

    def run(self, request: dict, timeout: float) -> Answer:
        """The answer to ``request``; QueryTimeout when it takes longer than ``timeout`` seconds,
        waiting for a free worker included."""
        try:
            worker = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise QueryTimeout() from None
        try:
            worker.conn.send(request)
            if worker.conn.poll(timeout):
                reply = worker.conn.recv()
                self._idle.put(worker)
                return reply
        except (EOFError, OSError):  # the worker died: replace it
            worker.process.join(5)
            aborted = worker.process.exitcode == -signal.SIGABRT  # an allocation failed (Rust aborts)
            self._replace(worker)
            if aborted and self._memory_limit:
                return Answer(503, "text/plain; charset=utf-8", TOO_BIG.encode())
            return Answer(500, "text/plain; charset=utf-8", b"the query worker failed")
        self._replace(worker)
        raise QueryTimeout()

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
            if self._closed:
                return
        self._add()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
        for worker in workers:
            worker.kill()
