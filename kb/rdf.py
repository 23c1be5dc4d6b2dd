"""Documents and claims as RDF: the ONLY place where kb mints IRIs.

Every IRI lives under ``config.base_iri()`` and is a pure function of the
input, so that ingesting the same file twice gives the same graph:

    document/<file name>                      a kb:Document (percent-encoded name, last segment)
    document/<file name>/post/<index>         a kb:Post
    claim/<sha1 of doc, offsets, speaker, kind, 16 hex>   a schema:Claim
    claim/<…>#topic-<topic key>               its kb:TopicAssignment for one topic
    speaker/<key>                             a speaker of ontology/speakers.ttl
    speaker/<slug of the name>                a speaker found in a text only (kb:unlinked true)
    topic/<key>, topics                       a topic and the scheme of ontology/topics.ttl

``document_graph`` turns a Document and its Claims into one graph in the
shape ontology/kb.ttl describes, with no blank nodes; ``ontology_graph``
reads the vocabulary and the lexicon files (relative IRIs resolved against
the base), which is what the store keeps as its ontology graph.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, SKOS, XSD

from . import config
from .model import Claim, DateFound, Document, Post, SpeakerRef

KB = Namespace("https://w3id.org/kb/ns#")
SCHEMA = Namespace("https://schema.org/")

SHAPES_FILE = "shapes.ttl"  # in ontology/, but not part of the ontology graph

KINDS = {"direct": KB.DirectQuote, "indirect": KB.ReportedSpeech}
CUE_TYPES = {
    "label": KB.SpeakerLabel,
    "header": KB.HeaderAttribution,
    "signature": KB.Signature,
    "verb": KB.ReportingVerb,
    "according-to": KB.AccordingTo,
    "readout": KB.Readout,
}
DATE_METHODS = {
    "stated": KB.DateStated,
    "resolved": KB.DateResolved,
    "inferred": KB.DateInferred,
    "published": KB.DatePublished,
}
ASSIGNMENT_METHODS = {"explicit": KB.ExplicitMention, "context": KB.ContextMention}
SPEAKER_KINDS = {"Person": SCHEMA.Person, "Organization": SCHEMA.Organization}

# ISO value at its precision -> (datatype, the check a value of it must pass)
_PRECISIONS = (
    (re.compile(r"\d{4}-\d{2}-\d{2}"), XSD.date, dt.date.fromisoformat),
    (re.compile(r"\d{4}-\d{2}"), XSD.gYearMonth, lambda v: dt.date.fromisoformat(v + "-01")),
    (re.compile(r"\d{4}"), XSD.gYear, int),
)
# Latin letters that Unicode decomposition does not reduce to ASCII
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
                       "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "þ": "th", "Þ": "Th"})


# ---------------------------------------------------------------- IRIs

def _base() -> str:
    return config.base_iri()


def _sha1(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]


def document_iri(name: str) -> URIRef:
    """The document's IRI: its file name, percent-encoded, is the last path segment."""
    return URIRef(f"{_base()}document/{quote(name, safe='')}")


def post_iri(doc_name: str, index: int) -> URIRef:
    return URIRef(f"{document_iri(doc_name)}/post/{int(index)}")


def claim_iri(doc_name: str, claim: Claim) -> URIRef:
    """Stable across re-ingests: a hash of where the words are, who said them and how."""
    digest = _sha1(doc_name, claim.start, claim.end, claim.speaker.name, claim.kind)
    return URIRef(f"{_base()}claim/{digest}")


def topic_assignment_iri(claim: URIRef, topic_key: str) -> URIRef:
    return URIRef(f"{claim}#topic-{quote(topic_key, safe='')}")


def speaker_iri(key: str) -> URIRef:
    return URIRef(f"{_base()}speaker/{quote(key, safe='')}")


def slug(name: str) -> str:
    """'Jürgen Müller' -> 'jurgen-muller'; a name not in Latin letters -> 'h-' and a hash.

    A name whose letters cannot all be folded to ASCII (Cyrillic, say) gets a
    hash rather than a slug of whatever Latin part it has, so that two
    different names never share an IRI by losing their letters.
    """
    spaced = " ".join(name.split())
    folded = unicodedata.normalize("NFKD", spaced.translate(_FOLD))
    kept = "".join(ch for ch in folded if not unicodedata.combining(ch))
    if all(ch.isascii() for ch in kept if ch.isalpha()):
        text = re.sub(r"[^a-z0-9]+", "-", kept.lower()).strip("-")
        if text:
            return text
    return "h-" + _sha1(spaced.casefold())


def unlinked_speaker_iri(name: str) -> URIRef:
    return speaker_iri(slug(name))


