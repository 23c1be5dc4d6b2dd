"""ontology/shapes.ttl through kb.validate: a good claim passes, each broken one fails by its rule.

Each case takes a conforming document graph built by kb.rdf, breaks one
thing, and names the violation it must produce, as validate_graph words it:
'<focus>: <path>: <message>'.  Speakers and topics come from the small files
in tests/data/shapes/ (which hold a concept of another scheme as well).

Every case runs on both SHACL engines (kb.validate.ENGINES: pySHACL, the
reference, and turbo), which must give the same lines.
"""
from __future__ import annotations

import hashlib
import logging
from decimal import Decimal

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, XSD

from kb import config, rdf, validate
from kb.model import Claim, DateFound, Document, Post, SpeakerRef, TopicHit

from test_rdf import test_ontology  # noqa: F401 - the same autouse fixture: the test ontology folder
from kb.rdf import KB, SCHEMA

REAL_ONTOLOGY = config.PROJECT_DIR / "ontology"

TEXT = "Lavrov said the New START treaty expires soon.\nThe talks went well.\n"
WORDS = "the New START treaty expires soon"
NAME = "001_lavrov.txt"


@pytest.fixture(params=validate.ENGINES)
def engine(request, monkeypatch) -> str:
    """The test runs once on each SHACL engine."""
    monkeypatch.setenv("KB_SHACL_ENGINE", request.param)
    return request.param


def on_each_engine(monkeypatch, validation) -> dict[str, object]:
    """What ``validation()`` gives on each engine."""
    out = {}
    for name in validate.ENGINES:
        monkeypatch.setenv("KB_SHACL_ENGINE", name)
        out[name] = validation()
    return out


def good_graph() -> Graph:
    start = TEXT.index(WORDS)
    doc = Document(path=NAME, name=NAME, text=TEXT, sha256=hashlib.sha256(TEXT.encode()).hexdigest(),
                   kind="telegram", published="2025-05-29",
                   posts=(Post(0, 0, len(TEXT) - 1, 1, 2, None, None, ()),))
    claim = Claim(post_index=0, start=start, end=start + len(WORDS), words=WORDS,
                  speaker=SpeakerRef("Sergey Lavrov", "sergey-lavrov"), kind="indirect", cue="said",
                  cue_type="verb", date=DateFound("2025-05-28", "resolved", "yesterday"),
                  topics=(TopicHit("new-start", "New START", "explicit", 0.9),), language="en")
    return rdf.document_graph(doc, [claim])


def claim_of(g: Graph) -> URIRef:
    (claim,) = g.subjects(RDF.type, SCHEMA.Claim)
    return claim


def set_(g: Graph, s, p, *objects) -> None:
    g.remove((s, p, None))
    for o in objects:
        g.add((s, p, o))


def retopic(g: Graph, topic: URIRef) -> None:
    c = claim_of(g)
    set_(g, c, SCHEMA.about, topic)
    set_(g, g.value(c, KB.topicAssignment), KB.topic, topic)


def ill_typed_date() -> Literal:
    # rdflib logs (it does not warn) when it cannot read a literal of a known datatype
    logger = logging.getLogger("rdflib.term")
    level, logger.level = logger.level, logging.CRITICAL
    try:
        return Literal("2025-02-30", datatype=XSD.date)
    finally:
        logger.setLevel(level)


C, D, P, A = "claim", "document", "post", "assignment"  # whose violation it is

