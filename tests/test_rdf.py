"""kb.rdf: IRIs minted deterministically, one graph per document in the shape of ontology/kb.ttl.

The documents and claims are built by hand; the speakers and topics are the
small files in tests/data/shapes/, next to the real kb.ttl, lexicon.ttl and
shapes.ttl, so that these tests do not depend on the real lexicon's contents.
"""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, PROV, RDF, XSD

from kb import config, rdf
from kb.model import Claim, DateFound, Document, Line, Post, SpeakerRef, TopicHit
from kb.rdf import KB, SCHEMA
from kb.validate import validate_graph

HERE = Path(__file__).resolve().parent
REAL_ONTOLOGY = config.PROJECT_DIR / "ontology"

TEXT = (
    "🎙 Remarks by Sergey Lavrov\n"
    "The New START treaty expires in February.\n"
    "#diplomacy #NewSTART\n"
    "Zakharova said that Jürgen Müller was wrong.\n"
)


def make_ontology_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "ontology"
    directory.mkdir()
    for name in ("kb.ttl", "lexicon.ttl", "shapes.ttl"):
        shutil.copy(REAL_ONTOLOGY / name, directory / name)
    for name in ("speakers.ttl", "topics.ttl"):
        shutil.copy(HERE / "data" / "shapes" / name, directory / name)
    return directory


@pytest.fixture(autouse=True)
def test_ontology(tmp_path, monkeypatch) -> Path:
    directory = make_ontology_dir(tmp_path)
    monkeypatch.setenv("KB_ONTOLOGY", str(directory))
    monkeypatch.delenv("KB_BASE", raising=False)
    return directory


def span(text: str, words: str) -> tuple[int, int]:
    start = text.index(words)
    return start, start + len(words)


def make_document(name: str = "001_lavrov.txt", text: str = TEXT) -> Document:
    line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"][:-1]
    lines = [Line(s, text.index("\n", s), n + 1, text[s:text.index("\n", s)]) for n, s in enumerate(line_starts)]
    first = Post(index=0, start=0, end=lines[2].end, start_line=1, end_line=3, dup_start_line=None,
                 header=lines[0], lines=tuple(lines[1:3]), forwarded_from="Russian MFA", language="en",
                 hashtags=("diplomacy", "NewSTART"))
    second = Post(index=1, start=lines[3].start, end=lines[3].end, start_line=4, end_line=4,
                  dup_start_line=5, header=None, lines=(lines[3],))
    return Document(path=f"some/folder/{name}", name=name, text=text,
                    sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), kind="telegram",
                    posts=(first, second), title="Remarks", published="2025-05-29",
                    published_evidence="29 May 2025")


def make_claims(doc: Document) -> list[Claim]:
    s1, e1 = span(doc.text, "The New START treaty expires in February.")
    s2, e2 = span(doc.text, "Jürgen Müller was wrong")
    return [
        Claim(post_index=0, start=s1, end=e1, words=doc.text[s1:e1],
              speaker=SpeakerRef("Sergey Lavrov", "sergey-lavrov"), kind="direct", cue="🎙 Remarks by",
              cue_type="header", date=DateFound("2025-05-28", "resolved", "yesterday"),
              topics=(TopicHit("new-start", "New START", "explicit", 0.9),
                      TopicHit("istanbul-talks", "treaty", "context", 0.55)),
              co_speakers=(SpeakerRef("Russian Ministry of Defence", "russian-ministry-of-defence", "Organization"),),
              reported_by="TASS", language="en", confidence=0.9),
        Claim(post_index=1, start=s2, end=e2, words=doc.text[s2:e2],
              speaker=SpeakerRef("Maria Zakharova", "maria-zakharova"), kind="indirect", cue="said",
              cue_type="verb", date=DateFound("2025-05", "inferred"),
              co_speakers=(SpeakerRef("Jürgen Müller", None),)),
        Claim(post_index=1, start=s2, end=e2, words=doc.text[s2:e2],
              speaker=SpeakerRef("Jürgen Müller", None), kind="direct", cue="said", cue_type="verb",
              date=DateFound("2025", "published")),
    ]


def build(doc: Document | None = None) -> tuple[Document, list[Claim], Graph]:
    doc = doc or make_document()
    claims = make_claims(doc)
    return doc, claims, rdf.document_graph(doc, claims)


# ---------------------------------------------------------------- IRIs

def test_iris_are_deterministic():
    doc, claims, first = build()
    _, _, second = build()
    assert isomorphic(first, second)
    assert set(first) == set(second)  # the same IRIs, not merely the same shape
    assert rdf.claim_iri(doc.name, claims[0]) == rdf.claim_iri(doc.name, make_claims(make_document())[0])


