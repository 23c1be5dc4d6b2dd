"""A view's data: the rows of a speaker's or topic's view made from the side index, and every
view's rows written as JSON, CSV and Turtle (kb.web.pages answers with them).

The data formats of a speaker's or a topic's view (every claim, cut at the
server's MAX_ROWS) take the claims from the side index's list and make
their rows there too (``view_rows``): the index keeps what a row shows of
each claim (kb.fts.Row.plain), and the store is asked only for the names of
their kinds and speakers (``term_names``, once per version of the store);
the rows of a claim the index cannot make a row of (two texts, say) are the
view's own named query's on that claim (kb.queries.run_listed).  Every path
gives the rows in one order (``canonical``), so that a view's data are the
same bytes from the index as from the named queries alone.

The rows made from the index are a ``Table``: tuples under one list of
columns, no dict per row, which reads as the list of dicts it stands for.
Ten thousand rows are written in tens of milliseconds: JSON from a Table's
tuples through one template (``json_text``, the bytes json.dumps gives its
dicts), CSV by kb.queries.csv_text (the csv module was six times slower on Cyrillic
text), Turtle from the rows' statements (``row_statements``,
kb.store.write_statements, which writes them with kb.turtle), no term made
at all (bench/RESULTS.md, "Whole-view exports from the side index").
"""
from __future__ import annotations

import itertools
import json
from json.encoder import encode_basestring  # json.dumps's own, C
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


class Table:
    """Rows as tuples of strings under one list of columns: a view's data made from the side index
    (``view_rows``) without a dict per row.  It reads as a list of {column: value} dicts (len,
    indexing, slicing, iterating), and ``json_text`` and ``table_rows`` write it straight from
    its tuples: the same bytes as its dicts would give."""

    __slots__ = ("columns", "tuples")

    def __init__(self, columns: list[str], tuples: list[tuple]):
        self.columns, self.tuples = list(columns), tuples

    def __len__(self) -> int:
        return len(self.tuples)

    def __getitem__(self, at):
        if isinstance(at, slice):
            return Table(self.columns, self.tuples[at])
        return dict(zip(self.columns, self.tuples[at]))

    def __iter__(self) -> Iterator[dict]:
        return (dict(zip(self.columns, row)) for row in self.tuples)


def view_rows(index: fts.SearchIndex, query: queries.NamedQuery, bindings: dict, limit: int) -> Table | list[dict]:
    """The rows the view's query gives for the first ``limit`` claims the side index lists for it,
    in that order — made from the index (a Table), and the names of their kinds and speakers
    asked of the store in one query (queries/term-names.rq), rather than looked up claim by claim.

    The index has a claim's row when the claim is plain (kb.fts.Row.plain: one text, one
    document, at most one speaker, date, offset and kind) and its kind and speaker have at
    most one name each; the rows of any other claim, and every row of a query with a column
    the index does not keep, are the query's own on those claims (kb.queries.run_listed), in
    ``canonical`` order."""
    columns = queries.visible_columns(query)
    listing = queries.index_claims(index, query, bindings, limit=limit, details=True, topics="topics" in columns)
    fixed = {k: str(v) for k, v in bindings.items() if k in columns}  # a parameter's column
    if not set(columns) <= {*CLAIM_CELLS, *fixed}:
        return canonical(visible_rows(query, queries.run_listed(get_store(), query, bindings,
                                                                 [row[0] for row in listing.rows], strings=True)))
    named = "speakerName" in columns  # else a speaker's names do not matter
    terms = {(kind, KIND_NAME) for kind in {row[5] for row in listing.rows} if kind}
    if named:
        terms |= {(iri, SPEAKER_NAME) for iri in listing.speakers.values()}
    names = term_names(terms)
    # a term's one name, '' for none; a term with several is left out (the query's rows give it)
    kinds = {t: (n[0] if n else "") for (t, p), n in names.items() if p == KIND_NAME and len(n) <= 1}
    kinds[None] = ""
    iris = {**listing.speakers, None: ""}
    if named:  # a speaker's one name; one with several is left out, as a kind
        speakers = {number: (names[(iri, SPEAKER_NAME)] or [""])[0] for number, iri in listing.speakers.items()
                    if len(names[(iri, SPEAKER_NAME)]) <= 1}
    else:
        speakers = dict.fromkeys(listing.speakers, "")
    speakers[None] = ""
    topics = listing.topics
    # a claim's cells in the order of CLAIM_CELLS, the parameters' after them; a row picks its
    # columns from there (itemgetter: no Python call per cell)
    where = {c: i for i, c in enumerate([*CLAIM_CELLS, *fixed])}
    pick = tuple_getter([where[c] for c in columns])
    constant = tuple(fixed.values())
    rows: list[tuple | None] = [
        pick((claim, date, words, kinds[kind], document, start, topics[cell], iris[speaker],
              speakers[speaker], *constant))
        if plain and kind in kinds and speaker in speakers else None
        for claim, date, words, start, document, kind, speaker, plain, cell in listing.rows]
    rest = [row[0] for row, made in zip(listing.rows, rows) if made is None]
    if not rest:
        return Table(columns, rows)
    others: dict[str, list[tuple]] = {}
    for row in canonical(visible_rows(query, queries.run_listed(get_store(), query, bindings, rest, strings=True))):
        others.setdefault(row["claim"], []).append(tuple(row.get(c, "") for c in columns))
    return Table(columns, [row for listed, made in zip(listing.rows, rows)
                           for row in ([made] if made is not None else others.get(listed[0], []))])


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
                                         [(URIRef(t), URIRef(p)) for t, p in wanted], strings=True)
        fresh: dict[tuple[str, str], list[str]] = {key: [] for key in wanted}  # a term without a name too
        for term, prop, name in found.rows:  # strings, as asked
            fresh[(term, prop)].append(name)
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


