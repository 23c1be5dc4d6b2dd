"""The store on a SPARQL 1.1 server: the same methods as ``EmbeddedStore``, over HTTP.

A deployment that outgrows one machine keeps its data in an existing triple
store (Oxigraph's server, Apache Jena Fuseki, GraphDB, Virtuoso, Stardog,
Amazon Neptune …) and points kb at it with a URL::

    kb --store sparql+http://127.0.0.1:7878/ ingest seeds/

The URL names the server's base; the three services default to Oxigraph's
layout (``query``, ``update``, ``store``) and can be named in the URL's query
string for other servers, e.g.
``sparql+https://host/ds/?query=sparql&update=update&data=data`` for Fuseki.
Credentials never go on the command line: ``KB_STORE_USER`` and
``KB_STORE_PASSWORD`` (HTTP Basic) or ``KB_STORE_TOKEN`` (Bearer) are read
from the environment.

The server must treat its default graph as the union of the named graphs
(``oxigraph serve --union-default-graph``, Fuseki's ``unionDefaultGraph``,
GraphDB's default), as the embedded store does.

What is the same as the embedded store: a document is replaced by ONE update
request, ``DROP SILENT GRAPH <g> ; INSERT DATA { GRAPH <g> { … } }``, which
the servers above run as one transaction; SERVICE is refused before a query
leaves kb.  What differs: parameters are bound by a ``VALUES`` block of typed
terms placed at the start of the query's WHERE group (the way rdflib's
SPARQLStore binds them), since the SPARQL Protocol has no parameters of its
own; the server's own time-outs and limits apply.
"""
from __future__ import annotations

import base64
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import BinaryIO, Iterator, Mapping

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef

from .errors import QueryError, StoreError
from .store import (FORMATS, GraphResult, SelectResult, check_query, fill_list, from_ox, ntriples_text,
                    one_line, ontology_graph_iri, to_ox)

SCHEMES = ("sparql+http://", "sparql+https://")
TIMEOUT = float(os.environ.get("KB_STORE_TIMEOUT", "300"))  # seconds per HTTP request
_CHUNK = 1 << 16


def is_remote(spec) -> bool:
    return str(spec).startswith(SCHEMES)


