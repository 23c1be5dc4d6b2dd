"""Linked Data: every IRI kb mints resolves here, in HTML or RDF from one URL.

A request path maps to the IRI ``base + path`` (the base is the app's
``KB_BASE`` setting, else ``config.base_iri()``)::

    /claim/<id>  /speaker/<key>  /topic/<key>  /topics
    /document/<name>  /document/<name>/post/<index>

Content negotiation follows the hash-less variant of W3C "Cool URIs for the
Semantic Web": one URL answers with HTML, Turtle, JSON-LD, N-Triples or
RDF/XML by the Accept header (q-values honoured; a missing header or */*
gets Turtle, the first of FORMATS), or by a ``format`` parameter, or by an
extension (``/speaker/sergey-lavrov.ttl``).  Negotiated answers carry
``Vary: Accept`` and ``Content-Location`` (the URL of the variant sent), all
carry ``Link: rel="alternate"`` to the other formats; none acceptable is 406,
an IRI the store does not describe is 404 (in JSON for ``?format=json``).
A page links an IRI only when it is http(s): ``local_url`` turns any other
(``javascript:``, ``data:``) into ``#``, whatever the store holds.

The RDF of a resource is queries/describe.rq.  The HTML of a speaker, a
topic, the topic scheme, a claim or a document, and the data of those pages
(``?format=json|csv``), are resource_pages.py's; any other resource (a post)
gets the generic page, with the labels of queries/labels.rq.  Names from the
path are only ever looked up as IRIs.

``/export.<ext>`` streams the whole store (dumped into a temporary file,
then sent in chunks, so memory stays flat); ``/speaker/<key>/claims.<ext>``
and ``/topic/<key>/claims.<ext>`` are the claims `kb export --speaker/--topic`
writes.
"""
from __future__ import annotations

import io
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, render_template, request
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from .. import config, queries
from ..errors import StoreError
from ..querypool import store_signature
from ..remote import is_remote
from ..store import EmbeddedStore, open_store, write_graph

bp = Blueprint("linked_data", __name__, template_folder="templates")

CHUNK = 64 * 1024
REFERRERS_SHOWN = 100  # the LIMIT of queries/describe.rq
LABEL = 120  # characters of a label at most (a claim's words label it)
LONG_TEXT = 300  # characters: a longer literal is folded away in a <pre>


@dataclass(frozen=True)
class Format:
    ext: str
    media_type: str  # what the answer is sent as
    name: str  # a kb.store format, or 'xml' (rdflib) or 'html'
    aliases: tuple[str, ...] = ()  # more media types accepted in Accept


FORMATS = (
    Format("ttl", "text/turtle", "turtle", ("application/x-turtle",)),
    Format("html", "text/html", "html", ("application/xhtml+xml",)),
    Format("jsonld", "application/ld+json", "jsonld", ("application/json",)),
    Format("nt", "application/n-triples", "nt"),
    Format("rdf", "application/rdf+xml", "xml"),
)
BY_EXT = {f.ext: f for f in FORMATS}
BY_NAME = {"turtle": BY_EXT["ttl"], "json-ld": BY_EXT["jsonld"], "ntriples": BY_EXT["nt"],
           "xml": BY_EXT["rdf"], "rdfxml": BY_EXT["rdf"], **BY_EXT}
CLAIMS_FORMATS = {ext: f for ext, f in BY_EXT.items() if ext != "html"}
EXPORTS = {  # extension -> (kb.store format, media type)
    "ttl": ("turtle", "text/turtle"),
    "nt": ("nt", "application/n-triples"),
    "nq": ("nq", "application/n-quads"),
    "trig": ("trig", "application/trig"),
    "jsonld": ("jsonld", "application/ld+json"),
}
SCHEMA_TEXT = URIRef("https://schema.org/text")
SCHEMA_CLAIM = URIRef("https://schema.org/Claim")
LABELS = (SKOS.prefLabel, DCTERMS.title, RDFS.label, URIRef("https://schema.org/name"),
          URIRef("https://w3id.org/kb/ns#fileName"))