CASES = {
    # the speaker
    "no speaker": (lambda g, c: g.remove((c, SCHEMA.author, None)),
                   C, "schema:author", "needs exactly one speaker (an IRI)"),
    "two speakers": (lambda g, c: g.add((c, SCHEMA.author, rdf.speaker_iri("maria-zakharova"))),
                     C, "schema:author", "needs exactly one speaker"),
    "speaker as a string": (lambda g, c: set_(g, c, SCHEMA.author, Literal("Sergey Lavrov")),
                            C, "schema:author", "needs exactly one speaker (an IRI)"),
    "unknown speaker": (lambda g, c: set_(g, c, SCHEMA.author, rdf.speaker_iri("nobody")),
                        C, "schema:author", "the speaker must be a schema:Person or schema:Organization"),
    "unlinked speaker without a name": (
        lambda g, c: (set_(g, c, SCHEMA.author, rdf.speaker_iri("x")),
                      g.add((rdf.speaker_iri("x"), RDF.type, SCHEMA.Person)),
                      g.add((rdf.speaker_iri("x"), KB.unlinked, Literal(True)))),
        "speaker/x", "schema:name", "a speaker needs exactly one non-empty name"),
    "co-speaker unknown": (lambda g, c: g.add((c, KB.coSpeaker, rdf.speaker_iri("nobody"))),
                           C, "kb:coSpeaker", "a co-speaker must be a schema:Person or schema:Organization"),
    # the words and where they are
    "empty words": (lambda g, c: set_(g, c, SCHEMA.text, Literal("")),
                    C, "schema:text", "the words must not be empty or only whitespace"),
    "whitespace-only words": (lambda g, c: set_(g, c, SCHEMA.text, Literal(" \n\t ")),
                              C, "schema:text", "the words must not be empty or only whitespace"),
    "two texts": (lambda g, c: g.add((c, SCHEMA.text, Literal("soon"))),
                  C, "schema:text", "needs exactly one string of words"),
    "words not at the offsets": (lambda g, c: set_(g, c, SCHEMA.text, Literal("the New START treaty expires now")),
                                 D, "claim", "a claim's words must be the document text between its offsets"),
    "end equals start": (lambda g, c: set_(g, c, KB.endOffset, g.value(c, KB.startOffset)),
                         C, "kb:startOffset", "a claim's end offset must be greater than its start offset"),
    "end before start": (lambda g, c: set_(g, c, KB.endOffset, Literal(3)),
                         C, "kb:startOffset", "a claim's end offset must be greater than its start offset"),
    "negative start": (lambda g, c: set_(g, c, KB.startOffset, Literal(-1)),
                       C, "kb:startOffset", "needs exactly one start offset, an integer >= 0"),
    "offset as a string": (lambda g, c: set_(g, c, KB.endOffset, Literal("40")),
                           C, "kb:endOffset", "needs exactly one end offset, an integer >= 0"),
    "no end offset": (lambda g, c: g.remove((c, KB.endOffset, None)),
                      C, "kb:endOffset", "needs exactly one end offset"),
    "missing post": (lambda g, c: g.remove((c, SCHEMA.appearance, None)),
                     C, "schema:appearance", "needs exactly one post it appears in (a kb:Post)"),
    "post that is not a post": (lambda g, c: set_(g, c, SCHEMA.appearance, rdf.document_iri(NAME)),
                                C, "schema:appearance", "needs exactly one post it appears in (a kb:Post)"),
    "missing document": (lambda g, c: g.remove((c, PROV.wasDerivedFrom, None)),
                         C, "prov:wasDerivedFrom", "needs exactly one source document (a kb:Document)"),
    # kind, cue, confidence, language
    "no kind": (lambda g, c: g.remove((c, KB.kind, None)),
                C, "kb:kind", "needs exactly one kind, kb:DirectQuote or kb:ReportedSpeech"),
    "unknown kind": (lambda g, c: set_(g, c, KB.kind, KB.Rumour),
                     C, "kb:kind", "needs exactly one kind, kb:DirectQuote or kb:ReportedSpeech"),
    "unknown cue type": (lambda g, c: set_(g, c, KB.cueType, KB.Gossip),
                         C, "kb:cueType", "at most one cue type"),
    "confidence above 1": (lambda g, c: set_(g, c, KB.confidence, Literal(Decimal("1.5"))),
                           C, "kb:confidence", "needs exactly one confidence, an xsd:decimal between 0 and 1"),
    "confidence below 0": (lambda g, c: set_(g, c, KB.confidence, Literal(Decimal("-0.1"))),
                           C, "kb:confidence", "needs exactly one confidence, an xsd:decimal between 0 and 1"),
    "confidence as a double": (lambda g, c: set_(g, c, KB.confidence, Literal(0.8)),
                               C, "kb:confidence", "needs exactly one confidence, an xsd:decimal"),
    "language not a code": (lambda g, c: set_(g, c, DCTERMS.language, Literal("English")),
                            C, "dcterms:language", "at most one language, an ISO 639 code"),
    # the date
    "malformed xsd:date": (lambda g, c: set_(g, c, KB.statedOn, ill_typed_date()),
                           C, "kb:statedOn", "the date must be a valid xsd:date, xsd:gYearMonth or xsd:gYear"),
    "date as a plain string": (lambda g, c: set_(g, c, KB.statedOn, Literal("2025-05-28")),
                               C, "kb:statedOn", "the date must be a valid xsd:date, xsd:gYearMonth or xsd:gYear"),
    "date as a dateTime": (lambda g, c: set_(g, c, KB.statedOn, Literal("2025-05-28T10:00:00", datatype=XSD.dateTime)),
                           C, "kb:statedOn", "the date must be a valid xsd:date, xsd:gYearMonth or xsd:gYear"),
    "two dates": (lambda g, c: g.add((c, KB.statedOn, Literal("2025", datatype=XSD.gYear))),
                  C, "kb:statedOn", "at most one date it was said on"),
    "date without a method": (lambda g, c: g.remove((c, KB.dateMethod, None)),
                              C, "kb:dateMethod", "a claim with a date needs its date method (kb:dateMethod)"),
    "unknown date method": (lambda g, c: set_(g, c, KB.dateMethod, KB.DateGuessed),
                            C, "kb:dateMethod", "at most one date method"),
    # topics
    "topic outside the scheme": (lambda g, c: retopic(g, URIRef(config.base_iri() + "elsewhere/weather")),
                                 C, "schema:about", "a topic must be a skos:Concept of the kb topic scheme"),
    "topic that is no concept": (lambda g, c: retopic(g, rdf.topic_iri("nope")),
                                 C, "schema:about", "a topic must be a skos:Concept of the kb topic scheme"),
    "assignment to a topic outside the scheme": (
        lambda g, c: retopic(g, URIRef(config.base_iri() + "elsewhere/weather")),
        A, "kb:topic", "needs exactly one topic, a skos:Concept of the kb topic scheme"),
    "topic without an assignment": (lambda g, c: g.add((c, SCHEMA.about, rdf.topic_iri("istanbul-talks"))),
                                    D, "claim", "a claim's topics (schema:about) and the topics of its assignments"),
    "assignment without a method": (lambda g, c: g.remove((g.value(c, KB.topicAssignment), KB.assignmentMethod, None)),
                                    A, "kb:assignmentMethod", "needs exactly one method"),
    "assignment with empty matched text": (
        lambda g, c: set_(g, g.value(c, KB.topicAssignment), KB.matchedText, Literal(" ")),
        A, "kb:matchedText", "needs exactly one non-empty matched text"),
    "assignment of no claim": (lambda g, c: g.remove((c, KB.topicAssignment, None)),
                               A, "^kb:topicAssignment", "must belong to exactly one claim"),
    # the document and its posts
    "bad sha256": (lambda g, c: set_(g, rdf.document_iri(NAME), KB.sha256, Literal("abc")),
                   D, "kb:sha256", "needs exactly one SHA-256"),
    "document kind unknown": (lambda g, c: set_(g, rdf.document_iri(NAME), KB.documentKind, Literal("pdf")),
                              D, "kb:documentKind", "needs exactly one kind, 'telegram' or 'article'"),
    "document IRI not ending with the file name": (
        lambda g, c: set_(g, rdf.document_iri(NAME), KB.fileName, Literal("002_other.txt")),
        D, None, "the document IRI must end with its (percent-encoded) file name"),
    "file name with a folder": (
        lambda g, c: set_(g, rdf.document_iri(NAME), KB.fileName, Literal("seeds/001_lavrov.txt")),
        D, "kb:fileName", "needs exactly one file name (no folders)"),
    "document without its text": (lambda g, c: g.remove((rdf.document_iri(NAME), SCHEMA.text, None)),
                                  D, "schema:text", "needs exactly one text"),
    "post ending before its start line": (lambda g, c: set_(g, rdf.post_iri(NAME, 0), KB.endLine, Literal(0)),
                                          P, "kb:endLine", "needs exactly one end line, an integer >= 1"),
    "post end line before start line": (
        lambda g, c: (set_(g, rdf.post_iri(NAME, 0), KB.startLine, Literal(3))),
        P, "kb:startLine", "the end line must not be before the start line"),
    "post of no document": (lambda g, c: g.remove((rdf.post_iri(NAME, 0), SCHEMA.isPartOf, None)),
                            P, "schema:isPartOf", "needs exactly one document it is part of"),
}