def test_claim_iri_depends_on_place_speaker_and_kind():
    doc, claims, _ = build()
    claim = claims[0]
    iri = rdf.claim_iri(doc.name, claim)
    assert re.fullmatch(re.escape(config.base_iri()) + r"claim/[0-9a-f]{16}", iri)
    others = {
        rdf.claim_iri("other.txt", claim),
        rdf.claim_iri(doc.name, Claim(**{**claim.__dict__, "start": claim.start + 1})),
        rdf.claim_iri(doc.name, Claim(**{**claim.__dict__, "end": claim.end - 1})),
        rdf.claim_iri(doc.name, Claim(**{**claim.__dict__, "speaker": SpeakerRef("Maria Zakharova", "maria-zakharova")})),
        rdf.claim_iri(doc.name, Claim(**{**claim.__dict__, "kind": "indirect"})),
    }
    assert iri not in others and len(others) == 5
    # what the extractor says about the claim beyond where and who does not change its identity
    assert rdf.claim_iri(doc.name, Claim(**{**claim.__dict__, "confidence": 0.1, "topics": ()})) == iri


@pytest.mark.parametrize("name", ["001_lavrov.txt", "000_49c0c810f21c5879.txt", "a b (1).txt", "статья.txt"])
def test_document_iri_ends_with_the_file_name(name):
    iri = rdf.document_iri(name)
    assert iri.startswith(config.base_iri() + "document/")
    last = re.split(r"[/#:]", iri)[-1]  # as the evaluation script reads it
    assert last == name if re.fullmatch(r"[\w.-]+", name, re.ASCII) else last == rdf.quote(name, safe="")


def test_other_iris():
    base = config.base_iri()
    assert rdf.post_iri("a.txt", 3) == URIRef(base + "document/a.txt/post/3")
    assert rdf.speaker_iri("sergey-lavrov") == URIRef(base + "speaker/sergey-lavrov")
    assert rdf.topic_iri("new-start") == URIRef(base + "topic/new-start")
    assert rdf.topic_scheme_iri() == URIRef(base + "topics")


def test_iris_follow_the_base(monkeypatch):
    monkeypatch.setenv("KB_BASE", "https://example.net/kb")
    assert rdf.speaker_iri("x") == URIRef("https://example.net/kb/speaker/x")
    assert rdf.document_iri("a.txt") == URIRef("https://example.net/kb/document/a.txt")


@pytest.mark.parametrize("name,expected", [
    ("Jürgen Müller", "jurgen-muller"),
    ("  Sergey   Lavrov ", "sergey-lavrov"),
    ("Mr. O'Brien", "mr-o-brien"),
    ("Łukasz Straße", "lukasz-strasse"),
    ("Ministry of Defence (UK)", "ministry-of-defence-uk"),
])
def test_unlinked_speaker_slugs(name, expected):
    assert rdf.unlinked_speaker_iri(name) == rdf.speaker_iri(expected)


@pytest.mark.parametrize("name", ["Мария Захарова", "王毅", "Сергей Lavrov", "!!!"])
def test_names_without_a_latin_slug_are_hashed(name):
    slug = rdf.slug(name)
    assert re.fullmatch(r"h-[0-9a-f]{16}", slug)
    assert rdf.slug(name) == slug and rdf.slug(name.upper() + " ") == slug
    assert rdf.slug("Мария Захарова") != rdf.slug("Мария Захарова-Иванова")


# ---------------------------------------------------------------- the graph

def test_no_blank_nodes():
    _, _, g = build()
    assert not [t for t in g if any(isinstance(term, BNode) for term in t)]


def test_the_document_and_its_posts():
    doc, _, g = build()
    d = rdf.document_iri(doc.name)
    assert g.value(d, RDF.type) == KB.Document
    assert g.value(d, KB.fileName) == Literal(doc.name)
    assert g.value(d, KB.sha256) == Literal(doc.sha256)
    assert g.value(d, KB.documentKind) == Literal("telegram")
    assert g.value(d, SCHEMA.text) == Literal(doc.text)
    assert g.value(d, DCTERMS.title) == Literal("Remarks")
    assert g.value(d, SCHEMA.datePublished) == Literal("2025-05-29", datatype=XSD.date)
    assert not any(doc.path in str(o) for o in g.objects())  # local paths are never stored
    first, second = rdf.post_iri(doc.name, 0), rdf.post_iri(doc.name, 1)
    assert set(g.subjects(RDF.type, KB.Post)) == {first, second}
    assert g.value(first, SCHEMA.isPartOf) == d
    assert g.value(first, DCTERMS.title) == Literal("🎙 Remarks by Sergey Lavrov")
    assert set(g.objects(first, SCHEMA.keywords)) == {Literal("diplomacy"), Literal("NewSTART")}
    assert g.value(first, KB.forwardedFrom) == Literal("Russian MFA")
    assert g.value(first, DCTERMS.language) == Literal("en")
    assert (g.value(second, KB.startLine), g.value(second, KB.endLine), g.value(second, KB.duplicateStartLine)) == \
        (Literal(4), Literal(4), Literal(5))
    assert g.value(second, KB.postIndex) == Literal(1)
    assert g.value(second, KB.startOffset) == Literal(doc.posts[1].start)


