"""The SPARQL 1.1 Protocol's side of a request: which operation, on which dataset, in which format.

``operation(request)`` reads a query or an update from the three ways the
protocol allows (GET ``query=``, POST form-urlencoded, POST
``application/sparql-query`` / ``application/sparql-update``) and the dataset
(``default-graph-uri``, ``named-graph-uri``); a request the protocol does not
allow raises ``ProtocolError`` with its HTTP status.  ``negotiate`` picks the
format of the answer for each query form from the ``format`` parameter or
the Accept header; the media types are listed here and nowhere else.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from werkzeug.datastructures import MIMEAccept

FORM = "application/x-www-form-urlencoded"
QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*")

# media type -> format key, in order of preference (the first is the default)
RESULT_TYPES = {
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
BOOLEAN_TYPES = {k: v for k, v in RESULT_TYPES.items() if v in ("json", "xml")}
GRAPH_TYPES = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/n-triples": "nt",
    "text/plain": "nt",
    "application/ld+json": "jsonld",
    "application/json": "jsonld",
    "application/rdf+xml": "rdfxml",
    "application/xml": "rdfxml",
    "text/xml": "rdfxml",
    "application/trig": "trig",
    "application/n-quads": "nq",
}
# the `format` parameter's names, per kind of answer (SPARQLWrapper sends format=json, xml, turtle...)
RESULT_NAMES = {"json": "json", "xml": "xml", "csv": "csv", "tsv": "tsv"}
GRAPH_NAMES = {"turtle": "turtle", "ttl": "turtle", "nt": "nt", "ntriples": "nt", "n-triples": "nt",
               "jsonld": "jsonld", "json-ld": "jsonld", "json": "jsonld", "xml": "rdfxml",
               "rdfxml": "rdfxml", "rdf": "rdfxml", "trig": "trig", "nq": "nq", "nquads": "nq"}


class ProtocolError(Exception):
    """A request the protocol does not allow: its HTTP status and a message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Operation:
    kind: str  # 'query', 'update' or 'none' (no operation: the service description)
    text: str = ""
    default_graph: list[str] | None = None
    named_graphs: list[str] | None = None
    params: dict = field(default_factory=dict)


def _one(values: list[str], name: str) -> str | None:
    if len(values) > 1:
        raise ProtocolError(400, f"give one '{name}' parameter, not {len(values)}")
    return values[0] if values else None


def _iris(values: list[str], name: str) -> list[str] | None:
    for value in values:
        if not _IRI.fullmatch(value):
            raise ProtocolError(400, f"{name}: not an absolute IRI: {value!r}")
    return list(values) or None


def _utf8(request) -> None:
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ProtocolError(415, f"the body must be UTF-8, not {charset}")


def operation(request) -> Operation:
    """What the request asks for; ProtocolError when the protocol does not allow it."""
    args = request.args
    if request.method == "GET":
        if args.getlist("update"):
            raise ProtocolError(400, "an update must be sent with POST")
        query, update, params = _one(args.getlist("query"), "query"), None, args
    elif request.mimetype == FORM:
        _utf8(request)
        form = request.form
        query = _one(form.getlist("query") + args.getlist("query"), "query")
        update = _one(form.getlist("update") + args.getlist("update"), "update")
        if query is not None and update is not None:
            raise ProtocolError(400, "give either 'query' or 'update', not both")
        if query is None and update is None:
            raise ProtocolError(400, "the form has no 'query' and no 'update'")
        params = form.copy()
        params.update(args)
    elif request.mimetype in (QUERY_TYPE, UPDATE_TYPE):
        _utf8(request)
        try:
            text = request.get_data(cache=False).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(400, "the body is not valid UTF-8") from None
        if args.getlist("query") or args.getlist("update"):
            raise ProtocolError(400, "the operation is in the body: no 'query' or 'update' parameter too")
        query, update = (text, None) if request.mimetype == QUERY_TYPE else (None, text)
        params = args
    else:
        shown = request.mimetype or "none"
        raise ProtocolError(415, f"POST a query as {FORM}, {QUERY_TYPE} or {UPDATE_TYPE}, not as {shown}")
    if update is not None:
        return Operation("update", update, params=params)
    if query is None:
        return Operation("none", params=params)
    return Operation("query", query,
                     default_graph=_iris(params.getlist("default-graph-uri"), "default-graph-uri"),
                     named_graphs=_iris(params.getlist("named-graph-uri"), "named-graph-uri"),
                     params=params)


@dataclass
class Formats:
    """The format key chosen for each kind of answer, None when nothing acceptable."""

    result: str | None
    boolean: str | None
    graph: str | None
    asked: str  # what was asked for, for the 406 message


def _choose(accept: MIMEAccept, types: dict[str, str], names: dict[str, str], fmt: str | None):
    if fmt:
        fmt = fmt.strip().lower()
        if fmt in names:
            return names[fmt]
        return types.get(fmt.split(";")[0].strip())
    if not accept:  # no Accept header: anything will do
        return next(iter(types.values()))
    best = accept.best_match(list(types))
    return types[best] if best else None


def negotiate(request, params) -> Formats:
    """The formats for a SELECT, an ASK and a CONSTRUCT/DESCRIBE answer to this request."""
    fmt = params.get("format") if params is not None else None
    accept = request.accept_mimetypes
    asked = f"format={fmt}" if fmt else f"Accept: {request.headers.get('Accept', '')}"
    return Formats(_choose(accept, RESULT_TYPES, RESULT_NAMES, fmt),
                   _choose(accept, BOOLEAN_TYPES, RESULT_NAMES, fmt),
                   _choose(accept, GRAPH_TYPES, GRAPH_NAMES, fmt),
                   asked)