def expected_prefix(g: Graph, whose: str, path: str | None, message: str) -> str:
    base = config.base_iri()
    c = claim_of(g)
    focus = {C: c, D: rdf.document_iri(NAME), P: rdf.post_iri(NAME, 0),
             A: URIRef(f"{c}#topic-new-start")}.get(whose, URIRef(base + whose))
    where = str(focus)[len(base):]
    if path == "claim":  # a document-wide check names the claim after the document
        path = str(c)[len(base):]
    return f"{where}: {path}: {message}" if path else f"{where}: {message}"


def test_the_good_claim_conforms(engine):
    """On each engine: turbo 0.6.5 given the shapes as an rdflib graph and the data as an Oxigraph store
    rejects this document ('telegram' not in sh:in ("telegram" "article"))."""
    g = good_graph()
    before = set(g)
    assert validate.validate_graph(g) == []
    assert set(g) == before  # the speakers and topics are added to a copy


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_claim_is_rejected_by_its_rule(case, monkeypatch):
    """By its rule, and in the same lines on both engines."""
    breaks, whose, path, message = CASES[case]
    g = good_graph()
    breaks(g, claim_of(g))
    lines = on_each_engine(monkeypatch, lambda: validate.validate_graph(g))
    prefix = expected_prefix(g, whose, path, message)
    assert any(v.startswith(prefix) for v in lines["pyshacl"]), lines
    assert lines["turbo"] == lines["pyshacl"]


