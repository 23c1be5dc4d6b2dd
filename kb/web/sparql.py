"""The SPARQL 1.1 Protocol endpoint, /sparql: read-only, with limits.

Each query is checked here first (SERVICE is refused, kb.store.check_query,
so nothing leaves the server; a text without the word 'service' and without
deep nesting skips that parse, kb.store.needs_check), then runs in a worker process of
kb.querypool with the configured time-out and cap on rows.  Without
``default-graph-uri`` / ``named-graph-uri`` the default graph is the union of
the store's graphs, as for ``kb query``.  Updates are refused with 403,
unless the app allows them (ALLOW_UPDATE) and the request carries the token
(``Authorization: Bearer UPDATE_TOKEN``); then kb.updates validates their
effect with SHACL before anything is written.  A request with no operation gets the Service Description
(ontology/service.ttl).  GET and POST answers carry
``Access-Control-Allow-Origin: *``; OPTIONS answers the CORS preflight.
Every error here is one line of text/plain (kb/web/__init__.py answers the
HTTP errors no view handles, a 405 for PUT or DELETE among them, the same way).
"""
from __future__ import annotations

import hmac
import threading

from flask import Blueprint, Response, current_app, request
from rdflib import Graph

from .. import config, updates
from ..errors import QueryError
from ..querypool import GRAPH_FORMATS, QueryPool, QueryTimeout
from ..remote import Forwarder, is_remote
from ..store import check_query, needs_check
from . import protocol

bp = Blueprint("sparql", __name__)
_POOL_LOCK = threading.Lock()
_UPDATE_LOCK = threading.Lock()
_TEXT = "text/plain; charset=utf-8"
# rdflib's names for the formats a Service Description can be written in
_SD_FORMATS = {"turtle": "turtle", "nt": "nt", "jsonld": "json-ld", "rdfxml": "xml",
               "trig": "trig", "nq": "nquads"}


def _error(status: int, message: str) -> Response:
    """An error answer: one line of text/plain (a parser's message may span several)."""
    return Response(" ".join(message.split()) + "\n", status=status, mimetype=None, content_type=_TEXT)


def pool() -> QueryPool | Forwarder:
    """The app's worker pool, started on first use (for a store on a SPARQL server, what forwards to it)."""
    extensions = current_app.extensions
    with _POOL_LOCK:
        if "kb_query_pool" not in extensions and is_remote(current_app.config["KB_STORE"]):
            extensions["kb_query_pool"] = Forwarder(current_app.config["KB_STORE"])
        if "kb_query_pool" not in extensions:
            extensions["kb_query_pool"] = QueryPool(current_app.config["KB_STORE"],
                                                    current_app.config["QUERY_WORKERS"],
                                                    current_app.config.get("QUERY_MEMORY"))
        return extensions["kb_query_pool"]


@bp.after_request
def cors(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept")
    return response


@bp.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def sparql():
    if request.method == "OPTIONS":
        return Response(status=204, headers={
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Accept, Content-Type",
            "Access-Control-Max-Age": "86400",
            "Allow": "GET, POST, OPTIONS"})
    try:
        op = protocol.operation(request)
    except protocol.ProtocolError as exc:
        return _error(exc.status, exc.message)
    if op.kind == "update":
        return run_update(op)
    if op.kind == "none":
        return service_description()
    return run_query(op)


def run_query(op: protocol.Operation) -> Response:
    settings = current_app.config
    if len(op.text) > settings["MAX_QUERY_LENGTH"]:
        return _error(413, f"the query is longer than {settings['MAX_QUERY_LENGTH']} characters")
    try:
        if needs_check(op.text):  # else it cannot hold SERVICE, nor nest deep: the store's parser reads it alone
            check_query(op.text)
    except QueryError as exc:
        return _error(400, str(exc))
    formats = protocol.negotiate(request, op.params)
    job = {
        "query": op.text,
        "base_iri": request.base_url,
        "default_graph": op.default_graph,
        "named_graphs": op.named_graphs,
        "result_format": formats.result,
        "boolean_format": formats.boolean,
        "graph_format": formats.graph,
        "max_rows": settings["MAX_ROWS"],
        "not_acceptable": f"no acceptable format for this answer ({formats.asked}); "
                          "see the endpoint's service description for the formats it writes",
    }
    timeout = settings["QUERY_TIMEOUT"]
    try:
        answer = pool().run(job, timeout)
    except QueryTimeout:
        return _error(503, f"the query ran longer than {timeout:g} s and was stopped "
                           "(the time-out is set by `kb serve --query-timeout`)")
    if answer.status == 400:  # malformed: the message of check_query's parser when it says so too, as always
        try:
            check_query(op.text)
        except QueryError as exc:
            return _error(400, str(exc))
    if answer.status >= 400:  # an error of the worker: one line, as every error here
        return _error(answer.status, answer.body.decode("utf-8", errors="replace"))
    response = Response(answer.body, status=answer.status, content_type=answer.media_type)
    if answer.truncated:
        response.headers["KB-Results-Truncated"] = f"max-rows={settings['MAX_ROWS']}"
    return response


def run_update(op: protocol.Operation) -> Response:
    """An update, when the server allows them and the request carries the token."""
    settings = current_app.config
    token = settings.get("UPDATE_TOKEN")
    if not settings.get("ALLOW_UPDATE") or not token:
        return _error(403, "this endpoint is read-only: SPARQL Update is not accepted "
                           "(the store is written by `kb ingest` and `kb load`)")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return _error(403, "an update needs the update token (Authorization: Bearer TOKEN)")
    if is_remote(settings["KB_STORE"]):
        return _error(403, "the store is a SPARQL server: send updates to it directly, "
                           "then run `kb validate`")
    if len(op.text) > settings["MAX_QUERY_LENGTH"]:
        return _error(413, f"the update is longer than {settings['MAX_QUERY_LENGTH']} characters")
    try:
        text = updates.with_dataset(op.text, op.params.getlist("using-graph-uri"),
                                    op.params.getlist("using-named-graph-uri"))
    except QueryError as exc:
        return _error(400, str(exc))
    with _UPDATE_LOCK:  # one update at a time: each opens the store for writing
        result = updates.run_update(settings["KB_STORE"], text, request.base_url,
                                    settings["UPDATE_TIMEOUT"])
    # the outcome, or each SHACL violation on a line of its own
    return Response(result.message.rstrip() + "\n", status=result.status, content_type=_TEXT)


def service_description() -> Response:
    """The SPARQL 1.1 Service Description, in Turtle or what Accept asks."""
    fmt = protocol.negotiate(request, request.args).graph
    if fmt not in _SD_FORMATS:
        return _error(406, f"the service description is written as RDF; not as {request.headers.get('Accept')}")
    graph = Graph()
    graph.parse(config.ontology_dir() / "service.ttl", format="turtle", publicID=request.base_url)
    body = graph.serialize(format=_SD_FORMATS[fmt], encoding="utf-8")
    return Response(body, content_type=GRAPH_FORMATS[fmt][1])


@bp.errorhandler(413)
def too_large(exc) -> Response:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return _error(413, f"the request body is larger than {limit} bytes")


def init_app(app) -> None:
    """Register the endpoint on ``app`` (its worker pool starts with the first query)."""
    app.register_blueprint(bp)