def topic_iri(key: str) -> URIRef:
    return URIRef(f"{_base()}topic/{quote(key, safe='')}")


def topic_scheme_iri() -> URIRef:
    return URIRef(f"{_base()}topics")


# ---------------------------------------------------------------- ontology

_ONTOLOGY: dict[tuple, Graph] = {}


def ontology_graph() -> Graph:
    """The vocabulary, speakers, topics and lexicon: every ontology/*.ttl but shapes.ttl.

    Relative IRIs are resolved against the base IRI.  Parsed once per
    (directory, base, file dates); callers must not change the graph.
    """
    directory = Path(config.ontology_dir())
    files = sorted(p for p in directory.glob("*.ttl") if p.name != SHAPES_FILE)
    key = (str(directory.resolve()), _base(), tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files))
    graph = _ONTOLOGY.get(key)
    if graph is None:
        graph = Graph()
        for path in files:
            graph.parse(path, format="turtle", publicID=_base())
        _ONTOLOGY.clear()  # only the current files matter
        _ONTOLOGY[key] = graph
    return graph


# ---------------------------------------------------------------- literals

def date_literal(value: str) -> Literal:
    """An ISO date at its precision, typed xsd:date, xsd:gYearMonth or xsd:gYear.

    A value that is no such date ('2025-02-30') stays a plain string, which
    the shapes reject: the file fails with a message instead of the graph
    holding an ill-typed literal.
    """
    for pattern, datatype, check in _PRECISIONS:
        if pattern.fullmatch(value):
            try:
                check(value)
            except ValueError:
                break
            return Literal(value, datatype=datatype)
    return Literal(value)


def decimal_literal(value: float) -> Literal:
    return Literal(Decimal(str(round(float(value), 3))))


# ---------------------------------------------------------------- the document graph

def new_graph(identifier: URIRef | None = None) -> Graph:
    g = Graph(identifier=identifier)
    for prefix, ns in (("kb", KB), ("schema", SCHEMA), ("prov", PROV), ("skos", SKOS),
                       ("dcterms", DCTERMS), ("owl", OWL), ("xsd", XSD)):
        g.bind(prefix, ns, override=True)
    return g


def document_graph(doc: Document, claims: list[Claim], ingested_at: str | None = None) -> Graph:
    """One graph for the document, its posts and its claims; no blank nodes.

    Two claims with the same IRI (same words, speaker and kind) are one
    claim: the first is kept.  ``ingested_at`` (an xsd:dateTime) is left out
    by default so that re-ingesting a file gives an isomorphic graph.
    """
    return triples_graph(document_iri(doc.name), document_triples(doc, claims, ingested_at))


def triples_graph(identifier: URIRef, triples) -> Graph:
    """A graph (with kb's prefixes) of these triples."""
    g = new_graph(identifier)
    for triple in triples:
        g.add(triple)
    return g


class _Triples(dict):
    """Where a document's triples are gathered: distinct, in the order they came, added the way
    an rdflib Graph adds them (an rdflib Graph keeps three indexes and costs twice as much)."""

    def add(self, triple) -> None:
        self[triple] = None


def document_triples(doc: Document, claims: list[Claim], ingested_at: str | None = None) -> list:
    """The triples of ``document_graph`` (rdflib terms), distinct, without building the graph:
    what an ingest writes to the store when no rdflib graph is needed to check it."""
    doc_iri = document_iri(doc.name)
    g = _Triples()
    _add_document(g, doc_iri, doc, ingested_at)
    for post in doc.posts:
        _add_post(g, doc_iri, doc.name, post)
    speakers = ontology_graph()
    seen: set[URIRef] = set()
    for claim in claims:
        iri = claim_iri(doc.name, claim)
        if iri not in seen:
            seen.add(iri)
            _add_claim(g, iri, doc_iri, doc, claim, speakers)
    return list(g)


def _add_document(g: _Triples, iri: URIRef, doc: Document, ingested_at: str | None) -> None:
    g.add((iri, RDF.type, KB.Document))
    g.add((iri, KB.fileName, Literal(doc.name)))
    g.add((iri, KB.sha256, Literal(doc.sha256)))
    g.add((iri, KB.documentKind, Literal(doc.kind)))
    g.add((iri, SCHEMA.text, Literal(doc.text)))
    if doc.title:
        g.add((iri, DCTERMS.title, Literal(doc.title)))
    if doc.published:
        g.add((iri, SCHEMA.datePublished, date_literal(doc.published)))
        if doc.published_evidence:
            g.add((iri, KB.dateEvidence, Literal(doc.published_evidence)))
    if ingested_at:
        g.add((iri, KB.ingestedAt, Literal(ingested_at, datatype=XSD.dateTime)))