def test_a_blank_node_claim_is_rejected(monkeypatch):
    g = good_graph()
    c = claim_of(g)
    b = BNode()
    for p, o in list(g.predicate_objects(c)):
        g.add((b, p, o))
    lines = on_each_engine(monkeypatch, lambda: validate.validate_graph(g))
    assert "a blank node: a claim must be named by an IRI, not a blank node" in lines["pyshacl"]
    assert lines["turbo"] == lines["pyshacl"]


def test_violations_are_one_line_each_and_show_the_value(engine):
    g = good_graph()
    set_(g, claim_of(g), KB.statedOn, Literal("2025-05-28"))
    (violation,) = validate.validate_graph(g)
    assert "\n" not in violation
    assert violation.endswith("(got '2025-05-28')")


def test_the_scheme_follows_the_base(monkeypatch, engine):
    """shapes.ttl names the topic scheme by a relative IRI, resolved against the base."""
    monkeypatch.setenv("KB_BASE", "https://example.net/kb/")
    g = good_graph()
    assert validate.validate_graph(g) == []
    shapes = validate.shapes_graph()
    assert (None, None, URIRef("https://example.net/kb/topics")) in shapes
    assert (None, None, URIRef("https://kb.example.org/topics")) not in shapes


def test_shapes_are_parsed_once():
    assert validate.shapes_graph() is validate.shapes_graph()


def test_the_real_speakers_and_topics_conform(monkeypatch, engine):
    """Every speaker of ontology/speakers.ttl has one name; every topic a label and the scheme."""
    monkeypatch.setenv("KB_ONTOLOGY", str(REAL_ONTOLOGY))
    ontology = rdf.ontology_graph()
    assert validate.validate_graph(ontology) == []
    scheme = rdf.topic_scheme_iri()
    from rdflib.namespace import SKOS
    concepts = set(ontology.subjects(RDF.type, SKOS.Concept))
    assert concepts and all((t, SKOS.inScheme, scheme) in ontology for t in concepts)


# ---------------------------------------------------------------- the checks across documents, run by Oxigraph

def _across_by_pyshacl(g: Graph) -> set:
    """(message, node at fault) of the self-targeted SPARQL checks, as pySHACL itself finds them."""
    from pyshacl import validate as pyshacl_validate
    from rdflib.namespace import SH

    ontology = rdf.ontology_graph()
    data = validate._data([g], ontology, validate.ontology_axioms(ontology))
    _, report, _ = pyshacl_validate(data_graph=data, shacl_graph=validate.shapes_graph(), inference="none",
                                    advanced=False, meta_shacl=False, allow_warnings=True)
    return {(str(report.value(r, SH.resultMessage)), report.value(r, SH.value))
            for r in report.subjects(SH.focusNode, validate.ACROSS_DOCUMENTS)}


def _across_by_oxigraph(g: Graph) -> set:
    from kb.store import triples_text

    ontology = rdf.ontology_graph()
    _, checks = validate.split_shapes(validate.shapes_graph())
    refs = validate._references([g], ontology, validate.ontology_axioms(ontology))
    return {(c.message, value) for c, value in validate.run_sparql_checks([triples_text(g), triples_text(refs)], checks)}


def _topic_of_assignment_not_about(g, c):
    g.add((c, KB.topicAssignment, URIRef(f"{c}#topic-other")))
    g.add((URIRef(f"{c}#topic-other"), KB.topic, rdf.topic_iri("other")))


ACROSS = {
    "good": lambda g, c: None,
    "words not at the offsets": CASES["words not at the offsets"][0],
    "topic without an assignment": CASES["topic without an assignment"][0],
    "assignment's topic not among the claim's": _topic_of_assignment_not_about,
    "document IRI not ending with the file name": CASES["document IRI not ending with the file name"][0],
    "all of them": lambda g, c: [ACROSS[k](g, c) for k in ACROSS if k not in ("good", "all of them")],
}


