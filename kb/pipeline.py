"""Ingest and validate: files -> documents -> claims -> graphs -> the store.

``ingest`` reads, extracts, builds and validates each document's graph
before anything is written, then replaces that document's named graph in
one transaction; a file that fails is reported (file and reason, one line)
and the rest of the batch goes on.  ``load`` puts RDF that already exists
into the store as it is, each graph validated like a document's.
``validate_store`` checks what the store holds, a chunk of document graphs
at a time.

Ingest works on chunks of files: ``prepare_chunk`` reads, extracts and
builds each file's graph, then validates the chunk's graphs in one pySHACL
call (kb.validate maps each violation back to its document).  With
``jobs`` > 1 a pool of worker processes prepares the chunks while this
process writes the documents to the store, in the order of the input; a
batch smaller than ``POOL_MIN_FILES`` is prepared here, without paying for
starting the workers.
"""
from __future__ import annotations

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
    """One file, ready to be written (``graph``) or failed (``failure``, one line).

    The graph travels from a worker pickled whole: unpickling rdflib's memory
    store is faster than adding its triples one by one again.
    """

    path: str
    name: str | None = None
    iri: str | None = None
    graph: Graph | None = None
    claims: int = 0
    posts: int = 0
    failure: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def prepare_chunk(paths: list[str]) -> list[Prepared]:
    """Read, extract and build each file's graph, then validate them all in one pySHACL call."""
    from .extract import extract_claims
    from .lexicon import load_lexicon
    from .readers import read_document
    from .rdf import document_graph, document_iri
    from .validate import validate_graphs

    lexicon = load_lexicon()
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
            graph = document_graph(doc, claims)
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
        graphs.append((item, graph))
    if graphs:
        t0 = time.process_time()
        try:
            verdicts = validate_graphs([g for _, g in graphs])
        except Exception as exc:  # the shapes could not run: every file of the chunk fails alike
            reason = exc if isinstance(exc, KbError) else f"{type(exc).__name__}: {exc}"
            verdicts = None
            for item, _ in graphs:
                item.failure = one_line(f"{item.path}: validation failed: {reason}")
        share = (time.process_time() - t0) / len(graphs)
        for n, (item, graph) in enumerate(graphs):
            item.seconds["validate"] = share
            if verdicts is None:
                continue
            if verdicts[n]:
                item.failure = one_line(ValidationError(item.path, verdicts[n]))
            else:
                item.graph = graph
    return out


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


def _prepared_in_order(batches: list[list[str]], jobs: int) -> Iterable[list[Prepared]]:
    """The prepared chunks in input order: here, or from ``jobs`` worker processes."""
    if jobs <= 1:
        for batch in batches:
            yield prepare_chunk(batch)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from . import config

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    environment = {"KB_ONTOLOGY": str(config.ontology_dir()), "KB_BASE": config.base_iri()}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method),
                             initializer=_worker_init, initargs=(environment,)) as pool:
        pending: deque = deque()
        todo = iter(batches)
        try:
            while True:
                while len(pending) < 2 * jobs:  # a few chunks ahead, not the whole batch in memory
                    batch = next(todo, None)
                    if batch is None:
                        break
                    pending.append(pool.submit(prepare_chunk, batch))
                if not pending:
                    return
                yield pending.popleft().result()
        except BrokenProcessPool as exc:
            raise KbError(f"an ingest worker process died: {one_line(exc)}") from None
        finally:
            for future in pending:
                future.cancel()


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
    show = progress and len(files) >= PROGRESS_MIN_FILES and sys.stderr.isatty()
    with tqdm(total=len(files), disable=not show, file=sys.stderr, unit="file", leave=False) as bar:
        for prepared in _prepared_in_order(batches, jobs):
            for item in prepared:
                for stage, seconds in item.seconds.items():
                    report.seconds[stage] += seconds
                if item.failure is not None:
                    report.failures.append(item.failure)
                    continue
                t0 = time.process_time()
                # a StoreError stops the batch: the store, not the file, is at fault
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


def validate_store(store: EmbeddedStore, chunk_triples: int = 200_000) -> list[str]:
    """SHACL violations of every document graph in the store, each prefixed by its graph IRI.

    Document graphs are validated a chunk at a time (up to about
    ``chunk_triples`` triples per pySHACL call).
    """
    from .validate import validate_graphs

    problems: list[str] = []
    chunk: list = []
    size = 0

    def flush() -> None:
        for (iri, _), violations in zip(chunk, validate_graphs([g for _, g in chunk])):
            problems.extend(f"{iri}: {one_line(v)}" for v in violations)
        chunk.clear()

    for iri in store.documents():
        graph = store.graph(iri)
        chunk.append((iri, graph))
        size += len(graph)
        if size >= chunk_triples:
            flush()
            size = 0
    if chunk:
        flush()
    return problems
