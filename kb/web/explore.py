"""Exploring the store by hand: the SPARQL page (/sparql/ui) and the search page (/search).

``/sparql/ui?query=…`` runs a query through the same machinery as the
endpoint (kb.store.check_query refuses SERVICE, a worker of kb.querypool
runs it with the configured time-out and cap on rows) and shows the answer
as an HTML table, with links to the same query at /sparql in every format
the endpoint writes for that form of answer.  Errors are a message on the
page (with the endpoint's status), never a 500.  The examples are the named
queries of queries/*.rq, labelled by their ``#+ summary``.

``/search?q=…`` finds the claims whose words contain ``q`` (queries/search-claims.rq,
``q`` bound as an xsd:string literal), counts them per speaker, topic, year
and kind (facets, as links that add a filter), filters by
``speaker``/``topic``/``year``/``kind`` and pages them (``page``, clamped).
``?format=json|csv`` gives the same results as data.
"""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, render_template, request, url_for

from .. import queries
from ..errors import QueryError
from ..querypool import QueryTimeout
from ..store import check_query
from . import linked_data, sparql

bp = Blueprint("explore", __name__, template_folder="templates")

HTML_ROWS = 1000  # rows at most in the page's table (the downloads have the endpoint's cap)
PAGE_SIZE = 20  # search results per page
MAX_PAGE = 10_000
MAX_SEARCH = 200  # characters of a search text at most
FACETS = ("speaker", "topic", "year", "kind")
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

@dataclass
class Hit:
    claim: str
    speaker: str
    speaker_name: str
    date: str
    kind: str
    quote: str
    document: str
    topics: list[tuple[str, str]] = field(default_factory=list)  # (IRI, label)

    def keys(self) -> dict[str, set[str]]:
        """The facet values of this claim."""
        return {"speaker": {_key(self.speaker)}, "topic": {_key(t) for t, _ in self.topics},
                "year": {self.date[:4]} if self.date else set(), "kind": {self.kind} if self.kind else set()}


def _key(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1]


def _clamp(raw: str | None, low: int, high: int, default: int) -> int:
    try:
        return min(max(int(raw or default), low), high)
    except ValueError:
        return default


def find(text: str) -> list[Hit]:
    """The claims whose words contain ``text``, one Hit per claim, in document order."""
    result = queries.run(linked_data.get_store(), queries.load_query("search-claims"), {"text": text})
    hits: dict[str, Hit] = {}
    for row in queries.as_dicts(result):
        hit = hits.get(row["claim"])
        if hit is None:
            hit = hits[row["claim"]] = Hit(row["claim"], row["speaker"], row["speakerName"] or _key(row["speaker"]),
                                           row["date"], row["kind"], row["quote"], row["document"])
        if row["topic"] and row["topic"] not in (t for t, _ in hit.topics):
            hit.topics.append((row["topic"], row["topicLabel"] or _key(row["topic"])))
    return list(hits.values())


def facet_counts(hits: list[Hit]) -> dict[str, list[tuple[str, str, int]]]:
    """Per facet, (key, label, claims) most claims first."""
    labels: dict[tuple[str, str], str] = {}
    counts = {name: Counter() for name in FACETS}
    for hit in hits:
        labels[("speaker", _key(hit.speaker))] = hit.speaker_name
        for iri, label in hit.topics:
            labels[("topic", _key(iri))] = label
        for name, values in hit.keys().items():
            counts[name].update(values)
    return {name: sorted(((k, labels.get((name, k), k), n) for k, n in counts[name].items()),
                         key=lambda item: (-item[2], item[1]))
            for name in FACETS}


def marked(quote: str, text: str) -> list[tuple[str, bool]]:
    """The quote in pieces, (piece, is a match), matching ``text`` case-insensitively."""
    if not text:
        return [(quote, False)]
    lower, needle, out, pos = quote.lower(), text.lower(), [], 0
    while (found := lower.find(needle, pos)) >= 0 and len(lower) == len(quote):
        out += [(quote[pos:found], False), (quote[found:found + len(needle)], True)]
        pos = found + len(needle)
    out.append((quote[pos:], False))
    return [piece for piece in out if piece[0]]


def _url(**changes) -> str:
    """The search URL with ``changes`` to its parameters (None removes one); back to page 1."""
    params = {k: v for k, v in request.args.items() if k in ("q", *FACETS) and v}
    params.update(changes)
    return url_for("explore.search") + "?" + urlencode({k: v for k, v in params.items() if v})


def _hit_dict(hit: Hit) -> dict:
    return {"claim": hit.claim, "speaker": hit.speaker, "speakerName": hit.speaker_name,
            "date": hit.date, "kind": hit.kind, "quote": hit.quote, "document": hit.document,
            "topics": [iri for iri, _ in hit.topics]}


@bp.route("/search")
def search():
    text = request.args.get("q", "")[:MAX_SEARCH]
    filters = {name: request.args.get(name, "").strip() for name in FACETS}
    filters = {name: value for name, value in filters.items() if value}
    fmt = request.args.get("format", "html").lower()
    if fmt not in ("html", "json", "csv"):
        return Response(f"unknown format {fmt!r} (html, json or csv)\n", status=400,
                        content_type="text/plain; charset=utf-8")
    hits = [h for h in find(text) if all(v in h.keys()[name] for name, v in filters.items())] \
        if text.strip() or filters else []
    pages = max(1, -(-len(hits) // PAGE_SIZE))
    page = _clamp(request.args.get("page"), 1, min(pages, MAX_PAGE), 1)
    offset = (page - 1) * PAGE_SIZE
    shown = hits[offset:offset + PAGE_SIZE]
    facets = facet_counts(hits)
    # 'export this view': the data formats give every result, unless a page is asked for
    exported = shown if "page" in request.args else hits
    if fmt == "json":
        doc = {"q": text, "filters": filters, "total": len(hits), "page": page, "pages": pages,
               "pageSize": PAGE_SIZE, "results": [_hit_dict(h) for h in exported],
               "facets": {name: [{"key": k, "label": label, "count": n} for k, label, n in values]
                          for name, values in facets.items()}}
        return Response(json.dumps(doc, ensure_ascii=False, indent=1) + "\n",
                        content_type="application/json; charset=utf-8")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["claim", "speaker", "speakerName", "date", "kind", "topics", "quote", "document"])
        for h in exported:
            writer.writerow([h.claim, h.speaker, h.speaker_name, h.date, h.kind,
                             " ".join(iri for iri, _ in h.topics), h.quote, h.document])
        return Response(out.getvalue(), content_type="text/csv; charset=utf-8")
    html = render_template(
        "search.html", text=text, filters=filters, hits=shown, total=len(hits), page=page, first=offset + 1,
        pages=pages, facets=facets, marked=marked, local_url=linked_data.local_url, url=_url,
        formats={f: _url(format=f) for f in ("json", "csv")})
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Link"] = f'<{_url(format="json")}>; rel="alternate"; type="application/json"'
    return response


def init_app(app) -> None:
    """Register the SPARQL page and the search page on ``app``."""
    app.register_blueprint(bp)
