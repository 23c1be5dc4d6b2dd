"""SHACL validation of document graphs against ontology/shapes.ttl.

The shapes are parsed once (relative IRIs resolved against the base IRI, as
for the lexicon files).  A document graph refers to speakers and topics
described in the ontology graph: the data pySHACL sees is the document graph
plus the ontology's triples about each IRI it mentions (a speaker's type and
name, a topic's scheme and labels) plus the ontology's RDFS and OWL axioms
(what pySHACL's ``ont_graph`` would copy in, worked out once per ontology
instead of once per call).

The SPARQL constraints of a shape whose only focus node is itself (the
checks across documents of shapes.ttl, ``kbsh:AcrossDocuments``) are run by
Oxigraph on an in-memory copy of the same data, with ``$this`` bound to the
shape, as SHACL-SPARQL prescribes; pySHACL gets the other shapes.  The
answer is the same (tests/test_shapes.py runs both ways); the time is not:
rdflib's SPARQL engine took about a third of pySHACL's time on them.

``validate_graphs`` validates many document graphs in one pySHACL call and
gives each graph its own violations, found by focus node: a result belongs
to the graphs that describe its focus node (or, for a node only the ontology
describes, to the graphs that mention it).  Validating graphs together gives
the same answer as validating each alone as long as no graph describes or
points into another graph's nodes; a graph that does (two documents of the
same name, an unlinked speaker described differently) is validated alone.

Two engines run the same shapes (``KB_SHACL_ENGINE`` or ``--shacl-engine``):
pySHACL, the default and the reference, and ``turbo`` (the PyPI package
pyshacl-turbo, a SHACL engine in Rust with pySHACL's interface, the extra
``kb[turbo]``).  Turbo validates one document per call (it costs more per
claim on a larger graph), its data an in-memory Oxigraph store loaded from the
document's triples as text -- no rdflib graph is built -- plus the same
references and axioms, and the shapes an Oxigraph store too, compiled once:
with the shapes as an rdflib graph and the data as a store, turbo 0.6.5
takes a plain literal of the shapes ("telegram" of ``sh:in``) for another
term than the same literal of the data, and rejects every document.  Both
engines give the same lines (tests/test_shapes.py runs every case on each).

pySHACL flips a process-wide rdflib setting while it runs: validate during
ingest, not inside web requests.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pyshacl import validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, SH, XSD

from . import config, rdf
from .errors import KbError

ENGINES = ("pyshacl", "turbo")  # the first is the default and the reference

_SHAPES: dict[tuple, Graph] = {}
# the focus node of the checks across documents in shapes.ttl
ACROSS_DOCUMENTS = URIRef("https://w3id.org/kb/shapes#AcrossDocuments")


@dataclass(frozen=True)
class SparqlCheck:
    """A SHACL-SPARQL constraint ``SELECT $this ?value …`` of a shape whose focus node is the shape itself."""

    shape: URIRef
    message: str
    select: str  # with the PREFIX lines of its sh:prefixes


_SPLIT: dict[int, tuple[Graph, Graph, tuple[SparqlCheck, ...]]] = {}


def engine() -> str:
    """The SHACL engine that validates (kb.config.shacl_engine), checked: a KbError names what is wrong."""
    name = config.shacl_engine()
    if name not in ENGINES:
        raise KbError(f"unknown SHACL engine {name!r} (KB_SHACL_ENGINE or --shacl-engine): "
                      f"one of {', '.join(ENGINES)}")
    if name == "turbo":
        try:
            import pyshacl_turbo  # noqa: F401
        except ImportError:
            raise KbError("the SHACL engine 'turbo' needs the package pyshacl-turbo "
                          "(pip install 'kb[turbo]'); KB_SHACL_ENGINE=pyshacl uses pySHACL") from None
    return name


def reads_text() -> bool:
    """Whether the engine validates a document from its triples as text alone, no rdflib graph needed (turbo)."""
    return engine() == "turbo"


def split_shapes(shapes: Graph) -> tuple[Graph, tuple[SparqlCheck, ...]]:
    """(the shapes for pySHACL, the SPARQL checks of self-targeted shapes taken out of them), once per shapes graph."""
    cached = _SPLIT.get(id(shapes))
    if cached is not None and cached[0] is shapes:
        return cached[1], cached[2]
    checks: list[SparqlCheck] = []
    rest = Graph()
    for prefix, namespace in shapes.namespaces():
        rest.bind(prefix, namespace, override=True)
    taken: set = set()
    for shape in set(shapes.subjects(SH.targetNode, None)):
        if set(shapes.objects(shape, SH.targetNode)) != {shape}:
            continue
        for constraint in shapes.objects(shape, SH.sparql):
            if shapes.value(constraint, SH.deactivated) == Literal(True):
                continue
            select = shapes.value(constraint, SH.select)
            message = shapes.value(constraint, SH.message)
            if select is None or message is None:
                continue  # left to pySHACL, which says what is wrong with it
            lines = [f"PREFIX {shapes.value(d, SH.prefix)}: <{shapes.value(d, SH.namespace)}>"
                     for declaring in shapes.objects(constraint, SH.prefixes)
                     for d in shapes.objects(declaring, SH.declare)]
            checks.append(SparqlCheck(shape, str(message), "\n".join([*lines, str(select)])))
            taken.add((shape, SH.sparql, constraint))
    for triple in shapes:
        if triple not in taken:
            rest.add(triple)
    _SPLIT.clear()
    _SPLIT[id(shapes)] = (shapes, rest, tuple(checks))
    return rest, tuple(checks)


def run_sparql_checks(texts: Sequence[str], checks: Sequence[SparqlCheck]) -> list[tuple[SparqlCheck, URIRef]]:
    """(check, the node at fault: its ?value) for every answer of the checks, run by Oxigraph
    over the data: ``texts``, each the triples of some of it as kb.store.triples_text writes them."""
    import pyoxigraph as ox

    if not checks:
        return []
    store = ox.Store()
    for text in texts:
        store.load(text, format=ox.RdfFormat.TURTLE)
    return _sparql_checks_on(store, checks)


def _sparql_checks_on(store, checks: Sequence[SparqlCheck]) -> list[tuple[SparqlCheck, URIRef]]:
    import pyoxigraph as ox

    out = []
    for check in checks:
        try:
            answers = store.query(check.select, substitutions={ox.Variable("this"): ox.NamedNode(str(check.shape))})
        except SyntaxError as exc:
            raise KbError(f"{rdf.SHAPES_FILE}: a SPARQL check of {check.shape} is not valid: {exc}") from None
        for answer in answers:
            value = answer["value"]
            if isinstance(value, ox.NamedNode):
                out.append((check, URIRef(value.value)))
            elif value is not None:
                raise KbError(f"{rdf.SHAPES_FILE}: a SPARQL check of {check.shape} gave a value that is no IRI")
    return out


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


_AXIOMS: list[tuple[Graph, Graph]] = []  # (the ontology graph, its axioms), for the latest ontology only


def ontology_axioms(ontology: Graph) -> Graph:
    """The RDFS and OWL axioms of the ontology (what pySHACL's ont_graph copies), once per ontology graph."""
    if _AXIOMS and _AXIOMS[0][0] is ontology:
        return _AXIOMS[0][1]
    from pyshacl.rdfutil.inoculate import inoculate

    axioms = inoculate(Graph(), ontology)
    _AXIOMS[:] = [(ontology, axioms)]
    return axioms


def with_references(graph: Graph, ontology: Graph) -> Graph:
    """A copy of ``graph`` plus the ontology's triples about every IRI it mentions."""
    return _data([graph], ontology)


def _data(graphs: Sequence[Graph], ontology: Graph, axioms: Graph | None = None) -> Graph:
    data = rdf.new_graph()
    add = data.store.add  # the terms are checked already: past Graph.add's checks
    for graph in graphs:
        for triple in graph:
            add(triple, data)
    for triple in _references(graphs, ontology, axioms):
        add(triple, data)
    return data


def _references(graphs: Sequence[Graph], ontology: Graph, axioms: Graph | None = None) -> list:
    """The ontology's triples about every IRI the graphs mention, then the axioms."""
    mentioned: set = set()
    for graph in graphs:
        mentioned.update(o for o in graph.objects() if isinstance(o, URIRef))
    out = [t for iri in mentioned for t in ontology.triples((iri, None, None))]
    return out + list(axioms or ())


def validate_graph(graph: Graph) -> list[str]:
    """The SHACL violations of a document graph in plain words; [] when it conforms."""
    return validate_graphs([graph])[0]


def validate_graphs(graphs: Sequence[Graph], texts: Sequence[str] | None = None) -> list[list[str]]:
    """The violations of each graph (in plain words; [] when it conforms), in as few pySHACL calls as can be.

    ``texts``, when given, are the graphs as kb.store.triples_text writes them (else written here).
    """
    if engine() == "turbo":  # one graph per call, from its text
        from .store import triples_text

        return [_turbo(texts[i] if texts is not None else triples_text(g)).problems for i, g in enumerate(graphs)]
    together, alone = _independent(graphs)
    out: list[list[str]] = [[] for _ in graphs]
    text = (lambda i: texts[i]) if texts is not None else None
    if together:
        for i, problems in zip(together, _validate([graphs[i] for i in together],
                                                   [text(i) for i in together] if text else None)):
            out[i] = problems
    for i in alone:
        out[i] = _validate([graphs[i]], [text(i)] if text else None)[0]
    return out


def _independent(graphs: Sequence[Graph]) -> tuple[list[int], list[int]]:
    """(graphs that can be validated together, graphs to validate alone).

    A graph goes alone when it describes a node another graph describes
    differently, or mentions a node that only another graph describes: then
    the union could satisfy (or break) a constraint that the graph alone
    would not.
    """
    if len(graphs) < 2:
        return list(range(len(graphs))), []
    subjects = [set(g.subjects()) for g in graphs]
    owners: dict = {}
    alone: set[int] = set()
    for i, nodes in enumerate(subjects):
        for node in nodes:
            j = owners.setdefault(node, i)
            if j != i and j not in alone and i not in alone:
                if set(graphs[i].predicate_objects(node)) != set(graphs[j].predicate_objects(node)):
                    alone.update((i, j))
    for i, g in enumerate(graphs):
        for o in set(g.objects()):
            j = owners.get(o)
            if j is not None and j != i and o not in subjects[i]:
                alone.update((i, j))
    return [i for i in range(len(graphs)) if i not in alone], sorted(alone)


def _validate(graphs: Sequence[Graph], texts: Sequence[str] | None = None) -> list[list[str]]:
    """One pySHACL call for graphs that do not overlap; the violations of each."""
    from .store import triples_text

    ontology = rdf.ontology_graph()
    shapes, checks = split_shapes(shapes_graph())
    axioms = ontology_axioms(ontology)
    data = _data(graphs, ontology, axioms)
    out: list[set[str]] = [set() for _ in graphs]

    def document_of(i: int, value):
        return graphs[i].value(value, PROV.wasDerivedFrom) or value

    if checks:
        texts = [*(texts if texts is not None else map(triples_text, graphs)),
                 triples_text(_references(graphs, ontology, axioms))]
    for check, value in run_sparql_checks(texts or [], checks):
        for i in _owners(value, graphs):
            out[i].add(_across(document_of(i, value), value, check.message, data))
    conforms, report, _ = validate(
        data_graph=data,
        shacl_graph=shapes,
        inference="none",
        advanced=False,  # the shapes use SHACL Core and SHACL-SPARQL only
        meta_shacl=False,
        allow_warnings=True,
    )
    if not isinstance(report, Graph):  # pySHACL could not run the shapes (a ValidationFailure)
        raise KbError(f"{rdf.SHAPES_FILE}: {report}")
    if not conforms:
        _read_report(report, out, lambda node: _owners(node, graphs), document_of)
    return [sorted(problems) for problems in out]


def _read_report(report: Graph, out: list[set[str]], owners, document_of) -> None:
    """Add each violation of the report, as a line, to ``out[i]`` for each graph i that ``owners(node)`` names."""
    # Only the report's own results: those of nested shapes (sh:or) are sh:detail of them.
    results = [r for v in report.subjects(RDF.type, SH.ValidationReport) for r in report.objects(v, SH.result)
               if (r, SH.resultSeverity, SH.Violation) in report]
    for result in results:
        # one line per distinct problem: two constraints of one property (sh:minLength, sh:pattern) may say the same
        focus = report.value(result, SH.focusNode)
        if focus == ACROSS_DOCUMENTS:  # a check across documents: the node at fault is the value
            value = report.value(result, SH.value)
            for i in owners(value):
                out[i].add(_across(document_of(i, value), value, report.value(result, SH.resultMessage), report))
            continue
        line = describe(report, result)
        for i in owners(focus):
            out[i].add(line)


# ---------------------------------------------------------------- turbo: one document per call, from its text

@dataclass(frozen=True)
class Checked:
    """A document graph validated from its text: its violations (in plain words), claims and triples."""

    problems: list[str]
    claims: int
    triples: int


@dataclass(frozen=True)
class _TurboShapes:
    program: object  # pyshacl_turbo.CompiledShapes of the shapes, given as an Oxigraph store
    checks: tuple[SparqlCheck, ...]
    about: dict[str, str]  # IRI -> the ontology's triples about it, as N-Triples
    axioms: str  # the ontology's axioms, as N-Triples
    prefixes: tuple[tuple[str, str], ...]  # the shapes' prefixes, to name terms in the lines


_TURBO: list[tuple[Graph, Graph, _TurboShapes]] = []  # (shapes graph, ontology, what turbo needs), the latest only


def _turbo_shapes() -> _TurboShapes:
    import pyoxigraph as ox
    import pyshacl_turbo

    from .store import triples_text

    shapes_all, ontology = shapes_graph(), rdf.ontology_graph()
    if _TURBO and _TURBO[0][0] is shapes_all and _TURBO[0][1] is ontology:
        return _TURBO[0][2]
    shapes, checks = split_shapes(shapes_all)
    store = ox.Store()
    store.load(shapes.serialize(format="nt"), format=ox.RdfFormat.N_TRIPLES)
    try:
        program = pyshacl_turbo.compile_shapes(store)
    except Exception as exc:  # noqa: BLE001 - the engine's own failure, whatever its class, in one line
        raise KbError(f"{rdf.SHAPES_FILE}: the SHACL engine 'turbo' cannot run the shapes: {exc}") from None
    about: dict[str, list] = {}
    for triple in ontology:
        if isinstance(triple[0], URIRef):
            about.setdefault(str(triple[0]), []).append(triple)
    compiled = _TurboShapes(program, checks, {iri: triples_text(ts) for iri, ts in about.items()},
                            triples_text(ontology_axioms(ontology)),
                            tuple((p, str(ns)) for p, ns in shapes_all.namespaces()))
    _TURBO[:] = [(shapes_all, ontology, compiled)]
    return compiled


_MENTIONED = "SELECT DISTINCT ?o WHERE { ?s ?p ?o FILTER(isIRI(?o)) }"  # what the references are about


def validate_texts(texts: Sequence[str]) -> list[Checked]:
    """Each document graph, given as text (N-Triples, or Turtle as kb.store.triples_text writes it), validated alone.

    With turbo no rdflib graph is built; with pySHACL each text is parsed into one first.
    """
    if engine() == "turbo":
        return [_turbo(text) for text in texts]
    out = []
    for text in texts:
        graph = rdf.new_graph()
        graph.parse(data=text, format="turtle")
        claims = len(set(graph.subjects(RDF.type, rdf.SCHEMA.Claim)))
        out.append(Checked(validate_graphs([graph], [text])[0], claims, len(graph)))
    return out


def _turbo(text: str) -> Checked:
    """One document graph, as text, validated by turbo."""
    import pyoxigraph as ox

    shapes = _turbo_shapes()
    data = ox.Store()
    try:
        data.load(text, format=ox.RdfFormat.TURTLE)
    except SyntaxError as exc:
        raise KbError(f"a document graph is not valid RDF: {exc}") from None
    triples = len(data)
    claim_type = (ox.NamedNode(str(RDF.type)), ox.NamedNode(str(rdf.SCHEMA.Claim)))
    claims = sum(1 for _ in data.quads_for_pattern(None, *claim_type))
    mentioned = (answer["o"].value for answer in data.query(_MENTIONED))
    data.load("\n".join([*(shapes.about[iri] for iri in mentioned if iri in shapes.about), shapes.axioms]),
              format=ox.RdfFormat.TURTLE)
    out: list[set[str]] = [set()]

    def document_of(_, value):
        quad = next(iter(data.quads_for_pattern(ox.NamedNode(str(value)), ox.NamedNode(str(PROV.wasDerivedFrom)),
                                                None)), None)
        return URIRef(quad.object.value) if quad is not None and isinstance(quad.object, ox.NamedNode) else value

    for check, value in _sparql_checks_on(data, shapes.checks):
        out[0].add(_across(document_of(0, value), value, check.message, _names(shapes.prefixes)))
    try:
        conforms, report, _ = shapes.program.validate(data, allow_warnings=True)
    except Exception as exc:  # noqa: BLE001 - the engine's own failure, whatever its class, in one line
        raise KbError(f"{rdf.SHAPES_FILE}: the SHACL engine 'turbo' failed: {exc}") from None
    if not conforms:
        for prefix, namespace in shapes.prefixes:
            report.bind(prefix, namespace, override=True)
        _read_report(report, out, lambda node: [0], document_of)
    return Checked(sorted(out[0]), claims, triples)


def _names(prefixes: Sequence[tuple[str, str]]) -> Graph:
    """An empty graph that knows these prefixes, to name terms by."""
    names = Graph()
    for prefix, namespace in prefixes:
        names.bind(prefix, namespace, override=True)
    return names


def _across(document, value, message, names: Graph) -> str:
    """'document/x.txt: claim/1a2b…: <message>', or 'document/x.txt: <message>' for the document itself."""
    where = _short(document, names)
    if value != document:
        where += ": " + _short(value, names)
    return f"{where}: {message}"


def _owners(focus, graphs: Sequence[Graph]) -> list[int]:
    """The graphs a result with this focus node belongs to."""
    if len(graphs) == 1:
        return [0]
    owners = [i for i, g in enumerate(graphs) if (focus, None, None) in g]
    if not owners:  # a node of the ontology: the graphs that refer to it
        owners = [i for i, g in enumerate(graphs) if (None, None, focus) in g]
    return owners or list(range(len(graphs)))


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
        plain = value.datatype in (None, XSD.string)  # the same literal in RDF 1.1; engines write it either way
        return shown + ("" if plain else f"^^{_short(value.datatype, report)}")
    return _short(value, report)
