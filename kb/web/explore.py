"""Exploring the store by hand: the SPARQL page (/sparql/ui) and the search page (/search).

``/sparql/ui?query=…`` runs a query through the same machinery as the
endpoint (kb.store.check_query refuses SERVICE, a worker of kb.querypool
runs it with the configured time-out and cap on rows) and shows the answer
as an HTML table, with links to the same query at /sparql in every format
the endpoint writes for that form of answer.  Errors are a message on the
page (with the endpoint's status), never a 500.  The examples are the named
queries of queries/*.rq, labelled by their ``#+ summary``.

``/search?q=…`` finds the claims whose words match ``q`` in the full-text
index kept with the store (kb.fts: every word of ``q``, each as a prefix;
nothing ``q`` holds is query syntax), counts them per speaker, topic, year
and kind (facets, as links that add a filter), filters by
``speaker``/``topic``/``year``/``kind`` and pages them (``page``, clamped).
``?format=json|csv|ttl`` gives the same view as data (every page of it, up
to the endpoint's cap on rows, unless a page is asked for); Turtle is the
claims' own RDF, from the store by queries/claim-export.rq.  A store without
an index (written before there was one) gets a page saying to run ``kb
reindex``, never an error.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, render_template, request, url_for

from rdflib import Graph

from .. import fts, queries
from ..errors import QueryError
from ..querypool import QueryTimeout
from ..store import check_query, write_graph
from . import linked_data, sparql
from .pages import max_rows

bp = Blueprint("explore", __name__, template_folder="templates")

HTML_ROWS = 1000  # rows at most in the page's table (the downloads have the endpoint's cap)
PAGE_SIZE = 20  # search results per page
MAX_PAGE = 10_000
MAX_SEARCH = 200  # characters of a search text at most
FACETS = fts.FACETS
SEARCH_FORMATS = ("html", "json", "csv", "ttl")
# the endpoint's `format=` names (kb.querypool's formats), per form of answer
DOWNLOADS = {
    "select": ("json", "xml", "csv", "tsv"),
    "ask": ("json", "xml"),
    "graph": ("turtle", "nt", "jsonld", "rdfxml"),
}


# ---------------------------------------------------------------- the SPARQL page

@dataclass
class Outcome:
    """What a query gave, for the page: a table, a boolean, or an error message."""

    form: str | None = None  # 'select', 'ask' or 'graph'
    columns: list[str] = field(default_factory=list)
    rows: list[list[dict]] = field(default_factory=list)  # cells: {'text', 'href'}
    boolean: bool | None = None
    truncated: bool = False
    error: str | None = None
    status: int = 200


def examples() -> list[queries.NamedQuery]:
    out = []
    for name in queries.query_names():
        try:
            out.append(queries.load_query(name))
        except QueryError:
            continue  # an unreadable file is reported by `kb queries`, not here
    return out


def _cell(term) -> dict:
    if term is None:
        return {"text": "", "href": None}
    if isinstance(term, ox.NamedNode):
        return {"text": term.value, "href": linked_data.local_url(term.value)}
    if isinstance(term, ox.BlankNode):
        return {"text": f"_:{term.value}", "href": None}
    if isinstance(term, ox.Triple):
        return {"text": str(term), "href": None}
    return {"text": term.value, "href": None}


def run_for_page(text: str) -> Outcome:
    """Run ``text`` as the endpoint would and read its answer into an Outcome."""
    settings = current_app.config
    if len(text) > settings["MAX_QUERY_LENGTH"]:
        return Outcome(error=f"the query is longer than {settings['MAX_QUERY_LENGTH']} characters",
                       status=413)
    try:
        check_query(text)
    except QueryError as exc:
        return Outcome(error=str(exc), status=400)
    max_rows = min(settings["MAX_ROWS"], HTML_ROWS)
    job = {
        "query": text,
        "base_iri": url_for("sparql.sparql", _external=True),
        "default_graph": None,
        "named_graphs": None,
        "result_format": "json",
        "boolean_format": "json",
        "graph_format": "nt",
        "max_rows": max_rows,
        "not_acceptable": "no format for this answer",
    }
    timeout = settings["QUERY_TIMEOUT"]
    try:
        answer = sparql.pool().run(job, timeout)
    except QueryTimeout:
        return Outcome(error=f"the query ran longer than {timeout:g} s and was stopped", status=503)
    if answer.status != 200:
        return Outcome(error=answer.body.decode("utf-8", errors="replace").strip(), status=answer.status)
    try:
        if answer.media_type.startswith("application/n-triples"):
            triples = ox.parse(answer.body, format=ox.RdfFormat.N_TRIPLES)
            rows = [[_cell(t.subject), _cell(t.predicate), _cell(t.object)] for t in triples]
            return Outcome("graph", ["subject", "predicate", "object"], rows, truncated=answer.truncated)
        doc = json.loads(answer.body)
    except (SyntaxError, ValueError) as exc:
        return Outcome(error=f"cannot read the answer: {exc}", status=500)
    if "boolean" in doc:
        return Outcome("ask", boolean=bool(doc["boolean"]))
    results = ox.parse_query_results(answer.body, ox.QueryResultsFormat.JSON)
    columns = [v.value for v in results.variables]
    rows = [[_cell(solution[v]) for v in columns] for solution in results]
    return Outcome("select", columns, rows, truncated=answer.truncated)


def downloads(text: str, form: str | None) -> list[tuple[str, str]]:
    """(format, URL at /sparql) for each format the endpoint writes for this form of answer."""
    return [(fmt, url_for("sparql.sparql", query=text, format=fmt)) for fmt in DOWNLOADS.get(form, ())]


@bp.route("/sparql/ui")
def sparql_page():
    known = examples()
    chosen = request.args.get("example", "")
    text = request.args.get("query")
    example = next((q for q in known if q.name == chosen), None)
    if example is not None and (text is None or request.args.get("load")):  # the Load button, without JS
        text = example.text
    outcome = run_for_page(text) if text and text.strip() else None
    status = 200
    if outcome is not None and outcome.error:
        status = outcome.status if 400 <= outcome.status < 500 else 200
    html = render_template("sparql.html", examples=known, chosen=chosen, text=text or "",
                           outcome=outcome, downloads=downloads(text or "", outcome and outcome.form),
                           max_rows=min(current_app.config["MAX_ROWS"], HTML_ROWS))
    return html, status


# ---------------------------------------------------------------- the search page

def _clamp(raw: str | None, low: int, high: int, default: int) -> int:
    try:
        return min(max(int(raw or default), low), high)
    except ValueError:
        return default


def marked(quote: str, text: str) -> list[tuple[str, bool]]:
    """The quote in pieces, (piece, is a match): the words that start with a word of ``text``
    (the index matches each word of the text as a prefix), case-insensitively."""
    prefixes = sorted({t.casefold() for chunk in fts.query_tokens(text) for t in chunk}, key=len, reverse=True)
    if not prefixes:
        return [(quote, False)]
    out, pos = [], 0
    for word in re.finditer(r"[^\W_]+", quote):
        folded = word.group(0).casefold()
        prefix = next((p for p in prefixes if folded.startswith(p)), None)
        if prefix is None or len(folded) != len(word.group(0)):
            continue
        end = word.start() + len(prefix)
        out += [(quote[pos:word.start()], False), (quote[word.start():end], True)]
        pos = end
    out.append((quote[pos:], False))
    return [piece for piece in out if piece[0]]


def _url(**changes) -> str:
    """The search URL with ``changes`` to its parameters (None removes one); back to page 1."""
    params = {k: v for k, v in request.args.items() if k in ("q", *FACETS) and v}
    params.update(changes)
    return url_for("explore.search") + "?" + urlencode({k: v for k, v in params.items() if v})


def _hit_dict(hit: fts.Hit) -> dict:
    return {"claim": hit.claim, "speaker": hit.speaker, "speakerName": hit.speaker_label,
            "date": hit.date, "kind": hit.kind, "quote": hit.words, "document": hit.graph,
            "topics": [iri for iri, _ in hit.topics]}


def _text_response(message: str, status: int) -> Response:
    return Response(message.rstrip("\n") + "\n", status=status, content_type="text/plain; charset=utf-8")


def _turtle(hits: list[fts.Hit]) -> Response:
    """The claims of the view as Turtle: queries/claim-export.rq for each, the claim bound as an IRI."""
    store = linked_data.get_store()
    named = queries.load_query("claim-export")
    graph = Graph()
    for hit in hits:
        graph += queries.run(store, named, {"claim": hit.claim})
    out = io.BytesIO()
    write_graph(sorted(graph), out, "turtle", queries.prefixes())
    return Response(out.getvalue(), content_type="text/turtle; charset=utf-8")


@bp.route("/search")
def search():
    text = request.args.get("q", "")[:MAX_SEARCH]
    filters = {name: request.args.get(name, "").strip()[:MAX_SEARCH] for name in FACETS}
    filters = {name: value for name, value in filters.items() if value}
    fmt = request.args.get("format", "html").lower()
    if fmt not in SEARCH_FORMATS:
        return _text_response(f"unknown format {fmt!r} ({', '.join(SEARCH_FORMATS[:-1])} or {SEARCH_FORMATS[-1]})", 400)
    searching = bool(text.strip() or filters)
    try:
        store = linked_data.get_store()
        if not hasattr(store, "search_index"):  # a backend without one (a remote SPARQL server)
            raise fts.IndexMissing("store", "this store keeps no search index")
        index = store.search_index()
        problem = index.problem()
    except fts.IndexMissing as exc:
        index, problem = None, exc.reason  # never the store's path: this page goes to the network
    page_asked = "page" in request.args
    page = _clamp(request.args.get("page"), 1, MAX_PAGE, 1)
    size = PAGE_SIZE
    # 'export this view': the data formats give every result (up to the endpoint's cap on rows),
    # unless a page is asked for
    whole = fmt != "html" and not page_asked
    cap = max_rows()
    if index is None or not searching:
        result = fts.Results(0, [], {name: [] for name in FACETS}, 0)
    else:
        result = index.search(text, filters, limit=cap if whole else size, offset=0 if whole else (page - 1) * size)
        pages = max(1, -(-result.total // size))
        if page > pages and not whole:  # a page past the end: the last one
            page = pages
            result = index.search(text, filters, limit=size, offset=(page - 1) * size)
        problem = getattr(result, "warning", None) or problem  # a partial answer (kb.remote_search) says so
    pages = max(1, -(-result.total // size))
    truncated = whole and result.total > len(result.hits)
    if fmt in ("json", "csv", "ttl") and index is None and searching:
        return _text_response(problem, 503)
    if fmt == "ttl":
        response = _turtle(result.hits)
    elif fmt == "json":
        doc = {"q": text, "filters": filters, "total": result.total, "page": page, "pages": pages,
               "pageSize": size, "results": [_hit_dict(h) for h in result.hits],
               "facets": {name: [{"key": v.key, "label": v.label, "count": v.count} for v in values]
                          for name, values in result.facets.items()},
               "facetsCounted": result.facets_over}
        if problem:
            doc["warning"] = problem
        response = Response(json.dumps(doc, ensure_ascii=False, indent=1) + "\n",
                            content_type="application/json; charset=utf-8")
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["claim", "speaker", "speakerName", "date", "kind", "topics", "quote", "document"])
        for h in result.hits:
            writer.writerow([h.claim, h.speaker, h.speaker_label, h.date, h.kind,
                             " ".join(iri for iri, _ in h.topics), h.words, h.graph])
        response = Response(out.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        html = render_template(
            "search.html", text=text, filters=filters, hits=result.hits, total=result.total, page=page,
            first=(page - 1) * size + 1, pages=pages, facets=result.facets, facets_over=result.facets_over,
            problem=problem, index_missing=index is None, marked=marked, local_url=linked_data.local_url,
            url=_url, formats={f: _url(format=f) for f in ("json", "csv", "ttl")})
        response = Response(html, content_type="text/html; charset=utf-8")
        response.headers["Link"] = f'<{_url(format="json")}>; rel="alternate"; type="application/json"'
    if truncated:
        response.headers["KB-Results-Truncated"] = f"max-rows={cap}"
    return response


def init_app(app) -> None:
    """Register the SPARQL page and the search page on ``app``."""
    app.register_blueprint(bp)
