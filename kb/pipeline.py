"""Ingest and validate: files -> documents -> claims -> graphs -> the store.

``ingest`` reads, extracts, builds and validates each document's graph
before anything is written, then replaces that document's named graph in
one transaction; a file that fails is reported (file and reason, one line)
and the rest of the batch goes on.  ``load`` puts RDF that already exists
into the store as it is, each graph validated like a document's.
``validate_store`` checks what the store holds, a chunk of document graphs
at a time, with ``jobs`` worker processes that each open the store read-only.

Ingest works on chunks of files: ``prepare_chunk`` reads, extracts and
builds each file's graph, then validates the chunk's graphs in one pySHACL
call (kb.validate maps each violation back to its document).  With
``jobs`` > 1 a pool of worker processes prepares the chunks while this
process writes the documents to the store, in the order of the input; a
batch smaller than ``POOL_MIN_FILES`` is prepared here, without paying for
starting the workers.
"""
from __future__ import annotations

import io
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from tqdm import tqdm

from .errors import InputError, KbError, ValidationError
from .store import EmbeddedStore, one_line

if TYPE_CHECKING:
    from rdflib import Graph

PROGRESS_MIN_FILES = 5  # no progress bar for a handful of files
OPTIMIZE_MIN_DOCUMENTS = 50  # compact the store after an ingest this large
FLUSH_TRIPLES = 250_000  # an ingest flushes the store's writes to disk after about this many triples
DEFAULT_JOBS = 2
POOL_MIN_FILES = 8  # fewer files than this are prepared in this process
CHUNK_BYTES = 256 * 1024  # a chunk: consecutive files up to about this much text ...
CHUNK_FILES = 64  # ... and at most this many files
STAGES = ("read", "extract", "build", "validate", "store")  # CPU seconds of each, summed over processes


@dataclass
class IngestReport:
    documents: list[str] = field(default_factory=list)  # names of the documents stored
    claims: int = 0
    posts: int = 0
    failures: list[str] = field(default_factory=list)  # 'FILE: reason', one line each
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))  # summed over workers

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        failed = f"; {len(self.failures)} file(s) failed" if self.failures else ""
        return f"ingested {len(self.documents)} document(s), {self.claims} claim(s){failed}"


@dataclass
class Prepared:
    """One file, ready to be written (``text``, ``graph``) or failed (``failure``, one line).

    For the embedded store a worker sends the graph as text (Turtle lines,
    what the store loads) and, as an rdflib graph, only the triples the
    search index reads (kb.fts.INDEXED_PREDICATES, as ``kb reindex`` reads
    them from the store): unpickling an rdflib graph costs about as much as
    building it, some 20 microseconds a triple, in the process that writes.
    For another store the whole graph travels (``text`` is None).
    """

    path: str
    name: str | None = None
    iri: str | None = None
    graph: Graph | None = None
    text: str | None = None  # the whole graph as kb.store.triples_text writes it, for the store
    claims: int = 0
    posts: int = 0
    failure: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def prepare_chunk(paths: list[str], whole_graphs: bool = True) -> list[Prepared]:
    """Read, extract and build each file's graph, then validate them all (kb.validate.validate_graphs:
    one pySHACL call for the chunk, or one turbo call per document).

    With ``whole_graphs`` False, each graph comes as text plus the triples
    the search index reads (for the embedded store), else as the graph
    itself.  Each document's triples are built once, as a list; an rdflib
    graph of them is made only when something reads one: pySHACL, or the
    caller (``whole_graphs``).
    """
    from .extract import extract_claims
    from .lexicon import load_lexicon
    from .readers import read_document
    from .rdf import document_iri, document_triples, triples_graph
    from .store import triples_text
    from .validate import reads_text, validate_graphs

    lexicon = load_lexicon()
    # An engine that checks the text alone (turbo): the embedded store then needs no rdflib graph at all.
    lean = not whole_graphs and reads_text()
    out: list[Prepared] = []
    graphs = []
    for path in paths:
        item = Prepared(str(path))
        out.append(item)
        try:
            t0 = time.process_time()
            doc = read_document(path)
            t1 = time.process_time()
            claims = extract_claims(doc, lexicon)
            t2 = time.process_time()
            triples = document_triples(doc, claims)
            text = triples_text(triples)  # for the checks across documents, then for the store
            graph = triples if lean else triples_graph(document_iri(doc.name), triples)
            t3 = time.process_time()
        except KbError as exc:
            item.failure = one_line(exc)
            continue
        except Exception as exc:  # a bug in extraction must not cost the rest of the batch
            item.failure = one_line(f"{path}: {type(exc).__name__}: {exc}")
            continue
        item.name, item.iri = doc.name, str(document_iri(doc.name))
        item.claims, item.posts = len(claims), len(doc.posts)
        item.seconds = {"read": t1 - t0, "extract": t2 - t1, "build": t3 - t2}
        graphs.append((item, graph, text, triples))
    if graphs:
        t0 = time.process_time()
        try:
            verdicts = validate_graphs([g for _, g, _, _ in graphs], texts=[t for _, _, t, _ in graphs])
        except Exception as exc:  # the shapes could not run: every file of the chunk fails alike
            reason = exc if isinstance(exc, KbError) else f"{type(exc).__name__}: {exc}"
            verdicts = None
            for item, _, _, _ in graphs:
                item.failure = one_line(f"{item.path}: validation failed: {reason}")
        share = (time.process_time() - t0) / len(graphs)
        for n, (item, graph, text, triples) in enumerate(graphs):
            item.seconds["validate"] = share
            if verdicts is None:
                continue
            if verdicts[n]:
                item.failure = one_line(ValidationError(item.path, verdicts[n]))
            elif whole_graphs:
                item.graph = graph
            else:
                t0 = time.process_time()
                item.graph, item.text = indexed_triples(triples), text
                item.seconds["store"] = time.process_time() - t0
    return out


