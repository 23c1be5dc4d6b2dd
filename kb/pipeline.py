"""Ingest and validate: files -> documents -> claims -> graphs -> the store.

``ingest`` reads, extracts, builds and validates each document's graph
before anything is written, then replaces that document's named graph in
one transaction; a file that fails is reported (file and reason, one line)
and the rest of the batch goes on.  ``load`` puts RDF that already exists
into the store as it is, each graph validated like a document's.
``validate_store`` checks what the store holds, one document graph at a time.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Iterable

from tqdm import tqdm

from .errors import InputError, KbError, StoreError, ValidationError
from .store import EmbeddedStore, one_line

PROGRESS_MIN_FILES = 5  # no progress bar for a handful of files
OPTIMIZE_MIN_DOCUMENTS = 50  # compact the store after an ingest this large


@dataclass
class IngestReport:
    documents: list[str] = field(default_factory=list)  # names of the documents stored
    claims: int = 0
    failures: list[str] = field(default_factory=list)  # 'FILE: reason', one line each

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        failed = f"; {len(self.failures)} file(s) failed" if self.failures else ""
        return f"ingested {len(self.documents)} document(s), {self.claims} claim(s){failed}"


def ingest(paths: Iterable, store: EmbeddedStore, progress: bool = True) -> IngestReport:
    """Ingest the files named and the files under the folders named."""
    from .readers import iter_files, read_document

    report = IngestReport()
    files = list(iter_files(paths))
    if not files:
        return report
    # Imported here so that the commands that only read the store start fast.
    from .extract import extract_claims
    from .lexicon import load_lexicon
    from .rdf import document_graph, document_iri, ontology_graph
    from .validate import validate_graph

    lexicon = load_lexicon()
    store.set_ontology(ontology_graph())
    show = progress and len(files) >= PROGRESS_MIN_FILES and sys.stderr.isatty()
    for path in tqdm(files, disable=not show, file=sys.stderr, unit="file", leave=False):
        try:
            doc = read_document(path)
            claims = extract_claims(doc, lexicon)
            graph = document_graph(doc, claims)
            violations = validate_graph(graph)
            if violations:
                raise ValidationError(path, violations)
            store.replace_document(document_iri(doc.name), graph)
        except StoreError:
            raise  # the store, not the file, is at fault: stop the batch
        except KbError as exc:
            report.failures.append(one_line(exc))
        except Exception as exc:  # a bug in extraction must not cost the rest of the batch
            report.failures.append(one_line(f"{path}: {type(exc).__name__}: {exc}"))
        else:
            report.documents.append(doc.name)
            report.claims += len(claims)
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
    from .validate import validate_graph

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
    for name, graph in graphs.items():
        violations = validate_graph(graph)
        if violations:
            raise ValidationError(f"{path} ({name or 'default graph'})", violations)
    for name, graph in graphs.items():
        if name:
            store.replace_document(URIRef(name), graph)
        else:
            store.add_to_default_graph(graph)
    return {name: len(graph) for name, graph in graphs.items()}


def validate_store(store: EmbeddedStore) -> list[str]:
    """SHACL violations of every document graph in the store, each prefixed by its graph IRI."""
    from .validate import validate_graph

    problems = []
    for iri in store.documents():
        problems += [f"{iri}: {one_line(v)}" for v in validate_graph(store.graph(iri))]
    return problems