def test_words_are_the_text_between_the_offsets():
    doc, claims, g = build()
    found = list(g.subjects(RDF.type, SCHEMA.Claim))
    assert len(found) == len(claims)
    for claim in found:
        start, end = g.value(claim, KB.startOffset), g.value(claim, KB.endOffset)
        assert start.datatype == end.datatype == XSD.integer
        assert doc.text[start.toPython():end.toPython()] == str(g.value(claim, SCHEMA.text))
        assert g.value(claim, PROV.wasDerivedFrom) == rdf.document_iri(doc.name)


def test_a_claim_as_kb_ttl_describes_it():
    doc, claims, g = build()
    c = rdf.claim_iri(doc.name, claims[0])
    assert g.value(c, SCHEMA.author) == rdf.speaker_iri("sergey-lavrov")
    assert g.value(c, KB.coSpeaker) == rdf.speaker_iri("russian-ministry-of-defence")
    assert g.value(c, KB.kind) == KB.DirectQuote
    assert g.value(c, KB.cue) == Literal("🎙 Remarks by")
    assert g.value(c, KB.cueType) == KB.HeaderAttribution
    assert g.value(c, KB.dateMethod) == KB.DateResolved
    assert g.value(c, KB.dateEvidence) == Literal("yesterday")
    assert g.value(c, KB.reportedBy) == Literal("TASS")
    assert g.value(c, SCHEMA.datePublished) == Literal("2025-05-29", datatype=XSD.date)
    assert g.value(c, SCHEMA.appearance) == rdf.post_iri(doc.name, 0)
    assert g.value(c, KB.confidence) == Literal("0.9", datatype=XSD.decimal)
    assert g.value(c, DCTERMS.language) == Literal("en")
    assert set(g.objects(c, SCHEMA.about)) == {rdf.topic_iri("new-start"), rdf.topic_iri("istanbul-talks")}
    context = URIRef(f"{c}#topic-istanbul-talks")
    assert set(g.objects(c, KB.topicAssignment)) == {URIRef(f"{c}#topic-new-start"), context}
    assert g.value(context, RDF.type) == KB.TopicAssignment
    assert g.value(context, KB.topic) == rdf.topic_iri("istanbul-talks")
    assert g.value(context, KB.matchedText) == Literal("treaty")
    assert g.value(context, KB.assignmentMethod) == KB.ContextMention
    assert g.value(context, KB.confidence) == Literal("0.55", datatype=XSD.decimal)


def test_cue_types_kinds_and_date_methods_are_the_vocabulary_terms():
    ontology = rdf.ontology_graph()
    for table, cls in ((rdf.CUE_TYPES, KB.CueType), (rdf.KINDS, KB.Kind), (rdf.DATE_METHODS, KB.DateMethod),
                       (rdf.ASSIGNMENT_METHODS, KB.AssignmentMethod)):
        assert set(table.values()) == set(ontology.subjects(RDF.type, cls))


def test_linked_speakers_are_referenced_unlinked_ones_described():
    doc, claims, g = build()
    lavrov, muller = rdf.speaker_iri("sergey-lavrov"), rdf.unlinked_speaker_iri("Jürgen Müller")
    assert (lavrov, None, None) not in g  # described in the ontology graph, not in each document
    assert g.value(muller, RDF.type) == SCHEMA.Person
    assert g.value(muller, SCHEMA.name) == Literal("Jürgen Müller")
    assert g.value(muller, KB.unlinked) == Literal(True)
    assert g.value(rdf.claim_iri(doc.name, claims[2]), SCHEMA.author) == muller


def test_an_unlinked_name_of_a_known_speaker_is_that_speaker():
    doc = make_document()
    claim = Claim(**{**make_claims(doc)[0].__dict__, "speaker": SpeakerRef("Maria  Zakharova", None)})
    g = rdf.document_graph(doc, [claim])
    zakharova = rdf.speaker_iri("maria-zakharova")
    assert g.value(rdf.claim_iri(doc.name, claim), SCHEMA.author) == zakharova
    assert (zakharova, None, None) not in g


