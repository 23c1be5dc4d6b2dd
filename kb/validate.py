"""SHACL validation of one document graph against ontology/shapes.ttl.

The shapes are parsed once (relative IRIs resolved against the base IRI, as
for the lexicon files).  A document graph refers to speakers and topics
described in the ontology graph; pySHACL's ``ont_graph`` copies only RDFS
and OWL axioms into the data, not instances, so ``validate_graph`` adds the
ontology's triples about each IRI the document mentions (a speaker's type
and name, a topic's scheme and labels) to a copy of the graph first.

pySHACL flips a process-wide rdflib setting while it runs: validate during
ingest, not inside web requests.
"""
from __future__ import annotations

from pathlib import Path

from pyshacl import validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH

from . import config, rdf
from .errors import KbError

_SHAPES: dict[tuple, Graph] = {}


def shapes_graph() -> Graph:
    """ontology/shapes.ttl, parsed once per (file, base IRI)."""
    path = Path(config.ontology_dir()) / rdf.SHAPES_FILE
    key = (str(path.resolve()), config.base_iri(), path.stat().st_mtime_ns)
    graph = _SHAPES.get(key)
    if graph is None:
        graph = Graph()
        graph.parse(path, format="turtle", publicID=config.base_iri())
        _SHAPES.clear()
        _SHAPES[key] = graph
    return graph


def with_references(graph: Graph, ontology: Graph) -> Graph:
    """A copy of ``graph`` plus the ontology's triples about every IRI it mentions."""
    data = rdf.new_graph()
    for triple in graph:
        data.add(triple)
    mentioned = {o for o in graph.objects() if isinstance(o, URIRef)}
    for iri in mentioned:
        for triple in ontology.triples((iri, None, None)):
            data.add(triple)
    return data


def validate_graph(graph: Graph) -> list[str]:
    """The SHACL violations of a document graph in plain words; [] when it conforms."""
    ontology = rdf.ontology_graph()
    conforms, report, _ = validate(
        data_graph=with_references(graph, ontology),
        shacl_graph=shapes_graph(),
        ont_graph=ontology,
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    if not isinstance(report, Graph):  # pySHACL could not run the shapes (a ValidationFailure)
        raise KbError(f"{rdf.SHAPES_FILE}: {report}")
    if conforms:
        return []
    # Only the report's own results: those of nested shapes (sh:node, sh:or) are sh:detail of them.
    results = (r for v in report.subjects(RDF.type, SH.ValidationReport) for r in report.objects(v, SH.result))
    # one line per distinct problem: two constraints of one property (sh:minLength, sh:pattern) may say the same
    return sorted({describe(report, r) for r in results if (r, SH.resultSeverity, SH.Violation) in report})


def describe(report: Graph, result) -> str:
    """'claim/1a2b…: schema:text: the words must not be empty or only whitespace (got '  ')'."""
    focus = report.value(result, SH.focusNode)
    path = report.value(result, SH.resultPath)
    message = report.value(result, SH.resultMessage) or "violates " + _short(report.value(result, SH.sourceConstraintComponent), report)
    value = report.value(result, SH.value)
    where = _short(focus, report)
    if path is not None:
        where += ": " + _path(path, report)
    elif isinstance(value, URIRef) and value != focus:
        # a document-wide check names the node at fault (a claim) as its value
        where, value = f"{where}: {_short(value, report)}", None
    got = f" (got {_shown(value, report)})" if value is not None and value != focus else ""
    return f"{where}: {message}{got}"


def _short(term, graph: Graph) -> str:
    if term is None:
        return "?"
    if isinstance(term, BNode):
        return "a blank node"
    text = str(term)
    base = config.base_iri()
    if isinstance(term, URIRef):
        if text.startswith(base):
            return text[len(base):]
        try:
            return graph.namespace_manager.normalizeUri(term)
        except Exception:  # noqa: BLE001 - any IRI rdflib cannot shorten is shown whole
            return f"<{text}>"
    return text


def _path(path, report: Graph) -> str:
    inverse = report.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + _short(inverse, report)
    return _short(path, report)


def _shown(value, report: Graph) -> str:
    if isinstance(value, Literal):
        text = str(value)
        shown = repr(text if len(text) <= 60 else text[:57] + "...")
        return shown + (f"^^{_short(value.datatype, report)}" if value.datatype else "")
    return _short(value, report)
