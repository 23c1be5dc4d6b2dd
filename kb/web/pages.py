"""The browsing pages: home (/), speakers (/speakers), and the plumbing every page shares.

Each view computes its data once — rows from a named query of queries/*.rq,
parameters bound as typed terms by kb.queries — and ``respond`` renders
them as HTML, or, by ``?format=json|csv|ttl``, as data.  The HTML shows
one page of rows (LIMIT/OFFSET in the SPARQL, from clamped integers); the
data formats give every row of the same filtered view.  Filters live in the
URL.

On the embedded store, when its side index (kb.fts) is complete, the pages
read lists, counts, orders and charts from the index — ordered indexes and
counts kept in step with the store document by document — and fetch from
the store only the details of the claims on the page, by one query with
their IRIs as a VALUES block (``select_listed``), so that a page does not
cost more as the store grows.  The data formats of a speaker's or a
topic's view make their rows from the index as well (kb.web.data).  Without
a complete index (a store written before it, an interrupted write, a store
on a SPARQL server) the same rows come from the named queries alone, byte
for byte.

The Turtle of a list carries its counts as kb:claimCount (a term of
ontology/kb.ttl: neither VoID nor schema.org counts a speaker's claims);
the home page's totals are a VoID description of the store.  The pages of
speakers, topics, claims and documents (the HTML of their Linked Data
IRIs) are in resource_pages.py.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field, replace
from typing import Callable
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, render_template, request
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, VOID

from .. import fts, queries
from ..errors import QueryError
from ..store import write_statements
from .data import (KB, SCHEMA, Table, canonical, json_text, row_statements, rows_graph, table_rows, view_rows,
                   visible_rows)
from .linked_data import base, get_store, local_url, store_version

bp = Blueprint("pages", __name__, template_folder="templates")

PAGE_SIZE = 25
MAX_PAGE = 10_000
DATA_FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8",
                "ttl": "text/turtle; charset=utf-8"}
PAGE_MARK = queries.PAGE_MARK  # where a query wants its LIMIT/OFFSET
# the empty VALUES block a query fills with a list of IRIs ('VALUES ?claim { }  # LIST')
LIST_MARK = re.compile(r"^[ \t]*VALUES \?(\w+) \{ \}[ \t]*# LIST[ \t]*$", re.MULTILINE)
# the columns of the named queries whose rows the pages make from the side index
LATEST_COLUMNS = ["claim", "date", "quote", "speaker", "speakerName", "kind", "document"]
SPEAKER_CLAIM_COLUMNS = ["claim", "date", "quote", "kind", "document", "start", "topics", "speaker"]
TOPIC_CLAIM_COLUMNS = ["claim", "date", "speaker", "speakerName", "quote", "kind", "document", "topic"]


class BadRequest(Exception):
    """A filter value the view cannot use: a 400 page, never a 500."""


# ---------------------------------------------------------------- data

def select(name: str, values: dict | None = None, limit: int | None = None,
           offset: int = 0) -> list[dict]:
    """Rows of queries/NAME.rq as {column: plain string}, hidden columns left out.

    ``limit``/``offset`` are clamped integers written as LIMIT/OFFSET in place of the
    query's "# PAGE" line (the sub-select that sorts the claims, so that only the
    page's claims are looked up further), else at the end.
    """
    query = queries.load_query(name)
    try:
        bindings, _ = queries.bind(query, {k: v for k, v in (values or {}).items() if v not in (None, "")})
    except QueryError as exc:
        raise BadRequest(str(exc)) from None
    if not bindings and limit is None:  # a question about the whole store: asked once per version of it
        return cached(name, lambda: _select(query, {}, None, 0))
    return _select(query, bindings, limit, offset)


def _select(query: queries.NamedQuery, bindings: dict, limit: int | None, offset: int) -> list[dict]:
    text = query.text
    if limit is not None:  # where the query says (its sub-select that sorts), else at the end
        page = queries.page_clause(limit, max(int(offset), 0))
        text, marked = PAGE_MARK.subn(page, text, count=1)
        if not marked:
            text += f"\n{page}"
    return visible_rows(query, get_store().query(text, bindings, strings=True))


def export_rows(name: str, values: dict) -> Table | list[dict]:
    """Every row of a view for its data formats, up to the server's cap on rows (MAX_ROWS): one
    row more is asked for, so that ``respond`` can tell the answer was cut and say so.  A row's
    topics are given in the order of their IRIs, and the rows of one claim in the order of their cells.

    A query that names a list of the side index ("#+ index: speaker-claims ?claim"), when the index
    is complete, gets its claims in order from there, and their rows made from the index too
    (``view_rows``); without the index, the rows are the query's (bench/RESULTS.md, "Whole-view
    exports from the side index")."""
    query, cap = queries.load_query(name), max_rows()
    index = browse_index() if query.index is not None and query.index[0].endswith("-claims") else None
    if index is None:
        return canonical(select(name, values, limit=cap + 1))
    try:
        bindings, _ = queries.bind(query, {k: v for k, v in values.items() if v not in (None, "")})
    except QueryError as exc:
        raise BadRequest(str(exc)) from None
    return view_rows(index, query, bindings, limit=cap + 1)


