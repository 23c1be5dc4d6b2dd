"""A view's data: the rows of a speaker's or topic's view made from the side index, and every
view's rows written as CSV and Turtle (kb.web.pages answers with them).

The data formats of a speaker's or a topic's view (every claim, cut at the
server's MAX_ROWS) take the claims from the side index's list and make
their rows there too (``view_rows``): the index keeps what a row shows of
each claim (kb.fts.Row.plain), and the store is asked only for the names of
their kinds and speakers (``term_names``, once per version of the store);
the rows of a claim the index cannot make a row of (two texts, say) are the
view's own named query's on that claim (kb.queries.run_listed).  Every path
gives the rows in one order (``canonical``), so that a view's data are the
same bytes from the index as from the named queries alone.

Ten thousand rows are written in tens of milliseconds: CSV by ``csv_text``
(the csv module was six times slower on Cyrillic text), Turtle by pyoxigraph
from the rows' statements (``row_statements``, kb.store.write_statements),
no rdflib term made (bench/RESULTS.md, "Whole-view exports from the side
index").
"""
from __future__ import annotations

import itertools
from operator import itemgetter
from typing import Iterable, Iterator

from flask import current_app
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, PROV, RDFS, SKOS, XSD

from .. import fts, queries
from ..store import SelectResult
from .linked_data import get_store, store_version

KB = Namespace("https://w3id.org/kb/ns#")
SCHEMA = Namespace("https://schema.org/")

# how a column of a view is written in Turtle (the row's first column is its subject)
PREDICATES = {
    "quote": SCHEMA.text, "speaker": SCHEMA.author, "document": PROV.wasDerivedFrom,
    "topics": SCHEMA.about, "topic": SCHEMA.about, "name": SCHEMA.name, "speakerName": None,
    "label": SKOS.prefLabel, "definition": SKOS.definition, "sameAs": OWL.sameAs,
    "roles": KB.role, "aliases": SKOS.altLabel, "start": KB.startOffset, "end": KB.endOffset,
    "claims": KB.claimCount,
}
INTEGERS = ("start", "end", "claims")
IRI_COLUMNS = ("speaker", "document", "topics", "topic", "sameAs")
DATES = {10: str(XSD.date), 7: str(XSD.gYearMonth), 4: str(XSD.gYear)}
STATED_ON, INTEGER = str(KB.statedOn), str(XSD.integer)

# the columns of the views' queries that view_rows makes from the side index (besides those of
# their parameters), and the properties that name a claim's kind and speaker there (as
# speaker-claims.rq and topic-claims.rq name them)
CLAIM_CELLS = ("claim", "date", "quote", "kind", "document", "start", "topics", "speaker", "speakerName")
KIND_NAME, SPEAKER_NAME = str(RDFS.label), str(SCHEMA.name)


def visible_rows(query: queries.NamedQuery, result: SelectResult) -> list[dict]:
    """The rows of ``query``'s answer as {column: plain string}, its hidden columns left out."""
    return queries.as_dicts(queries.visible(query, result))


def view_rows(index: fts.SearchIndex, query: queries.NamedQuery, bindings: dict, limit: int) -> list[dict]:
    """The rows the view's query gives for the first ``limit`` claims the side index lists for it,
    in that order, as {column: plain string} — made from the index, and the names of their kinds
    and speakers asked of the store in one query (queries/term-names.rq), rather than looked up
    claim by claim.

    The index has a claim's row when the claim is plain (kb.fts.Row.plain: one text, one
    document, at most one speaker, date, offset and kind) and its kind and speaker have at
    most one name each; the rows of any other claim, and every row of a query with a column
    the index does not keep, are the query's own on those claims (kb.queries.run_listed), in
    ``canonical`` order."""
    columns = queries.visible_columns(query)
    listed = queries.index_claims(index, query, bindings, limit=limit, details=True, topics="topics" in columns)
    fixed = {k: str(v) for k, v in bindings.items() if k in columns}  # a parameter's column
    if not set(columns) <= {*CLAIM_CELLS, *fixed}:
        return canonical(visible_rows(query, queries.run_listed(get_store(), query, bindings,
                                                                 [item.claim for item in listed])))
    terms = {(item.kind_term, KIND_NAME) for item in listed if item.kind_term}
    if "speakerName" in columns:
        terms |= {(item.speaker, SPEAKER_NAME) for item in listed if item.speaker}
    names = term_names(terms)
    # a term's one name, '' for none; a term with several is left out (the query's rows give it)
    kinds = {t: (n[0] if n else "") for (t, p), n in names.items() if p == KIND_NAME and len(n) <= 1}
    speakers = {t: (n[0] if n else "") for (t, p), n in names.items() if p == SPEAKER_NAME and len(n) <= 1}
    kinds[None] = speakers[None] = ""
    named = "speakerName" in columns  # else a speaker's names do not matter
    # a claim's cells are made in the order of CLAIM_CELLS, the parameters' after them; a row
    # picks its columns from there (itemgetter, dict(zip()): no Python call per cell)
    where = {c: i for i, c in enumerate([*CLAIM_CELLS, *fixed])}
    pick = itemgetter(*[where[c] for c in columns], -1)  # and one more, so that it always gives a tuple
    constant = (*fixed.values(), "")
    rows: list[dict | None] = [
        dict(zip(columns, pick((
            item.claim, item.date, item.words, kinds[item.kind_term], item.document,
            "" if item.start is None else str(item.start), item.topics, item.speaker or "",
            speakers.get(item.speaker, ""), *constant))))
        if item.plain and item.kind_term in kinds and (not named or item.speaker in speakers) else None
        for item in listed]
    rest = [item.claim for item, row in zip(listed, rows) if row is None]
    if not rest:
        return rows
    others: dict[str, list[dict]] = {}
    for row in canonical(visible_rows(query, queries.run_listed(get_store(), query, bindings, rest))):
        others.setdefault(row["claim"], []).append(row)
    return [row for item, made in zip(listed, rows)
            for row in ([made] if made is not None else others.get(item.claim, []))]