class NotAcceptable(Exception):
    pass


# ---------------------------------------------------------------- set-up

def init_app(app) -> None:
    """Register the Linked Data routes on ``app``."""
    app.register_blueprint(bp)
    app.teardown_appcontext(close_store)


def base() -> str:
    """The base of the IRIs, once per request (a page links hundreds of IRIs through local_url)."""
    found = g.get("kb_base")
    if found is None:
        value = current_app.config.get("KB_BASE") or config.base_iri()
        found = g.kb_base = value if value.endswith(("/", "#")) else value + "/"
    return found


def get_store():
    """The store, read-only, for this request.

    The embedded store is opened once per process and again only when its
    files change (a new ingest shows at once); if that reopening coincides
    with the writer flushing or compacting and fails, the pages answer from
    the store opened before, which is whole.  Each request gets its own
    wrapper (and its own connection to the search index) around it.
    """
    if "kb_store" not in g:
        path = current_app.config.get("KB_STORE") or config.default_store()
        if is_remote(path):
            g.kb_store = open_store(path, read_only=True)
        else:
            g.kb_store_version = store_signature(str(path))
            g.kb_store = EmbeddedStore(_shared_reader(str(path), g.kb_store_version), Path(path),
                                       read_only=True)
    return g.kb_store


def store_version():
    """What identifies the store's contents for this request (None for a store on a SPARQL server):
    answers computed for one version hold until it changes."""
    get_store()
    return g.get("kb_store_version")


_READER_LOCK = threading.Lock()


def _shared_reader(path: str, now: tuple):
    extensions = current_app.extensions
    with _READER_LOCK:
        seen, reader = extensions.get("kb_reader", (None, None))
        if reader is not None and seen == now:
            return reader
        try:
            reader = EmbeddedStore.open(path, read_only=True)._store
        except StoreError:
            if reader is None:
                raise
            return reader  # the writer is mid-way: the store as it was, whole; reopened next time
        extensions["kb_reader"] = (now, reader)
        return reader


def close_store(exc=None) -> None:
    store = g.pop("kb_store", None)
    if store is not None:
        store.close()


def iri_for(*segments: str) -> URIRef:
    """The IRI for a request path, its segments percent-encoded as kb.rdf encodes them."""
    return URIRef(base() + "/".join(quote(s, safe="") for s in segments))


LINKABLE = ("http://", "https://")  # an IRI of any other scheme (javascript:, data:…) is never a link


def local_url(iri: str) -> str:
    """The URL on this server of an IRI under the base; any other http(s) IRI as it is, else '#'."""
    b = base()
    if iri.startswith(b):
        return request.script_root + "/" + iri[len(b):]
    return iri if iri.lower().startswith(LINKABLE) else "#"


# ---------------------------------------------------------------- negotiation

def negotiate(ext: str | None) -> Format:
    """The format asked for by extension, else ``format`` parameter, else Accept."""
    if ext:
        return BY_EXT[ext]
    wanted = request.args.get("format")
    if wanted:
        fmt = BY_NAME.get(wanted.lower())
        if fmt is None:
            raise NotAcceptable(f"unknown format {wanted!r}")
        return fmt
    accept = request.accept_mimetypes
    if not accept:  # no Accept header: anything goes
        return FORMATS[0]
    # the main types first: application/* is JSON-LD, not application/x-turtle
    offered = [f.media_type for f in FORMATS] + [a for f in FORMATS for a in f.aliases]
    best = accept.best_match(offered)
    if best is None:
        raise NotAcceptable("none of the formats is acceptable")
    return next(f for f in FORMATS if best in (f.media_type, *f.aliases))


def split_ext(name: str) -> tuple[str, str | None]:
    stem, dot, ext = name.rpartition(".")
    if dot and stem and ext in BY_EXT:
        return stem, ext
    return name, None


def wants_html() -> bool:
    return request.accept_mimetypes.best_match(["text/plain", "text/html"]) == "text/html"


# ---------------------------------------------------------------- resources

@bp.route("/topics")
@bp.route(f"/topics.<any({','.join(BY_EXT)}):ext>")
def topic_scheme(ext=None):
    return resource(["topics"], ext)