def tuple_getter(at: list[int]):
    """itemgetter of the positions ``at`` (at least one) that gives a tuple for one position too."""
    if len(at) > 1:
        return itemgetter(*at)
    return lambda cells: (cells[at[0]],)


def table_rows(rows: Table | list[dict], columns: list[str]) -> Iterable[tuple | list]:
    """The rows' cells in ``columns`` ('' for a column a row lacks): a Table's picked from its tuples."""
    if isinstance(rows, Table) and set(columns) <= set(rows.columns):
        if not columns:
            return [() for _ in rows.tuples]
        return map(tuple_getter([rows.columns.index(c) for c in columns]), rows.tuples)
    return ([row.get(c, "") for c in columns] for row in rows)


def json_text(title: str, columns: list[str], rows: Table | list[dict]) -> str:
    """{"title", "columns", "rows"} as json.dumps writes it (not indented, non-ASCII as it is); a
    Table's rows written from their tuples through one template: the bytes its dicts would give,
    without making them (ten thousand rows: 22 ms, json.dumps of the dicts 29 ms)."""
    if not isinstance(rows, Table) or not rows.tuples or not rows.columns:
        return json.dumps({"title": title, "columns": columns, "rows": list(rows)}, ensure_ascii=False) + "\n"
    template = "{" + ", ".join(json.dumps(c, ensure_ascii=False).replace("%", "%%") + ": %s"
                               for c in rows.columns) + "}"
    quote = encode_basestring
    body = ", ".join([template % tuple(map(quote, row)) for row in rows.tuples])
    head = json.dumps({"title": title, "columns": columns, "rows": []}, ensure_ascii=False)
    return head[:-2] + body + "]}\n"  # its '"rows": []}' opened again


def row_statements(rows: Table | list[dict]) -> Iterator[tuple[str, str, str, str | None]]:
    """The rows as RDF statements (subject, predicate, object, the object's datatype IRI: '' for a
    plain string, None for an IRI): the first column is the subject, known columns become their
    properties.  A Table's are read from its tuples, each column's way of writing found once."""
    if isinstance(rows, Table):
        return _statements(rows.columns, rows.tuples)
    return itertools.chain.from_iterable(  # rows of one query have the same columns: one plan for them
        _statements(columns, [tuple(row.values()) for row in same])
        for columns, same in itertools.groupby(rows, key=lambda row: tuple(row)))


_DATE, _ONE, _BARS, _SPACES = "date", "one", "bars", "spaces"  # how a column's cell is written


def _statements(columns, tuples: list[tuple]) -> Iterator[tuple[str, str, str, str | None]]:
    plan = []  # (position, predicate, how, datatype) of each column written, in the columns' order
    for at, column in enumerate(columns[1:], 1):
        if column == "date":
            plan.append((at, STATED_ON, _DATE, None))
        predicate = PREDICATES.get(column)
        if predicate is not None:
            how = _BARS if column in ("roles", "aliases") else _SPACES if column == "topics" else _ONE
            datatype = None if column in IRI_COLUMNS else INTEGER if column in INTEGERS else ""
            plan.append((at, str(predicate), how, datatype))
    for row in tuples:
        subject = row[0] if row else None
        if not subject:
            continue
        for at, predicate, how, datatype in plan:
            value = row[at]
            if not value:
                continue
            if how is _DATE:
                if len(value) in DATES:
                    yield subject, predicate, value, DATES[len(value)]
            elif how is _ONE:
                yield subject, predicate, str(int(value)) if datatype is INTEGER else value, datatype
            else:
                for part in value.split(" | ") if how is _BARS else value.split():
                    yield subject, predicate, str(int(part)) if datatype is INTEGER else part, datatype


def rows_graph(rows: list[dict]) -> Graph:
    """The rows as an rdflib graph (row_statements), for a view that adds to them."""
    g = Graph()
    for prefix, ns in queries.prefixes().items():
        g.bind(prefix, ns)
    for s, p, o, datatype in row_statements(rows):
        g.add((URIRef(s), URIRef(p),
               URIRef(o) if datatype is None else Literal(o, datatype=datatype) if datatype else Literal(o)))
    return g
