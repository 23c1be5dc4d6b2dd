"""What the side index keeps of a document: its rows, read off a graph through the vocabulary.

Rows are derived from a document's graph (an rdflib Graph, or ``Triples``
when ``kb reindex`` reads the store) through schema:Claim, schema:text,
schema:author, schema:about, kb:statedOn and kb:kind; labels come from the
graph itself or, for speakers, topics and kinds of the ontology, from the
``lookup`` the store passes in.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS

KB = Namespace("https://w3id.org/kb/ns#")
SCHEMA = Namespace("https://schema.org/")

# the predicates that give a label, per kind of term, in order of preference
SPEAKER_LABELS = (SCHEMA.name, RDFS.label)
TOPIC_LABELS = (SKOS.prefLabel, RDFS.label)
KIND_LABELS = (RDFS.label,)

Lookup = Callable[[URIRef, tuple], "str | None"]
# the predicates whose literal values rows_of reads only as strings (str(), int()): a reader
# may give their lexical forms in place of rdflib Literals
LEXICAL = (SCHEMA.text, KB.statedOn, KB.startOffset)
# the terms rows_of looks up per claim, made once (a Namespace makes a new URIRef per attribute)
_CLAIM, _TEXT, _AUTHOR, _ABOUT = SCHEMA.Claim, SCHEMA.text, SCHEMA.author, SCHEMA.about
_STATED, _KIND, _START, _SOURCE = KB.statedOn, KB.kind, KB.startOffset, PROV.wasDerivedFrom
# every predicate rows_of reads: what the store needs to read of a graph to index it
INDEXED_PREDICATES = (RDF.type, SCHEMA.text, SCHEMA.author, SCHEMA.about, KB.statedOn, KB.kind,
                      KB.startOffset, PROV.wasDerivedFrom, *SPEAKER_LABELS, *TOPIC_LABELS, *KIND_LABELS)


@dataclass
class Row:
    """What the index keeps of one claim."""

    claim: str
    words: str
    speaker: str | None
    date: str = ""
    kind: str = ""
    start: int | None = None
    topics: list[str] = field(default_factory=list)
    document: str | None = None  # its prov:wasDerivedFrom, when it has one
    kind_term: str | None = None  # its kb:kind, when it has one
    # one schema:text and prov:wasDerivedFrom, at most one of schema:author, kb:statedOn,
    # kb:startOffset (an integer as written) and kb:kind, IRIs where a view's query wants
    # IRIs: the claim's row of a view is then the same from the index as from the store
    plain: bool = False

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if re.match(r"\d{4}", self.date) else None


def key_of(iri: str) -> str:
    """The key of a speaker or topic IRI: its last path segment ('…/speaker/sergey-lavrov')."""
    return iri.rstrip("/").rsplit("/", 1)[-1]


def _label(graph: Graph, iri, predicates: tuple, lookup: Lookup | None) -> str | None:
    for predicate in predicates:
        values = [o for o in graph.objects(iri, predicate) if isinstance(o, Literal)]
        if values:
            return str(english_first(values))
    return lookup(iri, predicates) if lookup is not None else None


def english_first(values: list[Literal]) -> Literal:
    return min(values, key=lambda v: (v.language not in (None, "en"), v.language or "", str(v)))


def int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def rows_of(graph: Graph, lookup: Lookup | None = None) -> tuple[list[Row], dict[str, str]]:
    """(rows in document order, {IRI: label} of their speakers and topics) of a document graph."""
    rows, labels = [], {}
    kinds: dict = {}
    for claim in set(graph.subjects(RDF.type, _CLAIM)):
        texts = sorted(graph.objects(claim, _TEXT))
        words = " ".join(str(w) for w in texts)
        authors = sorted(graph.objects(claim, _AUTHOR))
        speaker = next(iter(authors), None)
        dates = sorted(graph.objects(claim, _STATED))
        stated = next(iter(dates), None)
        kind_terms = sorted(graph.objects(claim, _KIND))
        kind = next(iter(kind_terms), None)
        if kind is not None and kind not in kinds:
            kinds[kind] = _label(graph, kind, KIND_LABELS, lookup) or key_of(str(kind)).rsplit("#", 1)[-1]
        about = list(graph.objects(claim, _ABOUT))
        topics = sorted({str(t) for t in about if isinstance(t, URIRef)})
        starts = list(graph.objects(claim, _START))
        start = int_or_none(starts[0]) if starts else None
        sources = list(graph.objects(claim, _SOURCE))
        plain = (len(texts) == 1 and not isinstance(texts[0], (URIRef, BNode))
                 and len(sources) == 1 and isinstance(sources[0], URIRef)
                 and len(authors) <= 1 and all(isinstance(a, URIRef) for a in authors)
                 and len(dates) <= 1 and len(kind_terms) <= 1 and all(isinstance(k, URIRef) for k in kind_terms)
                 and len(about) == len(topics)
                 and (not starts or (len(starts) == 1 and start is not None and str(start) == str(starts[0]))))
        row = Row(str(claim), words, str(speaker) if speaker is not None else None,
                  str(stated) if stated is not None else "", kinds.get(kind, ""), start, topics,
                  str(sources[0]) if sources else None, str(kind) if kind is not None else None, plain)
        rows.append(row)
        if speaker is not None and str(speaker) not in labels:
            labels[str(speaker)] = _label(graph, speaker, SPEAKER_LABELS, lookup)
        for topic in topics:
            if topic not in labels:
                labels[topic] = _label(graph, URIRef(topic), TOPIC_LABELS, lookup)
    rows.sort(key=row_order)
    return rows, {iri: label for iri, label in labels.items()}


def row_order(row: Row) -> tuple:
    """A document's claims in the order of their offsets and IRIs: the order their ids are given
    in (SearchIndex._replace), on which the lists' order rests (kb.fts.browse._page)."""
    return (row.start is None, row.start or 0, row.claim)