def max_rows() -> int:
    return int(current_app.config.get("MAX_ROWS", 10_000))


def cached(name: str, compute: Callable[[], list[dict]]) -> list[dict]:
    """The rows ``compute`` gives for the store as it is, computed once per version of the store
    (every time on a store on a SPARQL server, which has no version kb can see)."""
    version = store_version()
    if version is None:
        return compute()
    found = _whole_store().get(name)
    if found is None or found[0] != version:
        found = (version, [dict(row) for row in compute()])
        _whole_store()[name] = found
    return [dict(row) for row in found[1]]


def bound(name: str, values: dict) -> dict[str, str]:
    """The parameters of queries/NAME.rq as the typed terms it would be given, as strings:
    a key made an IRI, a date checked (a bad value is a BadRequest, as for the query)."""
    try:
        bindings, _ = queries.bind(queries.load_query(name), {k: v for k, v in values.items() if v not in (None, "")})
    except QueryError as exc:
        raise BadRequest(str(exc)) from None
    return {k: str(v) for k, v in bindings.items()}


def browse_index() -> fts.SearchIndex | None:
    """The store's side index when the pages may read lists, counts and orders from it: built from
    the whole store and with no write interrupted since (kb.queries.side_index); else None (the
    named queries answer).  Looked up once per request."""
    if "kb_browse" not in g:
        g.kb_browse = queries.side_index(get_store())
    return g.kb_browse


def select_listed(name: str, iris: list[str]) -> list[dict]:
    """Rows of queries/NAME.rq with the IRIs ``iris`` in the VALUES block of its '# LIST' line,
    bound as typed terms by the store (EmbeddedStore.query_listed)."""
    query = queries.load_query(name)
    found = LIST_MARK.search(query.text)
    if found is None:
        raise QueryError(f"query '{name}' has no 'VALUES ?x {{ }}  # LIST' line")
    return queries.as_dicts(get_store().query_listed(query.text, found.group(1), [URIRef(i) for i in iris],
                                                     strings=True))


def claim_rows(iris: list[str], columns: list[str], **fixed: str) -> list[dict]:
    """The details of the claims ``iris`` (queries/claim-details.rq) as rows of ``columns``, in the
    order of ``iris``; ``fixed`` gives columns that are the same in every row (a bound parameter)."""
    if not iris:
        return []
    found: dict[str, dict] = {}
    for row in select_listed("claim-details", iris):
        found.setdefault(row["claim"], row)
    # a claim written to the index but not yet seen by this read of the store is left out
    return [{c: fixed[c] if c in fixed else found[i].get(c, "") for c in columns} for i in iris if i in found]