class RemoteStore:
    """A SPARQL 1.1 server (Protocol, Update, Graph Store Protocol) as kb's store."""

    def __init__(self, url: str, read_only: bool = False):
        if not is_remote(url):
            raise StoreError(f"{url}: not a SPARQL store URL (sparql+http://… or sparql+https://…)")
        parts = urllib.parse.urlsplit(url[len("sparql+"):])
        if parts.username or parts.password:
            raise StoreError(f"{parts.hostname}: put credentials in KB_STORE_USER/KB_STORE_PASSWORD "
                             "or KB_STORE_TOKEN, not in the store URL")
        base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))
        if not base.endswith("/"):
            base += "/"
        options = dict(urllib.parse.parse_qsl(parts.query))
        self.base = base
        self.path = url  # shown in messages, like EmbeddedStore.path
        self.read_only = read_only
        self.query_url = urllib.parse.urljoin(base, options.get("query", "query"))
        self.update_url = urllib.parse.urljoin(base, options.get("update", "update"))
        self.data_url = urllib.parse.urljoin(base, options.get("data", "store"))
        self._headers = _credentials()

    @classmethod
    def open(cls, url, read_only: bool = False) -> "RemoteStore":
        store = cls(str(url), read_only=read_only)
        store.ping()
        return store

    def __enter__(self) -> "RemoteStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass  # every request is its own connection

    # -------------------------------------------------------- HTTP

    def _request(self, url: str, data: bytes | None, content_type: str | None,
                 accept: str, method: str | None = None):
        headers = {"Accept": accept, **self._headers}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            return urllib.request.urlopen(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as exc:
            detail = one_line(exc.read(2000).decode("utf-8", "replace")) or exc.reason
            if exc.code in (400, 422):
                raise QueryError(f"{self.base}: {detail}") from None
            raise StoreError(f"{self.base}: HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StoreError(f"{self.base}: cannot reach the SPARQL server: {one_line(reason)}") from None

    def ping(self) -> None:
        """Fail with a StoreError now, rather than in the middle of a batch, if the server is not there."""
        self._ask("ASK {}")

    def _post_query(self, sparql: str, accept: str):
        return self._request(self.query_url, sparql.encode("utf-8"),
                             "application/sparql-query; charset=utf-8", accept)

    def _ask(self, sparql: str) -> bool:
        with self._post_query(sparql, "application/sparql-results+json") as response:
            return bool(json.load(response)["boolean"])

    def _update(self, sparql: str) -> None:
        if self.read_only:
            raise StoreError(f"{self.base}: opened read-only")
        with self._request(self.update_url, sparql.encode("utf-8"),
                           "application/sparql-update; charset=utf-8", "*/*"):
            pass

    # -------------------------------------------------------- writing

    def replace_document(self, graph_iri, graph: Graph) -> None:
        """Replace the named graph ``graph_iri`` by ``graph`` in one update request."""
        name = to_ox(URIRef(graph_iri))
        update = f"DROP SILENT GRAPH {name}"
        triples = ntriples_text(graph)
        if triples:
            update += f" ;\nINSERT DATA {{ GRAPH {name} {{\n{triples}\n}} }}"
        self._update(update)

    def add_to_default_graph(self, graph: Graph) -> None:
        triples = ntriples_text(graph)
        if triples:
            self._update(f"INSERT DATA {{\n{triples}\n}}")

    def update(self, sparql: str, base_iri: str | None = None) -> None:
        if base_iri:
            sparql = f"BASE {to_ox(URIRef(base_iri))}\n{sparql}"
        self._update(sparql)

    def set_ontology(self, graph: Graph) -> None:
        self.replace_document(ontology_graph_iri(), graph)

    def optimize(self) -> None:
        pass  # the server compacts its own storage

    # -------------------------------------------------------- reading

    def documents(self) -> list[str]:
        result = self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        ontology = ontology_graph_iri()
        return sorted(str(g) for (g,) in result.rows
                      if isinstance(g, URIRef) and str(g) != ontology)

    def graph(self, iri) -> Graph:
        out = Graph()
        for triple in self._construct_graph(iri):
            out.add((from_ox(triple.subject), from_ox(triple.predicate), from_ox(triple.object)))
        return out

    def _construct_graph(self, iri) -> Iterator[ox.Triple]:
        sparql = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {to_ox(URIRef(iri))} {{ ?s ?p ?o }} }}"
        with self._post_query(sparql, "application/n-triples") as response:
            yield from ox.parse(response, format=ox.RdfFormat.N_TRIPLES)

    def query(self, sparql: str, bindings: Mapping[str, object] | None = None, strings: bool = False):
        """SELECT -> SelectResult, CONSTRUCT/DESCRIBE -> GraphResult (an rdflib Graph), ASK -> bool,
        as EmbeddedStore.query (``strings``: a SELECT's cells as the answer's plain values)."""
        check_query(sparql)
        text = bind(sparql, bindings or {})
        kind = _query_form(text)
        if kind in ("CONSTRUCT", "DESCRIBE"):
            # the server's N-Triples read by pyoxigraph, kept as its triples until read as rdflib
            # (kb.store.GraphResult); its blank node labels kept, one answer's distinct as sent
            with self._post_query(text, "application/n-triples") as response:
                return GraphResult(q.triple for q in ox.parse(response, format=ox.RdfFormat.N_TRIPLES))
        with self._post_query(text, "application/sparql-results+json") as response:
            answer = json.load(response)
        if "boolean" in answer:
            return bool(answer["boolean"])
        variables = answer["head"].get("vars", [])
        if strings:
            rows = [tuple(None if (cell := b.get(v)) is None else cell["value"] for v in variables)
                    for b in answer["results"]["bindings"]]
        else:
            rows = [tuple(_json_term(b.get(v)) for v in variables) for b in answer["results"]["bindings"]]
        return SelectResult(variables, rows)

    def dump(self, fileobj: BinaryIO, format: str = "trig", graph=None,
             prefixes: Mapping[str, str] | None = None) -> None:
        """Stream the store (or one named graph) graph by graph: memory bounded by the largest graph."""
        if format not in FORMATS:
            raise QueryError(f"unknown format {format!r} (one of: {', '.join(FORMATS)})")
        rdf_format = FORMATS[format]
        prefixes = dict(prefixes or {}) if format in ("turtle", "trig") else None
        graphs = [graph] if graph is not None else [ontology_graph_iri(), *self.documents()]
        if rdf_format.supports_datasets:
            def quads():
                for iri in graphs:
                    name = ox.NamedNode(str(iri))
                    for t in self._construct_graph(iri):
                        yield ox.Quad(t.subject, t.predicate, t.object, name)
            statements = quads()
        else:
            statements = (t for iri in graphs for t in self._construct_graph(iri))
        ox.serialize(statements, fileobj, rdf_format, prefixes=prefixes)

    def query_listed(self, sparql: str, variable, terms, bindings: Mapping[str, object] | None = None,
                     strings: bool = False) -> SelectResult:
        """``query`` with the line ``VALUES ?variable { }  # LIST`` of ``sparql`` holding ``terms``
        (written by pyoxigraph as N-Triples terms, never pasted as given), as EmbeddedStore.query_listed."""
        names = (variable,) if isinstance(variable, str) else tuple(variable)
        for name in names:
            _variable(name)
        return self.query(fill_list(sparql, variable, terms, _term_text), bindings, strings)

    def search_index(self):
        """The search of the claims (kb.remote_search.RemoteSearch): answered by the server, which keeps
        no full-text index beside it, with the same hits, total and facets as kb.fts's index."""
        from .remote_search import RemoteSearch

        return RemoteSearch(self)

    def stats(self) -> dict:
        return {"store": self.base, "documents": len(self.documents())}