class Triples:
    """The triples of a graph that the index reads, looked up as ``rows_of`` looks them up: a light
    stand-in for an rdflib Graph (no indexes but these two, no events, no contexts), which the store
    fills when it rebuilds the index from millions of triples.  The triples of one named graph of
    the store are distinct, so nothing is deduplicated here."""

    def __init__(self) -> None:
        self._by_subject: dict = {}
        self._by_object: dict = {}
        self._by_predicate: dict = {}

    def add(self, triple) -> None:
        s, p, o = triple
        self._by_subject.setdefault((s, p), []).append(o)
        self._by_object.setdefault((p, o), []).append(s)
        self._by_predicate.setdefault(p, []).append((s, o))

    def subjects(self, predicate, obj) -> Iterator:
        return iter(self._by_object.get((predicate, obj), ()))

    def objects(self, subject, predicate) -> Iterator:
        return iter(self._by_subject.get((subject, predicate), ()))

    def subject_objects(self, predicate) -> Iterator:
        return iter(self._by_predicate.get(predicate, ()))

    def value(self, subject, predicate):
        found = self._by_subject.get((subject, predicate))
        return found[0] if found else None

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_predicate.values())


def resources_of(graph: Graph) -> tuple[int, int]:
    """(kb:Document resources, kb:Post resources) a graph describes: its part of the home page's totals."""
    return (len(set(graph.subjects(RDF.type, KB.Document))), len(set(graph.subjects(RDF.type, KB.Post))))


def fingerprint(rows: Iterable[Row]) -> tuple[int, str]:
    """(claims, hash of their IRIs and words): what the index holds of a document."""
    digest, n = hashlib.sha1(), 0
    for row in sorted(rows, key=lambda r: r.claim):
        digest.update(f"{row.claim}\x1f{row.words}\x1e".encode("utf-8"))
        n += 1
    return n, digest.hexdigest()


def ontology_labels(graph: Graph) -> dict[str, str]:
    """{IRI: label} of the speakers (schema:name) and topics (skos:prefLabel) the ontology describes."""
    out: dict[str, str] = {}
    for predicate in (RDFS.label, SKOS.prefLabel, SCHEMA.name):  # later predicates win
        found: dict = {}
        for s, o in graph.subject_objects(predicate):
            if isinstance(s, URIRef) and isinstance(o, Literal):
                found.setdefault(str(s), []).append(o)
        out.update({iri: str(english_first(values)) for iri, values in found.items()})
    return out