def indexed_triples(triples: Iterable):
    """The triples (of a graph, or a list of them) that the search index reads, in the index's own
    light container (kb.fts.Triples)."""
    from . import fts

    wanted = frozenset(fts.INDEXED_PREDICATES)
    out = fts.Triples()
    for triple in triples:
        if triple[1] in wanted:
            out.add(triple)
    return out


def _prepare_for_embedded(paths: list[str]) -> list[Prepared]:
    return prepare_chunk(paths, whole_graphs=False)


def chunks(files: list[Path], max_bytes: int = CHUNK_BYTES, max_files: int = CHUNK_FILES) -> list[list[str]]:
    """Consecutive files grouped by size, so that small files share a pySHACL call."""
    out: list[list[str]] = []
    current: list[str] = []
    size = 0
    for path in files:
        try:
            length = path.stat().st_size
        except OSError:
            length = 0  # read_document says what is wrong with it
        if current and (size + length > max_bytes or len(current) >= max_files):
            out.append(current)
            current, size = [], 0
        current.append(str(path))
        size += length
    if current:
        out.append(current)
    return out


def _worker_init(environment: dict[str, str]) -> None:
    """A worker reads the same ontology under the same base as the process that started it."""
    os.environ.update(environment)
    from .lexicon import load_lexicon
    from .rdf import ontology_graph
    from .validate import ontology_axioms, shapes_graph

    load_lexicon()
    ontology_axioms(ontology_graph())
    shapes_graph()


def _prepared_in_order(batches: list[list[str]], jobs: int, whole_graphs: bool) -> Iterable[list[Prepared]]:
    """The prepared chunks in input order: here, or from ``jobs`` worker processes."""
    prepare = prepare_chunk if whole_graphs else _prepare_for_embedded
    if jobs <= 1:
        for batch in batches:
            yield prepare(batch)
        return
    yield from _in_pool("an ingest worker process", batches, jobs, prepare)


def ingest(paths: Iterable, store: EmbeddedStore, progress: bool = True, jobs: int = DEFAULT_JOBS) -> IngestReport:
    """Ingest the files named and the files under the folders named, with ``jobs`` worker processes."""
    from rdflib import URIRef

    from .readers import iter_files

    report = IngestReport()
    files = list(iter_files(paths))
    if not files:
        return report
    # Imported here so that the commands that only read the store start fast.
    from .rdf import ontology_graph

    store.set_ontology(ontology_graph())
    jobs = max(1, int(jobs))
    if len(files) < POOL_MIN_FILES:
        jobs = 1
    batches = chunks(files)
    embedded = isinstance(store, EmbeddedStore)
    show = progress and len(files) >= PROGRESS_MIN_FILES and sys.stderr.isatty()
    unflushed = 0  # triples written since the last flush
    with tqdm(total=len(files), disable=not show, file=sys.stderr, unit="file", leave=False) as bar:
        for prepared in _prepared_in_order(batches, jobs, whole_graphs=not embedded):
            for item in prepared:
                for stage, seconds in item.seconds.items():
                    report.seconds[stage] += seconds
                if item.failure is not None:
                    report.failures.append(item.failure)
                    continue
                t0 = time.process_time()
                # a StoreError stops the batch: the store, not the file, is at fault
                if embedded:
                    store.replace_document(URIRef(item.iri), item.graph, text=item.text)
                    unflushed += item.text.count("\n") + 1
                    if unflushed >= FLUSH_TRIPLES:
                        store.flush()
                        unflushed = 0
                else:
                    store.replace_document(URIRef(item.iri), item.graph)
                report.seconds["store"] += time.process_time() - t0
                report.documents.append(item.name)
                report.claims += item.claims
                report.posts += item.posts
            bar.update(len(prepared))
    if len(report.documents) >= OPTIMIZE_MIN_DOCUMENTS:
        store.optimize()
    return report