# ---------------------------------------------------------------- helpers

def _credentials() -> dict[str, str]:
    token = os.environ.get("KB_STORE_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user = os.environ.get("KB_STORE_USER")
    if user:
        secret = f"{user}:{os.environ.get('KB_STORE_PASSWORD', '')}".encode("utf-8")
        return {"Authorization": "Basic " + base64.b64encode(secret).decode("ascii")}
    return {}


def _json_term(value: dict | None):
    """A term of the SPARQL 1.1 Query Results JSON format as an rdflib term."""
    if value is None:
        return None
    kind = value["type"]
    if kind == "uri":
        return URIRef(value["value"])
    if kind == "bnode":
        return BNode(value["value"])
    if "xml:lang" in value:
        return Literal(value["value"], lang=value["xml:lang"])
    datatype = value.get("datatype")
    if datatype and datatype != "http://www.w3.org/2001/XMLSchema#string":
        return Literal(value["value"], datatype=URIRef(datatype))
    return Literal(value["value"])


# A query's text with its comments and the contents of its strings and IRIs
# blanked out, so that keywords are found only where they are keywords.
_OPAQUE = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""' r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
                     r'|"(?:[^"\\\n]|\\.)*"' r"|'(?:[^'\\\n]|\\.)*'" r"|<[^<>\"{}|^`\\\s]*>" r"|#[^\n]*")
_FORM = re.compile(r"\b(SELECT|CONSTRUCT|DESCRIBE|ASK)\b", re.IGNORECASE)
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def _blanked(sparql: str) -> str:
    return _OPAQUE.sub(lambda m: " " * len(m.group()), sparql)


def _query_form(sparql: str) -> str:
    match = _FORM.search(_blanked(sparql))
    return match.group(1).upper() if match else "SELECT"


def bind(sparql: str, bindings: Mapping[str, object]) -> str:
    """``sparql`` with each binding as a ``VALUES ?v { term }`` block.

    The block goes at the start of every WHERE group (the query's and its
    sub-selects'), so that a sub-select with a LIMIT sees the value as
    Oxigraph's substitutions would; a group that does not use the variable
    is joined with one row, which changes nothing.  A variable that the query
    itself assigns (``BIND(… AS ?v)``) cannot be in scope before it, so it is
    bound by a VALUES clause after the query instead (joined at the end, as
    Oxigraph joins a CONSTRUCT's substitutions).  Each value is an rdflib or
    pyoxigraph term serialized by pyoxigraph (escaped as N-Triples), never
    pasted as given.
    """
    if not bindings:
        return sparql
    blank = _blanked(sparql)
    inside, after = [], []
    for name, value in bindings.items():
        block = f"VALUES ?{_variable(name)} {{ {_term_text(value)} }}"
        assigned = re.search(rf"\bAS\s+[?$]{name}\b", blank, re.IGNORECASE)
        (after if assigned else inside).append(block)
    text = sparql
    if inside:
        form = _FORM.search(blank)
        start = form.end() if form else 0
        cuts = [m.end() for m in _WHERE.finditer(blank, start)]
        if not cuts and not (form and form.group(1).upper() == "CONSTRUCT"):
            first = blank.find("{", start)  # WHERE is optional but in CONSTRUCT
            cuts = [first + 1] if first >= 0 else []
        if not cuts:
            raise QueryError("cannot bind parameters: the query has no WHERE group")
        values = " ".join(inside)
        pieces, last = [], 0
        for cut in cuts:
            pieces += [sparql[last:cut], f" {values} "]
            last = cut
        text = "".join(pieces) + sparql[last:]
    if after:
        text = text.rstrip() + "\n" + "\n".join(after) + "\n"
    return text