def _add_post(g: _Triples, doc_iri: URIRef, doc_name: str, post: Post) -> None:
    iri = post_iri(doc_name, post.index)
    g.add((iri, RDF.type, KB.Post))
    g.add((iri, SCHEMA.isPartOf, doc_iri))
    g.add((iri, KB.postIndex, Literal(post.index)))
    g.add((iri, KB.startOffset, Literal(post.start)))
    g.add((iri, KB.endOffset, Literal(post.end)))
    g.add((iri, KB.startLine, Literal(post.start_line)))
    g.add((iri, KB.endLine, Literal(post.end_line)))
    if post.dup_start_line is not None:
        g.add((iri, KB.duplicateStartLine, Literal(post.dup_start_line)))
    if post.header is not None:
        g.add((iri, DCTERMS.title, Literal(post.header.text)))
    if post.forwarded_from:
        g.add((iri, KB.forwardedFrom, Literal(post.forwarded_from)))
    if post.language:
        g.add((iri, DCTERMS.language, Literal(post.language)))
    for tag in post.hashtags:
        g.add((iri, SCHEMA.keywords, Literal(tag)))


def _speaker(g: _Triples, ref: SpeakerRef, ontology: Graph) -> URIRef:
    """The speaker's IRI; an unlinked speaker is described in the document graph.

    An unlinked name whose slug is already a speaker of the ontology
    ('Maria Zakharova' -> speaker/maria-zakharova) is that speaker: it is only
    referenced, so that the graph never marks a known speaker unlinked.
    """
    if ref.key is not None:
        return speaker_iri(ref.key)
    iri = unlinked_speaker_iri(ref.name)
    if (iri, SCHEMA.name, None) not in ontology:
        g.add((iri, RDF.type, SPEAKER_KINDS.get(ref.kind, SCHEMA.Person)))
        g.add((iri, SCHEMA.name, Literal(" ".join(ref.name.split()))))
        g.add((iri, KB.unlinked, Literal(True)))
    return iri


def _term(table: dict[str, URIRef], value: str) -> URIRef:
    """The vocabulary term for a value; an unknown value becomes a kb: term the shapes reject."""
    return table.get(value) or KB[quote(value or "missing", safe="")]


def _add_date(g: _Triples, iri: URIRef, date: DateFound) -> None:
    g.add((iri, KB.statedOn, date_literal(date.value)))
    g.add((iri, KB.dateMethod, _term(DATE_METHODS, date.method)))
    if date.evidence:
        g.add((iri, KB.dateEvidence, Literal(date.evidence)))


def _add_claim(g: _Triples, iri: URIRef, doc_iri: URIRef, doc: Document, claim: Claim, ontology: Graph) -> None:
    g.add((iri, RDF.type, SCHEMA.Claim))
    g.add((iri, SCHEMA.author, _speaker(g, claim.speaker, ontology)))
    for other in claim.co_speakers:
        g.add((iri, KB.coSpeaker, _speaker(g, other, ontology)))
    g.add((iri, SCHEMA.text, Literal(claim.words)))
    g.add((iri, KB.kind, _term(KINDS, claim.kind)))
    if claim.cue:
        g.add((iri, KB.cue, Literal(claim.cue)))
    g.add((iri, KB.cueType, _term(CUE_TYPES, claim.cue_type)))
    if claim.date is not None:
        _add_date(g, iri, claim.date)
    if doc.published:
        g.add((iri, SCHEMA.datePublished, date_literal(doc.published)))
    if claim.reported_by:
        g.add((iri, KB.reportedBy, Literal(claim.reported_by)))
    for hit in claim.topics:
        topic = topic_iri(hit.key)
        assignment = topic_assignment_iri(iri, hit.key)
        g.add((iri, SCHEMA.about, topic))
        g.add((iri, KB.topicAssignment, assignment))
        g.add((assignment, RDF.type, KB.TopicAssignment))
        g.add((assignment, KB.topic, topic))
        g.add((assignment, KB.matchedText, Literal(hit.matched)))
        g.add((assignment, KB.assignmentMethod, _term(ASSIGNMENT_METHODS, hit.method)))
        g.add((assignment, KB.confidence, decimal_literal(hit.confidence)))
    g.add((iri, SCHEMA.appearance, post_iri(doc.name, claim.post_index)))
    g.add((iri, PROV.wasDerivedFrom, doc_iri))
    g.add((iri, KB.startOffset, Literal(claim.start)))
    g.add((iri, KB.endOffset, Literal(claim.end)))
    g.add((iri, KB.confidence, decimal_literal(claim.confidence)))
    if claim.language:
        g.add((iri, DCTERMS.language, Literal(claim.language)))