@bp.route("/<any(claim,speaker,topic,document):kind>/<name>")
def one(kind, name):
    return by_name([kind], name)


@bp.route("/document/<name>/post/<index>")
def post(name, index):
    return by_name(["document", name, "post"], index)


def by_name(prefix: list[str], name: str):
    """A resource whose last segment may carry an extension (document names have dots)."""
    stem, ext = split_ext(name)
    if ext is not None:
        graph = describe(iri_for(*prefix, stem))
        if graph is not None:
            return resource([*prefix, stem], ext, graph)
    return resource([*prefix, name], None)


def describe(iri: URIRef, referrers: bool = True) -> Graph | None:
    """The resource's description (queries/describe.rq), None when the store has none; without
    ``referrers`` only its own triples and topic assignments (describe-page.rq), what its page uses."""
    name = "describe" if referrers else "describe-page"
    graph = get_store().query(queries.load_query(name).text, {"resource": iri})
    return graph if (iri, None, None) in graph else None


def resource(segments: list[str], ext: str | None, graph: Graph | None = None):
    """The answer for the IRI of a request path, in the format negotiated."""
    iri = iri_for(*segments)
    # the pages (resource_pages.py) render the HTML, and the data of a page (?format=json|csv)
    from . import resource_pages

    if ext is None and resource_pages.wants_data(segments[0]):
        graph = graph if graph is not None else describe(iri, referrers=False)
        if graph is None:
            return not_found(iri)
        page = resource_pages.answer(segments, iri, graph)
        if page is not None:
            return page
    try:
        fmt = negotiate(ext)
    except NotAcceptable as exc:
        return not_acceptable(str(exc))
    if graph is None:  # a page of resource_pages shows no referrers: not read for it
        graph = describe(iri, referrers=not (fmt.name == "html" and resource_pages.has_page(segments)))
    if graph is None:
        return not_found(iri)
    path = local_url(iri)
    response = None
    if fmt.name == "html":
        response = resource_pages.answer(segments, iri, graph)
        if response is None:
            has_claims = len(segments) == 2 and segments[0] in ("speaker", "topic")
            body = html_page(iri, graph, path, f"{path}/claims.ttl" if has_claims else None)
    else:
        resource_pages.add_list_data(segments, graph)  # the topic scheme: its topics with their claim counts
        body = serialize(graph, fmt)
    if response is None:
        response = Response(body, content_type=content_type(fmt.media_type))
    if ext is None:  # negotiated: say so, and where this variant lives
        response.vary.add("Accept")
        response.headers["Content-Location"] = f"{path}.{fmt.ext}"
    response.headers["Link"] = ", ".join(
        [f'<{path}.{f.ext}>; rel="alternate"; type="{f.media_type}"' for f in FORMATS if f is not fmt]
        + ([response.headers["Link"]] if "Link" in response.headers else []))
    return response


def content_type(media_type: str) -> str:
    if media_type.startswith("text/") or media_type in ("application/n-triples", "application/n-quads",
                                                        "application/trig"):
        return f"{media_type}; charset=utf-8"
    return media_type


def serialize(graph: Graph, fmt: Format) -> bytes:
    if fmt.name == "xml":
        return graph.serialize(format="pretty-xml", encoding="utf-8")
    out = io.BytesIO()
    write_graph(sorted(graph), out, fmt.name, queries.prefixes())  # sorted: the same bytes every time
    return out.getvalue()


# ---------------------------------------------------------------- the HTML page