def term_names(terms: set[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """{(term, property): its distinct values as strings} for the (IRI, property IRI) pairs ``terms``
    (queries/term-names.rq), kept per version of the store as ``cached`` keeps answers: a view of
    ten thousand claims names the same few kinds and hundreds of speakers as the one before."""
    version = store_version()
    kept = current_app.extensions.setdefault("kb_term_names", {})
    if kept.get("version") != version or version is None:
        kept.clear()
        kept["version"] = version
    names = kept.setdefault("names", {})
    wanted = sorted(terms - names.keys())
    if wanted:
        found = get_store().query_listed(queries.load_query("term-names").text, ("term", "property"),
                                         [(URIRef(t), URIRef(p)) for t, p in wanted])
        fresh: dict[tuple[str, str], list[str]] = {key: [] for key in wanted}  # a term without a name too
        for term, prop, name in found.rows:
            fresh[(str(term), str(prop))].append(str(name))
        names.update(fresh)
    return {key: names[key] for key in terms}


def canonical(rows: list[dict]) -> list[dict]:
    """The rows with each one's "topics" (IRIs joined by spaces, in the order the store gives them)
    sorted, and the rows of one claim (next to each other: they sort the same) in the order of their
    cells, which the query leaves to the store: a view's data are the same bytes on every path."""
    for row in rows:
        if row.get("topics"):
            row["topics"] = " ".join(sorted(row["topics"].split(" ")))
    out: list[dict] = []
    for _, same in itertools.groupby(rows, key=lambda row: row.get("claim")):
        same = list(same)
        out += sorted(same, key=lambda row: list(row.values())) if len(same) > 1 else same
    return out


def csv_text(columns: list[str], rows: Iterable[list[str]]) -> str:
    """CSV (RFC 4180, lines ended by LF) of rows of strings: a field with a comma, a quote, CR or LF
    quoted, its quotes doubled.  What csv.writer writes (it leaves a lone CR unquoted), written
    here because csv.writer took 150 ms for ten thousand rows of Cyrillic claims, this 25 ms."""
    def field(value: str) -> str:
        if '"' in value:
            return '"' + value.replace('"', '""') + '"'
        if "," in value or "\n" in value or "\r" in value or (value == "" and len(columns) == 1):
            return '"' + value + '"'
        return value

    lines = [",".join(map(field, columns))]
    lines += [",".join(map(field, row)) for row in rows]
    return "\n".join(lines) + "\n"


def row_statements(rows: list[dict]) -> Iterator[tuple[str, str, str, str | None]]:
    """The rows as RDF statements (subject, predicate, object, the object's datatype IRI: '' for a
    plain string, None for an IRI): the first column is the subject, known columns become their
    properties."""
    for row in rows:
        items = list(row.items())
        if not items or not items[0][1]:
            continue
        subject = items[0][1]
        for column, value in items[1:]:
            if column == "date" and len(value) in DATES:
                yield subject, STATED_ON, value, DATES[len(value)]
            predicate = PREDICATES.get(column)
            if predicate is None or not value:
                continue
            parts = value.split(" | ") if column in ("roles", "aliases") else (
                value.split() if column == "topics" else [value])
            for part in parts:
                if column in IRI_COLUMNS:
                    yield subject, predicate, part, None
                elif column in INTEGERS:
                    yield subject, predicate, str(int(part)), INTEGER
                else:
                    yield subject, predicate, part, ""


def rows_graph(rows: list[dict]) -> Graph:
    """The rows as an rdflib graph (row_statements), for a view that adds to them."""
    g = Graph()
    for prefix, ns in queries.prefixes().items():
        g.bind(prefix, ns)
    for s, p, o, datatype in row_statements(rows):
        g.add((URIRef(s), URIRef(p),
               URIRef(o) if datatype is None else Literal(o, datatype=datatype) if datatype else Literal(o)))
    return g
