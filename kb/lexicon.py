"""The extractor's knowledge, read from the Turtle files in ontology/.

Speakers (names, aliases, roles), topics (patterns, near misses, context
terms) and the lexicon (reporting verbs, statement nouns, formalities, …) are
data: this module only reads them into plain Python objects and compiles the
regular expressions the extractor uses.  Nothing here is specific to a text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS

from . import config

KB = Namespace("https://w3id.org/kb/ns#")
SCHEMA = Namespace("https://schema.org/")

CYRILLIC = re.compile(r"[\u0400-\u04FF]")
# Russian case endings a name may take in running text: Лавров -> Лаврова,
# Лаврову, Лавровым; Захарова -> Захаровой, Захарову (the final vowel changes)
RU_ENDINGS = r"(?:а|у|ым|ом|е|ой|ою|ых|и)?"
RU_ENDINGS_A = r"(?:а|ы|и|е|у|ой|ою|ей|я|ю)"


@dataclass(frozen=True)
class Speaker:
    key: str
    name: str
    kind: str  # 'Person' | 'Organization'
    aliases: tuple[str, ...]
    roles: tuple[str, ...]
    sides: tuple[str, ...] = ()
    signatures: tuple[str, ...] = ()
    gender: str | None = None  # 'Female' | 'Male' | None


@dataclass(frozen=True)
class Topic:
    key: str
    label: str
    patterns: tuple[re.Pattern, ...]
    weak_patterns: tuple[re.Pattern, ...]
    excludes: tuple[re.Pattern, ...]
    context: tuple[re.Pattern, ...]
    tracked: bool = False


@dataclass(frozen=True)
class Verb:
    form: str
    lemma: str
    complement: str  # 'clause' | 'object'
    language: str


@dataclass
class Lexicon:
    speakers: dict[str, Speaker]
    topics: dict[str, Topic]
    verbs: list[Verb]
    statement_nouns: list[str]
    collective: list[str]
    readout_passive: list[str]
    meeting_words: list[str]
    formalities: list[re.Pattern]
    outlets: list[str]
    connectives: list[str]
    generic_roles: list[str]
    pronouns: dict[str, str | None]  # form -> 'Male' | 'Female' | None
    adverbs: list[str]
    # compiled on first use
    _cache: dict = field(default_factory=dict, repr=False)

    def verb(self, form: str) -> Verb | None:
        table = self._cache.get("verbs")
        if table is None:
            table = self._cache["verbs"] = {v.form.lower(): v for v in self.verbs}
        return table.get(form.lower())

    def alias_index(self) -> list[tuple[str, str]]:
        """(alias, speaker key), longest alias first: names before surnames."""
        if "aliases" not in self._cache:
            pairs = []
            for sp in self.speakers.values():
                for alias in {sp.name, *sp.aliases}:
                    pairs.append((alias, sp.key))
            pairs.sort(key=lambda p: -len(p[0]))
            self._cache["aliases"] = pairs
        return self._cache["aliases"]

    def is_outlet(self, text: str) -> bool:
        t = text.strip().lower()
        t = re.sub(r"^the\s+", "", t)
        return any(re.search(rf"(?<!\w){re.escape(o.lower())}(?!\w)", t) for o in self.outlets)


def _literals(g: Graph, s, p) -> list[str]:
    return sorted(str(o) for o in g.objects(s, p))


def _compile(patterns: list[str]) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


def _key(iri: URIRef) -> str:
    return str(iri).rstrip("/").rsplit("/", 1)[-1]


def _forms(g: Graph, cls) -> list[str]:
    out: list[str] = []
    for s in g.subjects(RDF.type, cls):
        out.extend(_literals(g, s, KB.form))
    return sorted(set(out), key=lambda f: (-len(f), f))


def load_graph(directory: Path | None = None) -> Graph:
    directory = Path(directory or config.ontology_dir())
    g = Graph()
    for name in ("speakers.ttl", "topics.ttl", "lexicon.ttl"):
        g.parse(directory / name, format="turtle", publicID=config.base_iri())
    return g


@lru_cache(maxsize=4)
def load_lexicon(directory: str | None = None) -> Lexicon:
    g = load_graph(Path(directory) if directory else None)
    speakers = {}
    for kind in ("Person", "Organization"):
        for s in g.subjects(RDF.type, SCHEMA[kind]):
            key = _key(s)
            speakers[key] = Speaker(
                key=key,
                name=str(g.value(s, SCHEMA.name)),
                kind=kind,
                aliases=tuple(_literals(g, s, SKOS.altLabel)),
                roles=tuple(_literals(g, s, KB.role)),
                sides=tuple(_literals(g, s, KB.side)),
                signatures=tuple(_literals(g, s, KB.signature)),
                gender=_key(g.value(s, SCHEMA.gender)) if g.value(s, SCHEMA.gender) else None,
            )
    topics = {}
    for s in g.subjects(RDF.type, SKOS.Concept):
        key = _key(s)
        labels = [o for o in g.objects(s, SKOS.prefLabel) if getattr(o, "language", None) in ("en", None)]
        topics[key] = Topic(
            key=key,
            label=str(labels[0]) if labels else key,
            patterns=_compile(_literals(g, s, KB.pattern)),
            weak_patterns=_compile(_literals(g, s, KB.weakPattern)),
            excludes=_compile(_literals(g, s, KB.excludePattern)),
            context=_compile(_literals(g, s, KB.contextTerm)),
            tracked=bool(g.value(s, KB.tracked)),
        )
    verbs = []
    for s in g.subjects(RDF.type, KB.ReportingVerb):
        complement = "object" if (s, KB.complement, KB.ObjectComplement) in g else "clause"
        lang = str(g.value(s, DCTERMS.language) or "en")
        for form in _literals(g, s, KB.form):
            verbs.append(Verb(form=form, lemma=_key(s), complement=complement, language=lang))
    verbs.sort(key=lambda v: -len(v.form))
    formality = []
    for s in g.subjects(RDF.type, KB.Formality):
        formality.extend(_literals(g, s, KB.pattern))
    return Lexicon(
        speakers=speakers,
        topics=topics,
        verbs=verbs,
        statement_nouns=_forms(g, KB.StatementNoun),
        collective=_forms(g, KB.CollectiveSubject),
        readout_passive=_forms(g, KB.ReadoutPassive),
        meeting_words=_forms(g, KB.MeetingWord),
        formalities=list(_compile(formality)),
        outlets=_forms(g, KB.NewsOutlet),
        connectives=_forms(g, KB.Connective),
        generic_roles=_forms(g, KB.GenericRole),
        pronouns={form: (_key(g.value(s, SCHEMA.gender)) if g.value(s, SCHEMA.gender) else None)
                  for s in g.subjects(RDF.type, KB.Pronoun) for form in _literals(g, s, KB.form)},
        adverbs=_forms(g, KB.Adverb),
    )


def alias_pattern(alias: str) -> str:
    """A regex for an alias as it may appear in text: word-bounded, flexible
    about spaces after initials, and allowing Russian case endings."""
    return rf"(?<![\w\-]){alias_body(alias)}(?![\w\-])"


def alias_body(alias: str) -> str:
    """``alias_pattern`` without the word boundaries."""
    parts = [re.escape(p) for p in re.split(r"\s+", alias.strip())]
    body = r"\s+".join(parts)
    body = body.replace(r"\.", r"\.\s?")
    if CYRILLIC.search(alias):
        if alias[-1] in "ая":
            body = body[:-1] + RU_ENDINGS_A
        else:
            body += RU_ENDINGS
    return body