def _variable(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise QueryError(f"not a variable name: {name!r}")
    return name


def _term_text(value) -> str:
    term = to_ox(value)
    if isinstance(term, ox.BlankNode):
        raise QueryError("a blank node cannot be bound as a parameter")
    return str(term)


# ---------------------------------------------------------------- the endpoint on a SPARQL server

class Forwarder:
    """What kb.querypool.QueryPool is for the embedded store, for a store on a SPARQL server:
    ``run(request, timeout)`` forwards an endpoint request (already checked: no SERVICE)
    to the server and returns its answer, in the format asked for and capped at the
    request's ``max_rows`` as the embedded store's answers are (the server sends JSON
    results or N-Triples, read only as far as the cap).  The time-out is the HTTP
    request's; the server's own limits on rows and time apply too."""

    def __init__(self, url: str):
        self.store = RemoteStore(url, read_only=True)

    def run(self, request: dict, timeout: float):
        from .querypool import GRAPH_FORMATS, RESULT_FORMATS, Answer, QueryTimeout, _solutions, _triples

        form = _query_form(request["query"])
        if form in ("CONSTRUCT", "DESCRIBE"):
            fmt, table, wire = request["graph_format"], GRAPH_FORMATS, "application/n-triples"
        else:
            fmt = request["result_format"] if form == "SELECT" else request.get("boolean_format")
            table, wire = RESULT_FORMATS, "application/sparql-results+json"
        if fmt is None:
            return Answer(406, "text/plain; charset=utf-8", request["not_acceptable"].encode())
        media_type = table[fmt][1]
        text = request["query"]
        if request.get("base_iri"):
            text = f"BASE {to_ox(URIRef(request['base_iri']))}\n{text}"
        fields = [("query", text)]
        fields += [("default-graph-uri", g) for g in request.get("default_graph") or ()]
        fields += [("named-graph-uri", g) for g in request.get("named_graphs") or ()]
        headers = {"Accept": wire, **self.store._headers,
                   "Content-Type": "application/x-www-form-urlencoded"}
        call = urllib.request.Request(self.store.query_url, headers=headers,
                                      data=urllib.parse.urlencode(fields).encode("ascii"))
        max_rows = request.get("max_rows", 10_000)
        try:
            with urllib.request.urlopen(call, timeout=timeout) as response:
                if wire == "application/n-triples":
                    triples = ox.parse(response, format=ox.RdfFormat.N_TRIPLES)
                    body, truncated = _triples(triples, fmt, max_rows)
                    return Answer(200, media_type, body, truncated)
                result = ox.parse_query_results(response, ox.QueryResultsFormat.JSON)
                if isinstance(result, ox.QueryBoolean):
                    return Answer(200, media_type, result.serialize(format=RESULT_FORMATS[fmt][0]))
                body, truncated = _solutions(result, fmt, max_rows)
                return Answer(200, media_type, body, truncated)
        except urllib.error.HTTPError as exc:
            detail = one_line(exc.read(2000).decode("utf-8", "replace")) or exc.reason
            status = exc.code if exc.code in (400, 406) else 502
            return Answer(status, "text/plain; charset=utf-8", f"the SPARQL server: {detail}".encode())
        except TimeoutError:
            raise QueryTimeout() from None
        except (urllib.error.URLError, OSError) as exc:
            if isinstance(getattr(exc, "reason", None), TimeoutError):
                raise QueryTimeout() from None
            reason = one_line(getattr(exc, "reason", exc))
            return Answer(502, "text/plain; charset=utf-8", f"cannot reach the SPARQL server: {reason}".encode())
        except (SyntaxError, ValueError) as exc:  # an answer kb cannot read
            return Answer(502, "text/plain; charset=utf-8", f"the SPARQL server's answer: {one_line(exc)}".encode())

    def close(self) -> None:
        pass