def topic_list() -> list[dict]:
    """The rows of queries/topic-list.rq: every topic with its label, definition and claims."""
    index = browse_index()
    if index is None:
        return select("topic-list")
    counts = index.topic_counts()
    return [{**row, "claims": str(counts.get(row["topic"], 0))} for row in select("topic-definitions")]


def speaker_list() -> list[dict]:
    """The rows of queries/speaker-list.rq: every speaker with claims, and every speaker the store
    describes, with the number of their claims, names, roles, aliases, Wikidata link, by name."""
    index = browse_index()
    if index is None:
        return select("speaker-list")
    counts = index.speaker_counts()
    details = cached("speaker-details", lambda: select_listed("speaker-details", sorted(counts)))
    return [{"speaker": r["speaker"], "name": r["name"], "claims": str(counts.get(r["speaker"], 0)),
             "unlinked": r["unlinked"], "sameAs": r["sameAs"], "roles": r["roles"], "aliases": r["aliases"]}
            for r in details]


def _whole_store() -> dict[str, tuple]:
    """The app's answers to the parameterless queries (counts and lists over the whole store:
    home page, speakers, topics) by query name, each with the store version it was computed
    for; the store's files change with every write, so an answer is never older than the store."""
    return current_app.extensions.setdefault("kb_whole_store", {})


def clamp(raw: str | None, low: int, high: int, default: int) -> int:
    try:
        return min(max(int(raw), low), high)
    except (TypeError, ValueError):
        return default


def key_of(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1]


def url_with(**changes) -> str:
    """This page's URL with some parameters changed (None removes one)."""
    args = {k: v for k, v in request.args.items()}
    for k, v in changes.items():
        if v is None:
            args.pop(k, None)
        else:
            args[k] = v
    query = urlencode(args)
    return request.path + (f"?{query}" if query else "")


# ---------------------------------------------------------------- answers

@dataclass
class View:
    """What a page shows: an HTML template with its context, and the rows its data formats give."""

    template: str
    title: str
    context: dict = field(default_factory=dict)
    rows: Table | list[dict] | None = None  # every row of the view, for json/csv/ttl
    columns: list[str] | None = None
    graph: Graph | None = None  # the Turtle, when it is not made from the rows


def wanted_format() -> str | None:
    fmt = (request.args.get("format") or "").lower()
    return fmt if fmt in DATA_FORMATS else None


def respond(view: View, status: int = 200) -> Response:
    fmt = wanted_format()
    if fmt and view.rows is not None:
        cap, truncated = max_rows(), False
        if len(view.rows) > cap:  # never more than the endpoint would give; the header says it was cut
            view, truncated = replace(view, rows=view.rows[:cap]), True
        response = Response(render_data(view, fmt), status=status, content_type=DATA_FORMATS[fmt])
        if truncated:
            response.headers["KB-Results-Truncated"] = f"max-rows={cap}"
        return response
    formats = []
    if view.rows is not None:  # a page may send its Turtle elsewhere (the resource's own RDF, a full export)
        formats = [(f, view.context.get(f"{f}_url") or url_with(format=f, page=None, size=None)) for f in DATA_FORMATS]
    body = render_template(view.template, title=view.title, formats=formats, local=local_url,
                           key_of=key_of, url_with=url_with, **view.context)
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    if formats:
        response.headers["Link"] = ", ".join(
            f'<{url}>; rel="alternate"; type="{DATA_FORMATS[f].split(";")[0]}"' for f, url in formats)
    return response


def render_data(view: View, fmt: str) -> str | bytes:
    columns = view.columns or (list(view.rows[0]) if view.rows else [])
    if fmt == "json":  # not indented: json's C encoder (three times faster) does not indent
        return json_text(view.title, columns, view.rows)

    if fmt == "csv":
        return queries.csv_text(columns, table_rows(view.rows, columns))
    if view.graph is not None:
        return view.graph.serialize(format="turtle", encoding="utf-8")
    out = io.BytesIO()  # written by pyoxigraph, no rdflib term made: 4 s -> 0.3 s for 10,000 rows
    write_statements(row_statements(view.rows), out, "turtle", queries.prefixes())
    return out.getvalue()