@pytest.mark.parametrize("value,datatype", [
    ("2025-05-28", XSD.date), ("2025-05", XSD.gYearMonth), ("2025", XSD.gYear),
    ("2024-02-29", XSD.date),
    ("2025-02-30", XSD.string), ("2025-13", XSD.string), ("May 2025", XSD.string), ("", XSD.string),
])
def test_dates_are_typed_by_precision(value, datatype):
    doc = make_document()
    claim = Claim(**{**make_claims(doc)[0].__dict__, "date": DateFound(value, "stated")})
    stated = rdf.document_graph(doc, [claim]).value(rdf.claim_iri(doc.name, claim), KB.statedOn)
    assert stated == Literal(value, datatype=None if datatype == XSD.string else datatype)


def test_an_undated_claim_has_no_date():
    doc = make_document("002.txt")
    doc = Document(**{**doc.__dict__, "published": None, "published_evidence": None})
    claim = Claim(**{**make_claims(doc)[0].__dict__, "date": None})
    g = rdf.document_graph(doc, [claim])
    c = rdf.claim_iri(doc.name, claim)
    for p in (KB.statedOn, KB.dateMethod, KB.dateEvidence, SCHEMA.datePublished):
        assert g.value(c, p) is None
    assert validate_graph(g) == []


def test_the_same_claim_twice_is_one_claim():
    doc, claims, g = build()
    again = rdf.document_graph(doc, claims + [claims[0]])
    assert isomorphic(g, again)


def test_ingestion_time_only_when_given():
    doc, claims, g = build()
    d = rdf.document_iri(doc.name)
    assert g.value(d, KB.ingestedAt) is None
    timed = rdf.document_graph(doc, claims, ingested_at="2025-06-01T12:00:00Z")
    assert timed.value(d, KB.ingestedAt) == Literal("2025-06-01T12:00:00Z", datatype=XSD.dateTime)
    assert validate_graph(timed) == []


@pytest.mark.parametrize("fmt", ["turtle", "nt", "xml"])  # rdflib's JSON-LD parser warns (ConjunctiveGraph)
def test_exports_round_trip(fmt):
    _, _, g = build()
    back = Graph().parse(data=g.serialize(format=fmt), format=fmt)
    assert isomorphic(g, back)


# ---------------------------------------------------------------- ontology and validity

def test_the_graph_conforms():
    _, _, g = build()
    assert validate_graph(g) == []


def test_the_graph_conforms_under_another_base(monkeypatch):
    monkeypatch.setenv("KB_BASE", "https://example.net/kb/")
    doc, claims, g = build()
    assert str(rdf.document_iri(doc.name)).startswith("https://example.net/kb/document/")
    assert (rdf.topic_iri("new-start"), None, None) in rdf.ontology_graph()
    assert validate_graph(g) == []


def test_ontology_graph_holds_every_file_but_the_shapes(test_ontology):
    g = rdf.ontology_graph()
    assert (rdf.speaker_iri("sergey-lavrov"), SCHEMA.name, Literal("Sergey Lavrov")) in g
    assert (rdf.topic_iri("new-start"), None, None) in g
    assert (KB.Document, RDF.type, None) in g
    assert not any(str(p).startswith("http://www.w3.org/ns/shacl#") for p in g.predicates())
    assert rdf.ontology_graph() is g  # parsed once
    (test_ontology / "extra.ttl").write_text("<speaker/x> <https://schema.org/name> \"X\" .\n", encoding="utf-8")
    assert (rdf.speaker_iri("x"), SCHEMA.name, Literal("X")) in rdf.ontology_graph()  # a new file is read


def test_with_the_real_lexicon(monkeypatch):
    """The keys the extractor uses are those of the real speakers.ttl and topics.ttl."""
    monkeypatch.setenv("KB_ONTOLOGY", str(REAL_ONTOLOGY))
    ontology = rdf.ontology_graph()
    assert (rdf.speaker_iri("sergey-lavrov"), RDF.type, SCHEMA.Person) in ontology
    assert (rdf.topic_iri("new-start"), None, None) in ontology
    doc = make_document()
    claims = [Claim(**{**c.__dict__, "topics": c.topics[:1], "co_speakers": ()}) for c in make_claims(doc)]
    assert validate_graph(rdf.document_graph(doc, claims)) == []


def test_an_unknown_kind_is_kept_and_rejected():
    doc = make_document()
    claim = Claim(**{**make_claims(doc)[0].__dict__, "kind": "hearsay or rumour", "cue_type": "gossip"})
    g = rdf.document_graph(doc, [claim])
    c = rdf.claim_iri(doc.name, claim)
    assert g.value(c, KB.kind) == KB["hearsay%20or%20rumour"]
    problems = validate_graph(g)
    assert any(": kb:kind: " in p for p in problems) and any(": kb:cueType: " in p for p in problems)