def html_page(iri: URIRef, graph: Graph, path: str, claims_export: str | None) -> str:
    labels = {}
    result = get_store().query(queries.load_query("labels").text, {"resource": iri})
    for _, term, label in result.rows:
        labels[term] = best_label(labels.get(term), label)
    for term in {iri, *graph.objects(iri, RDF.type)}:
        for p in LABELS:
            for label in graph.objects(term, p):
                labels[term] = best_label(labels.get(term), label)

    if iri not in labels and (iri, RDF.type, SCHEMA_CLAIM) in graph:
        labels[iri] = graph.value(iri, SCHEMA_TEXT)

    def show(term):
        return value_view(term, labels)

    def rows(subject):
        pairs = sorted(graph.predicate_objects(subject), key=lambda po: (po[0] != RDF.type, str(po[0]), str(po[1])))
        return [(show(p), show(o)) for p, o in pairs]

    parts = [{"id": s.split("#", 1)[1], "iri": str(s), "rows": rows(s)}
             for s in sorted(set(graph.subjects()), key=str) if s.startswith(str(iri) + "#")]
    referrers = sorted((s, p) for s, p, o in graph if o == iri and s != iri)
    return render_template(
        "resource.html", iri=str(iri), label=show(iri)["text"],
        types=[show(t) for t in sorted(graph.objects(iri, RDF.type))], rows=rows(iri), parts=parts,
        referrers=[(show(s), show(p)) for s, p in referrers], shown=REFERRERS_SHOWN,
        alternates=[(f"{path}.{f.ext}", f.media_type) for f in FORMATS if f.ext != "html"],
        claims_export=claims_export)


def best_label(current, candidate):
    """English or untagged labels first, then the first one met."""
    if current is None:
        return candidate
    if getattr(current, "language", None) not in (None, "en") and candidate.language in (None, "en"):
        return candidate
    return current


def value_view(term, labels: dict) -> dict:
    if isinstance(term, Literal):
        text = str(term)
        extra = f"@{term.language}" if term.language else (
            term.datatype.rsplit("#", 1)[-1] if term.datatype else "")
        return {"text": text, "note": extra, "long": len(text) > LONG_TEXT or "\n" in text}
    text = " ".join(str(labels.get(term) or _short(str(term))).split())
    if len(text) > LABEL:
        text = text[:LABEL - 1] + "…"
    return {"text": text, "href": local_url(str(term)), "iri": str(term)}


def _short(iri: str) -> str:
    b = base()
    if iri.startswith(b):
        return iri[len(b):]
    return iri.rsplit("#", 1)[-1] if "#" in iri else iri.rstrip("/").rsplit("/", 1)[-1]


# ---------------------------------------------------------------- errors

def not_found(iri: URIRef):
    if wants_html() and (request.args.get("format") or "").lower() != "json":
        from .pages import not_found_page

        return not_found_page(str(iri))
    return Response(f"Not found: {iri}\n", status=404, content_type="text/plain; charset=utf-8",
                    headers={"Vary": "Accept"})


def not_acceptable(reason: str):
    offered = ", ".join(f"{f.media_type} (.{f.ext})" for f in FORMATS)
    return Response(f"Not acceptable: {reason}. Offered: {offered}.\n", status=406,
                    content_type="text/plain; charset=utf-8", headers={"Vary": "Accept"})


# ---------------------------------------------------------------- exports

@bp.route("/export.<ext>")
def export(ext):
    if ext not in EXPORTS:
        return Response(f"Unknown export format .{ext} (one of: {', '.join(EXPORTS)})\n", status=404,
                        content_type="text/plain; charset=utf-8")
    fmt, media_type = EXPORTS[ext]
    spool = tempfile.TemporaryFile()
    try:
        get_store().dump(spool, fmt, prefixes=queries.prefixes())
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    response = Response(chunks(spool), content_type=content_type(media_type))
    response.content_length = size
    response.call_on_close(spool.close)
    return response


def chunks(fileobj):
    try:
        while block := fileobj.read(CHUNK):
            yield block
    finally:
        fileobj.close()


@bp.route("/<any(speaker,topic):kind>/<key>/claims.<ext>")
def claims(kind, key, ext):
    fmt = CLAIMS_FORMATS.get(ext)
    iri = iri_for(kind, key)
    if fmt is None or describe(iri) is None:
        return not_found(iri if fmt else URIRef(f"{iri}/claims.{ext}"))
    graph = queries.run(get_store(), queries.load_query("export-claims"), {kind: str(iri)})
    return Response(serialize(graph, fmt), content_type=content_type(fmt.media_type))