LOAD_FORMATS = ("ttl", "nt", "trig", "nq", "jsonld")  # file name extensions pyoxigraph knows


def load(path, store: EmbeddedStore, graph_iri: str | None = None) -> dict[str, int]:
    """Load an RDF file into the store: {graph ('' for the default graph): triples}.

    Triples go into the named graph ``graph_iri`` (replacing it) when given,
    else into the default graph; quads (TriG, N-Quads, JSON-LD with graphs)
    into their own graphs, each replaced.  Every graph is validated with the
    SHACL shapes first, and nothing is written unless all of them conform.
    """
    from pathlib import Path

    import pyoxigraph as ox
    from rdflib import Graph, URIRef

    from .store import from_ox
    from .validate import validate_graphs

    path = Path(path)
    extension = path.suffix.lstrip(".").lower()
    fmt = ox.RdfFormat.from_extension(extension) if extension in LOAD_FORMATS else None
    if fmt is None:
        raise InputError(path, f"unknown RDF format (the name must end in .{', .'.join(LOAD_FORMATS)})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None
    graphs: dict[str, Graph] = {}
    try:
        for quad in ox.parse(data, format=fmt, base_iri=path.resolve().as_uri()):
            name = "" if isinstance(quad.graph_name, ox.DefaultGraph) else quad.graph_name.value
            target = graphs.setdefault(graph_iri if graph_iri is not None else name, Graph())
            target.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
    except (SyntaxError, ValueError, TypeError) as exc:
        raise InputError(path, f"not valid {fmt.name}: {one_line(exc)}") from None
    graphs = {name: g for name, g in graphs.items() if len(g) or name}
    for name, violations in zip(graphs, validate_graphs(list(graphs.values()))):
        if violations:
            raise ValidationError(f"{path} ({name or 'default graph'})", violations)
    for name, graph in graphs.items():
        if name:
            store.replace_document(URIRef(name), graph)
        else:
            store.add_to_default_graph(graph)
    return {name: len(graph) for name, graph in graphs.items()}


VALIDATE_BATCH = 8  # document graphs a worker of validate_store reads and checks per task
# triples per pySHACL call in validate_store: a call costs more per claim on a larger graph
# (on generated documents of about 12,000 triples, 10-15 % more CPU per claim in calls of
# 200,000 triples than in calls of one document)
CHECK_TRIPLES = 40_000


@dataclass
class StoreVerdict:
    """What ``validate_store`` found: violations (each prefixed by its graph IRI) and how much it read."""

    problems: list[str] = field(default_factory=list)
    documents: int = 0
    claims: int = 0
    triples: int = 0
    seconds: float = 0.0  # wall clock
    cpu_seconds: float = 0.0  # summed over the processes that read and validated

    def per_100k_claims(self, seconds: float | None = None) -> float | None:
        """Seconds (by default the wall clock) per 100,000 claims."""
        seconds = self.seconds if seconds is None else seconds
        return seconds * 100_000 / self.claims if self.claims else None


def validate_documents(store, iris: list[str], chunk_triples: int = CHECK_TRIPLES) -> StoreVerdict:
    """Read these document graphs from ``store`` and validate them, up to about ``chunk_triples`` per pySHACL call."""
    from rdflib.namespace import RDF

    from .rdf import SCHEMA
    from .validate import reads_text, validate_graphs, validate_texts

    verdict = StoreVerdict()
    started = time.process_time()
    chunk: list = []
    size = 0
    embedded = isinstance(store, EmbeddedStore)
    if embedded and reads_text():  # turbo: each graph from its N-Triples alone, no rdflib graph built
        for iri in iris:
            (checked,) = validate_texts([_graph_text(store, iri)])
            verdict.problems.extend(f"{iri}: {one_line(v)}" for v in checked.problems)
            verdict.documents += 1
            verdict.triples += checked.triples
            verdict.claims += checked.claims
        verdict.cpu_seconds = time.process_time() - started
        return verdict

    def flush() -> None:
        texts = [t for _, _, t in chunk] if embedded else None
        for (iri, _, _), violations in zip(chunk, validate_graphs([g for _, g, _ in chunk], texts=texts)):
            verdict.problems.extend(f"{iri}: {one_line(v)}" for v in violations)
        chunk.clear()

    for iri in iris:
        graph = store.graph(iri)
        text = _graph_text(store, iri) if embedded else None  # for the checks Oxigraph runs
        chunk.append((iri, graph, text))
        size += len(graph)
        verdict.documents += 1
        verdict.triples += len(graph)
        verdict.claims += len(set(graph.subjects(RDF.type, SCHEMA.Claim)))
        if size >= chunk_triples:
            flush()
            size = 0
    if chunk:
        flush()
    verdict.cpu_seconds = time.process_time() - started
    return verdict


def _graph_text(store: EmbeddedStore, iri: str) -> str:
    """A document graph of the embedded store as N-Triples, written by Oxigraph."""
    buffer = io.BytesIO()
    store.dump(buffer, "nt", graph=iri)
    return buffer.getvalue().decode("utf-8")


_WORKER_STORES: dict = {}  # a validate worker's read-only store, opened once


def _validate_task(spec: str, iris: list[str]) -> StoreVerdict:
    """In a worker: open the store read-only (once) and validate these document graphs."""
    from .store import open_store

    store = _WORKER_STORES.get(spec)
    if store is None:
        _WORKER_STORES.clear()
        store = _WORKER_STORES[spec] = open_store(spec, read_only=True)
    return validate_documents(store, iris)


def validate_store(store: EmbeddedStore, chunk_triples: int = CHECK_TRIPLES, jobs: int = 1,
                   progress: bool = False) -> list[str]:
    """SHACL violations of every document graph in the store, each prefixed by its graph IRI."""
    return check_store(store, chunk_triples, jobs, progress).problems


def check_store(store: EmbeddedStore, chunk_triples: int = CHECK_TRIPLES, jobs: int = 1,
                progress: bool = False) -> StoreVerdict:
    """Validate every document graph in the store, with ``jobs`` worker processes.

    Document graphs are validated a chunk at a time (up to about
    ``chunk_triples`` triples per pySHACL call), so memory stays that of a
    chunk whatever the size of the store.  With ``jobs`` > 1 each worker
    opens the store read-only itself (``store.path``: a directory or a
    SPARQL server's URL) and checks batches of ``VALIDATE_BATCH`` graphs;
    the violations come back in the order of the graphs.
    """
    started = time.perf_counter()
    iris = store.documents()
    batches = [iris[i:i + VALIDATE_BATCH] for i in range(0, len(iris), VALIDATE_BATCH)]
    total = StoreVerdict()
    show = progress and sys.stderr.isatty()
    with tqdm(total=len(iris), disable=not show, file=sys.stderr, unit="graph", leave=False) as bar:
        for verdict in _verdicts_in_order(store, batches, max(1, int(jobs)), chunk_triples):
            total.problems.extend(verdict.problems)
            total.documents += verdict.documents
            total.claims += verdict.claims
            total.triples += verdict.triples
            total.cpu_seconds += verdict.cpu_seconds
            bar.update(verdict.documents)
            bar.set_postfix_str(f"{total.claims} claims")
    total.seconds = time.perf_counter() - started
    return total


def _verdicts_in_order(store, batches: list[list[str]], jobs: int, chunk_triples: int) -> Iterable[StoreVerdict]:
    if jobs <= 1 or len(batches) < 2:
        for batch in batches:
            yield validate_documents(store, batch, chunk_triples)
        return
    yield from _in_pool("a validation worker process", batches, jobs, _validate_task, str(store.path))


def _in_pool(who: str, batches: list, jobs: int, task, *args) -> Iterable:
    """``task(*args, batch)`` for each batch in ``jobs`` worker processes, the answers in the order of the batches."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from . import config

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    environment = {"KB_ONTOLOGY": str(config.ontology_dir()), "KB_BASE": config.base_iri(),
                   "KB_SHACL_ENGINE": config.shacl_engine()}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method),
                             initializer=_worker_init, initargs=(environment,)) as pool:
        pending: deque = deque()
        todo = iter(batches)
        try:
            while True:
                while len(pending) < 2 * jobs:  # a few batches ahead, not the whole work in memory
                    batch = next(todo, None)
                    if batch is None:
                        break
                    pending.append(pool.submit(task, *args, batch))
                if not pending:
                    return
                yield pending.popleft().result()
        except BrokenProcessPool as exc:
            raise KbError(f"{who} died: {one_line(exc)}") from None
        finally:
            for future in pending:
                future.cancel()