@pytest.mark.parametrize("case", list(ACROSS))
def test_the_checks_across_documents_find_the_same_by_oxigraph_as_by_pyshacl(case):
    """kb.validate takes the self-targeted SPARQL constraints out of pySHACL's shapes and runs them on
    Oxigraph: the same messages for the same nodes."""
    g = good_graph()
    ACROSS[case](g, claim_of(g))
    by_pyshacl = _across_by_pyshacl(g)
    assert _across_by_oxigraph(g) == by_pyshacl
    assert (case == "good") == (not by_pyshacl)
    if case == "all of them":
        assert len({m for m, _ in by_pyshacl}) == 3


def test_the_checks_across_documents_are_not_left_to_pyshacl():
    shapes, checks = validate.split_shapes(validate.shapes_graph())
    from rdflib.namespace import SH

    assert len(checks) == 4 and not list(shapes.triples((validate.ACROSS_DOCUMENTS, SH.sparql, None)))
    assert validate.split_shapes(validate.shapes_graph())[0] is shapes  # split once


# ---------------------------------------------------------------- the engines

def test_a_document_as_text_is_validated_alone(engine):
    """validate_texts, which `kb validate` uses on turbo: no rdflib graph, the same lines as validate_graph."""
    from kb.store import triples_text

    good, bad = good_graph(), good_graph()
    CASES["words not at the offsets"][0](bad, claim_of(bad))
    set_(bad, rdf.document_iri(NAME), KB.documentKind, Literal("pdf"))
    checked = validate.validate_texts([triples_text(good), good.serialize(format="nt"), triples_text(bad)])
    assert [c.problems for c in checked] == [[], [], validate.validate_graph(bad)]
    assert len(checked[2].problems) == 2
    assert [(c.claims, c.triples) for c in checked] == [(1, len(good))] * 2 + [(1, len(bad))]


def test_a_store_is_validated_alike_by_both_engines(monkeypatch, tmp_path):
    """`kb validate`'s path (pipeline.check_store on an embedded store): the same violations and counts."""
    from kb import pipeline
    from kb.store import EmbeddedStore

    good, bad = good_graph(), good_graph()
    set_(bad, rdf.document_iri(NAME), KB.sha256, Literal("abc"))
    with EmbeddedStore.open(tmp_path / "store") as store:
        store.replace_document(rdf.document_iri(NAME), good)
        store.replace_document(URIRef(str(rdf.document_iri(NAME)) + "-copy"), bad)  # written past validation
        verdicts = on_each_engine(monkeypatch, lambda: pipeline.check_store(store))
    assert [p.split(": ", 1)[0] for p in verdicts["pyshacl"].problems] == [str(rdf.document_iri(NAME)) + "-copy"]
    assert verdicts["turbo"].problems == verdicts["pyshacl"].problems
    assert {(v.documents, v.claims, v.triples) for v in verdicts.values()} == {(2, 2, len(good) + len(bad))}


def test_an_unknown_engine_is_one_clear_error(monkeypatch):
    from kb.errors import KbError

    monkeypatch.setenv("KB_SHACL_ENGINE", "jena")
    with pytest.raises(KbError, match="unknown SHACL engine 'jena'.*pyshacl, turbo"):
        validate.validate_graph(good_graph())


def test_turbo_not_installed_is_one_clear_error(monkeypatch):
    import sys

    from kb.errors import KbError

    monkeypatch.setenv("KB_SHACL_ENGINE", "turbo")
    monkeypatch.setitem(sys.modules, "pyshacl_turbo", None)  # what an import finds when it is not installed
    with pytest.raises(KbError, match=r"needs the package pyshacl-turbo \(pip install 'kb\[turbo\]'\)"):
        validate.validate_graph(good_graph())


@pytest.mark.parametrize("command", ["validate", "ingest"])
def test_the_commands_refuse_an_unknown_engine_in_one_line(command, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from kb.cli import main

    # the option sets $KB_SHACL_ENGINE for the worker processes: set here, so that it is undone after the test
    monkeypatch.setenv("KB_SHACL_ENGINE", "pyshacl")
    args = [command, "--shacl-engine", "jena", "--store", str(tmp_path / "store")]
    result = CliRunner().invoke(main, args + ([str(tmp_path)] if command == "ingest" else []))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "kb: error: unknown SHACL engine 'jena' (KB_SHACL_ENGINE or --shacl-engine): one of pyshacl, turbo"]
    assert not (tmp_path / "store").exists()  # refused before the store was opened