def bad_request(message: str) -> Response:
    if wanted_format():
        return Response(f"Bad request: {message}\n", status=400, content_type="text/plain; charset=utf-8")
    body = render_template("pages/error.html", title="Bad request", message=message)
    return Response(body, status=400, content_type="text/html; charset=utf-8")


def not_found_page(what: str) -> Response:
    body = render_template("pages/error.html", title="Not found",
                           message=f"The knowledge base has nothing about {what}.", iri=what)
    return Response(body, status=404, content_type="text/html; charset=utf-8", headers={"Vary": "Accept"})


# ---------------------------------------------------------------- home and speakers

@bp.route("/")
def home():
    index = browse_index()
    if index is not None:
        totals = index.totals()
        latest = claim_rows(index.latest_claims(10), LATEST_COLUMNS)
    else:
        stats = select("stats")
        dates = select("date-range")
        latest = select("latest-claims")  # the ten latest: the query has its own LIMIT
        totals = {**(stats[0] if stats else {}), **(dates[0] if dates else {})}
    topics = topic_list()
    view = View("pages/home.html", "Home",
                {"totals": totals, "topics": topics, "latest": latest},
                rows=[{"what": k, "value": v} for k, v in totals.items()], columns=["what", "value"],
                graph=home_graph(totals, topics) if wanted_format() == "ttl" else None)  # made only if asked for
    return respond(view)


# the home page's totals in VoID: (class, column) counted as entities, (property, column) as distinct objects
CLASS_TOTALS = ((SCHEMA.Claim, "claims"), (KB.Document, "documents"), (KB.Post, "posts"))
PROPERTY_TOTALS = ((SCHEMA.author, "speakers"), (SCHEMA.about, "topics"))


def home_graph(totals: dict, topics: list[dict]) -> Graph:
    """The home page as RDF: the store as a void:Dataset (the base IRI, whose page this is) with its
    totals as class and property partitions and its dates as schema:temporalCoverage, and every
    topic with its kb:claimCount."""
    g = rows_graph(topics)
    g.bind("void", VOID)
    dataset = URIRef(base())
    g.add((dataset, RDF.type, VOID.Dataset))
    for cls, column in CLASS_TOTALS:
        part = BNode(f"class-{column}")
        g.add((dataset, VOID.classPartition, part))
        g.add((part, VOID["class"], cls))
        g.add((part, VOID.entities, Literal(int(totals.get(column) or 0))))
    for prop, column in PROPERTY_TOTALS:
        part = BNode(f"property-{column}")
        g.add((dataset, VOID.propertyPartition, part))
        g.add((part, VOID.property, prop))
        g.add((part, VOID.distinctObjects, Literal(int(totals.get(column) or 0))))
    if totals.get("first"):
        g.add((dataset, SCHEMA.temporalCoverage, Literal(f"{totals['first']}/{totals['last']}")))
    return g


SORTS = {"name": lambda r: ((r["name"] or r["speaker"]).lower(),),
         "count": lambda r: (-int(r["claims"] or 0), (r["name"] or r["speaker"]).lower())}


@bp.route("/speakers")
def speakers():
    sort = request.args.get("sort", "name")
    if sort not in SORTS:
        return bad_request(f"sort must be one of: {', '.join(SORTS)}")
    rows = sorted(speaker_list(), key=SORTS[sort])
    view = View("pages/speakers.html", "Speakers", {"speakers": rows, "sort": sort}, rows=rows)
    return respond(view)


def page_not_found(exc):
    """An unknown URL: the 404 page for a browser, the plain answer otherwise."""
    if request.accept_mimetypes.best_match(["text/plain", "text/html"]) == "text/html":
        return not_found_page(request.path)
    return exc


def init_app(app) -> None:
    """Register the pages on ``app``, and the 404 page for URLs no route knows."""
    app.register_blueprint(bp)
    app.register_error_handler(404, page_not_found)
