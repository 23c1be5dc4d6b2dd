"""Hostile requests: the server answers each with a 4xx (or closes), never a 5xx, and goes on answering.

The store holds the hand-built documents of conftest.DOCS and one hostile
document whose every text — its title, file name, text, post title,
keywords, the claim's words, cue, reporter, date evidence, matched topic
text, a new speaker's name — carries HTML and JavaScript, with a speaker
whose ``owl:sameAs`` is a ``javascript:`` IRI.  In-process (Flask's test
client): escaping on every page a crawl reaches, SPARQL syntax and other
junk in every parameter the UI reads, path traversal, the error shapes
and the security headers.  Against a real ``kb serve`` under waitress on
127.0.0.1 (raw sockets where a client would refuse to send the request):
oversize and malformed headers, a 10 MB query, a query that would run for
minutes while the pages go on answering, a CONSTRUCT of millions of
triples.

Elsewhere: SERVICE is refused and nothing is sent
(test_endpoint.test_service_is_refused_and_nothing_is_sent), an update
without the token is 403 (test_endpoint.test_update_is_403 and
test_an_update_without_the_token_is_403), the next query after a time-out
is answered at once (test_endpoint.test_timeout_then_the_next_query_at_once).
"""
from __future__ import annotations

import re
import socket
import threading
import time
import urllib.request
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, SKOS

from conftest import KB, SCHEMA, C, build_document, fill, iri
from kb.store import EmbeddedStore, open_store
from kb.web import CSP
from live_server import app_with_pool, fetch, running_server
from test_endpoint import EXPENSIVE  # a cross product of the store with itself four times over

ROOT = Path(__file__).resolve().parent.parent
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
SVG = "'><svg onload=alert(3)>"
JS_IRI = "javascript:alert(4)"
# what must never be in an HTML answer: the payloads' tags unescaped, or a javascript: link
MARKUP = re.compile(r"<script>alert|<img src=x|<svg onload", re.I)
JS_LINK = re.compile(r"(?:href|src|action)\s*=\s*[\"']?\s*javascript:", re.I)
HOSTILE_WORDS = f"{SCRIPT} and {IMG} and {SVG}"
HOSTILE_TEXT = f"Title {SCRIPT}\n\nThe speaker said: {HOSTILE_WORDS} — end.\n"
HOSTILE_DOC = "hostile.txt"
HOSTILE_CLAIM = "00000000deadbeef"
TIMEOUT = 6.0  # seconds: the query time-out of the real server (time for pages to answer meanwhile)


def hostile_graphs() -> tuple[URIRef, Graph, Graph]:
    """(document IRI, document graph, ontology additions): a text everywhere a page shows one."""
    start = HOSTILE_TEXT.index(HOSTILE_WORDS)
    doc, built = build_document(HOSTILE_DOC, [C("hostile", HOSTILE_WORDS, "2025-03-01", topics=("hostile",),
                                               start=start)])
    claim, post = iri("claim", HOSTILE_CLAIM), URIRef(f"{doc}#post-0")
    g = Graph()  # the claim under its own IRI, as kb.rdf mints them, so that it has a claim page
    for triple in built:
        g.add(tuple(claim if term == URIRef(f"{doc}#claim-0") else term for term in triple))
    g.set((doc, KB.fileName, Literal(f"{SCRIPT}.txt")))
    g.add((doc, SCHEMA.text, Literal(HOSTILE_TEXT)))
    g.add((doc, DCTERMS.title, Literal(f"Title {SCRIPT}")))
    g.add((post, DCTERMS.title, Literal(IMG)))
    g.add((post, SCHEMA.keywords, Literal(SVG)))
    g.add((post, KB.forwardedFrom, Literal(SCRIPT)))
    for p, o in [(KB.cue, IMG), (KB.reportedBy, SCRIPT), (KB.dateEvidence, SVG)]:
        g.add((claim, p, Literal(o)))
    speaker = iri("speaker", "hostile")
    g.add((speaker, RDF.type, SCHEMA.Person))
    g.add((speaker, SCHEMA.name, Literal(f"Mr {SCRIPT}")))
    g.add((speaker, KB.unlinked, Literal(True)))
    extra = Graph()
    topic = iri("topic", "hostile")
    extra.add((topic, RDF.type, SKOS.Concept))
    extra.add((topic, SKOS.prefLabel, Literal(f"Topic {SCRIPT}", lang="en")))
    extra.add((topic, SKOS.definition, Literal(IMG, lang="en")))
    extra.add((topic, SKOS.altLabel, Literal(SVG, lang="en")))
    extra.add((topic, SKOS.inScheme, iri("topics", "")))
    extra.add((speaker, OWL.sameAs, URIRef(JS_IRI)))
    extra.add((speaker, KB.role, Literal(IMG)))
    extra.add((speaker, SKOS.altLabel, Literal(SVG)))
    return doc, g, extra


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory, ontology, new_store) -> Path:
    path = new_store("hostile")
    doc, g, extra = hostile_graphs()
    with open_store(path) as store:
        fill(store, ontology)
        store.set_ontology(ontology + extra)
        store.replace_document(doc, g)
    return path


@pytest.fixture(scope="module")
def app(store_dir):
    with app_with_pool({"KB_STORE": str(store_dir), "TESTING": True, "QUERY_WORKERS": 1, "QUERY_TIMEOUT": 20}) as app:
        yield app


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def body_of(response) -> str:
    text = response.get_data(as_text=True)
    response.close()
    return text


# ---------------------------------------------------------------- HTML and JavaScript in every text

class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "action") and value:
                self.hrefs.append(value)


SKIPPED = re.compile(r"\.(ttl|jsonld|nt|nq|trig|rdf|css|js)$|/claims\.|^/export\.|format=|^/sparql(\?|$)|^/sparql/ui\?example=")


@pytest.fixture(scope="module")
def crawled(client) -> dict[str, str]:
    """url -> HTML of each page reachable from the home page, the hostile speaker, document and topic,
    a search and the SPARQL page showing every triple."""
    start = ["/", "/speaker/hostile", "/topic/hostile", f"/document/{HOSTILE_DOC}", f"/claim/{HOSTILE_CLAIM}",
             f"/document/{HOSTILE_DOC}/post/0",
             "/search?q=alert", "/sparql/ui?" + urlencode({"query": "SELECT * WHERE { ?s ?p ?o }"})]
    seen, queue, pages = set(start), deque(start), {}
    while queue:
        url = queue.popleft()
        response = client.get(url, headers={"Accept": BROWSER})
        text = body_of(response)
        assert response.status_code < 500, url
        assert response.mimetype == "text/html", url
        pages[url] = text
        parser = Links()
        parser.feed(text)
        for href in parser.hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in seen and not SKIPPED.search(target) and len(seen) < 200:
                seen.add(target)
                queue.append(target)
    assert len(pages) > 30  # the crawl went everywhere: speakers, topics, claims, documents, posts
    return pages


def test_every_page_a_crawl_reaches_escapes_every_text(crawled):
    shown = set()
    for url, text in crawled.items():
        assert not MARKUP.search(text), (url, MARKUP.search(text).group(0))
        shown.update(p for p in ("&lt;script&gt;alert(1)", "&lt;img src=x", "&lt;svg onload") if p in text)
    assert shown == {"&lt;script&gt;alert(1)", "&lt;img src=x", "&lt;svg onload"}  # every payload was met


def test_no_page_links_a_javascript_iri(crawled):
    linked = [url for url, text in crawled.items() if JS_LINK.search(text)]
    assert linked == []


def test_a_non_http_iri_is_never_a_link(client):
    query = f'SELECT ?x WHERE {{ BIND(IRI("{JS_IRI}") AS ?x) }}'
    text = body_of(client.get("/sparql/ui", query_string={"query": query}))
    assert JS_IRI in text and not JS_LINK.search(text)


# ---------------------------------------------------------------- SPARQL syntax in every parameter

SPARQL_BREAKOUTS = ['"} UNION { ?s ?p ?o } #', "'} UNION { ?s ?p ?o } #", '> } UNION { ?s ?p ?o } #',
                    "sergey-lavrov> ?p ?o } #"]
JUNK = [*SPARQL_BREAKOUTS, SCRIPT, IMG, "%00", "\x00", "x" * 20_000, "-1", "0", "99999999999999999999999",
        "1e309", "NaN", "../../pyproject.toml", "\u202e\ud7ff", " "]
# every route of the UI with the query parameters its view reads (kb/web/*.py); the test below
# checks that this table names every parameter the code reads
LAVROV, NEW_START = "/speaker/sergey-lavrov", "/topic/new-start"
CLAIM = "/claim/{claim}"
ROUTES = {
    "/": ["format"],
    "/speakers": ["sort", "format"],
    "/topics": ["format"],
    LAVROV: ["topic", "from", "to", "page", "format"],
    NEW_START: ["from", "to", "page", "size", "format"],
    CLAIM: ["format"],
    "/document/001_lavrov.txt": ["format"],
    "/document/001_lavrov.txt/post/0": ["format"],
    "/search": ["q", "speaker", "topic", "year", "kind", "page", "format"],
    "/sparql/ui": ["query", "example", "load"],
    "/sparql": ["query", "format", "default-graph-uri", "named-graph-uri"],
}
PATHS = ["/speaker/{}", "/topic/{}", "/claim/{}", "/document/{}", "/document/001_lavrov.txt/post/{}",
         "/speaker/{}/claims.ttl", "/topic/{}/claims.nt", "/export.{}", "/topics.{}", "/{}"]


def test_the_table_names_every_parameter_the_views_read():
    read = set()
    for module in (ROOT / "kb" / "web").glob("*.py"):
        source = module.read_text(encoding="utf-8")
        read.update(re.findall(r"(?<![\w.])(?:request\.args|args|params|form)\.(?:get|getlist)\(\s*\"([\w-]+)\"",
                               source))
    read -= {"update", "using-graph-uri", "using-named-graph-uri"}  # updates: test_endpoint
    # names read in loops: the search facets and the speaker/topic filters
    from kb.web import explore, resource_pages
    read |= set(explore.FACETS) | set(resource_pages.FILTERS)
    assert read <= {p for params in ROUTES.values() for p in params}, read


@pytest.fixture(scope="module")
def claim_path(client) -> str:
    return f"/claim/{HOSTILE_CLAIM}"


def _check(response, url: str) -> str:
    text = body_of(response)
    assert response.status_code < 500, (url, text[:300])
    if response.mimetype == "text/html":
        assert not MARKUP.search(text), (url, MARKUP.search(text).group(0))
    return text


def _rows(client, url: str, **params) -> set | None:
    response = client.get(url, query_string={**params, "format": "json"})
    doc = response.get_json() if response.status_code == 200 else None
    response.close()
    return None if doc is None else {tuple(sorted(r.items())) for r in doc["rows"]}


@pytest.mark.parametrize("route, name", [(r, p) for r, params in ROUTES.items() for p in params])
def test_junk_in_every_parameter_is_bound_and_harmless(client, claim_path, route, name):
    url = route.replace(CLAIM, claim_path)
    unfiltered = _rows(client, url) if name not in ("format", "page") and not url.startswith(("/s", "/search")) \
        else None
    for junk in JUNK:
        response = client.get(url, query_string={name: junk}, headers={"Accept": BROWSER})
        _check(response, f"{url}?{name}={junk[:40]!r}")
        if unfiltered is not None:  # a filter only ever narrows the view
            rows = _rows(client, url, **{name: junk})
            assert rows is None or rows <= unfiltered, (url, name, junk[:40])


@pytest.mark.parametrize("pattern", PATHS)
def test_junk_in_every_path_segment(client, pattern):
    for junk in JUNK:
        url = pattern.format(quote(junk, safe=""))
        for accept in (BROWSER, "text/turtle", "application/json"):
            _check(client.get(url, headers={"Accept": accept}), url[:80])


# ---------------------------------------------------------------- path traversal

TRAVERSALS = [
    "/static/../../pyproject.toml", "/static/%2e%2e/%2e%2e/pyproject.toml", "/static/..%2f..%2fpyproject.toml",
    "/static/%2E%2E%2F%2E%2E%2Fpyproject.toml", "/static/....//....//pyproject.toml",
    "/static/..%5c..%5cpyproject.toml", "/static/%252e%252e/%252e%252e/pyproject.toml",
    "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/document/..%2f..%2fpyproject.toml",
    "/document/..%2f..", "/document/%2e%2e%2f%2e%2e%2fpyproject.toml", "/export.ttl/../",
    "/export.ttl/../../pyproject.toml", "/export.%2e%2e%2fpyproject.toml", "/speaker/..%2f..%2fpyproject.toml",
    "/speaker/sergey-lavrov/claims.ttl/../../../pyproject.toml", "/topics.ttl%2f..%2f..%2fpyproject.toml",
]


def _leaks(text: str) -> bool:
    return "[project]" in text or "root:x:0:0" in text


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_in_process(client, path):
    response = client.get(path)
    text = body_of(response)
    assert 300 <= response.status_code < 500, response.status_code
    assert not _leaks(text)
    if response.status_code < 400:  # a redirect (Flask merges slashes): to a path as harmless
        location = urlsplit(response.headers["Location"]).path
        assert location.startswith("/static/") and ".." not in location
        assert client.get(location).status_code == 404


# ---------------------------------------------------------------- errors: one shape per format

def test_405_at_the_endpoint_is_one_line_of_text(client):
    for method in ("PUT", "DELETE", "PATCH"):
        response = client.open("/sparql", method=method, data="x")
        text = body_of(response)
        assert response.status_code == 405
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert text.endswith("\n") and "\n" not in text.rstrip("\n") and "<" not in text
        assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST", "OPTIONS"}
        assert response.headers["Access-Control-Allow-Origin"] == "*"  # CORS as on every endpoint answer


def test_413_at_the_endpoint_is_one_line_of_text(app):
    client = app.test_client()
    response = client.post("/sparql", data="ASK {} #" + "x" * (app.config["MAX_CONTENT_LENGTH"] + 10),
                           content_type="application/sparql-query")
    text = body_of(response)
    assert response.status_code == 413 and response.mimetype == "text/plain"
    assert "\n" not in text.rstrip("\n")


def test_ui_errors_are_the_html_error_page(client):
    for method, url, status in [("DELETE", "/", 405), ("POST", "/speakers", 405), ("GET", "/no/such/page", 404),
                                ("GET", "/speakers?sort=evil", 400)]:
        response = client.open(url, method=method, headers={"Accept": BROWSER})
        text = body_of(response)
        assert response.status_code == status and response.mimetype == "text/html", url
        assert text.startswith("<!doctype html>") and "<h1>" in text


@pytest.mark.parametrize("method, url, status", [
    ("DELETE", "/?format=json", 405), ("GET", "/no/such/page?format=json", 404),
    ("GET", "/speakers?sort=evil&format=json", 400), ("GET", "/speaker/nobody?format=json", 404),
    ("GET", "/claim/0000?format=json", 404), ("GET", f"{LAVROV}?from=yesterday&format=json", 400),
])
def test_json_requests_get_a_json_error(client, method, url, status):
    for accept in (BROWSER, "application/json", None):
        response = client.open(url, method=method, headers={"Accept": accept} if accept else {})
        assert response.status_code == status, (url, accept)
        assert response.mimetype == "application/json", (url, accept)
        doc = response.get_json()
        response.close()
        assert set(doc) == {"ok", "status", "title", "error"}
        assert doc["ok"] is False and doc["status"] == status and doc["error"]


# ---------------------------------------------------------------- security headers

SECURITY = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}


def _has_security_headers(headers) -> None:
    for name, value in SECURITY.items():
        assert headers.get(name) == value, name
    assert headers.get("Referrer-Policy") in ("strict-origin-when-cross-origin", "no-referrer", "same-origin")
    csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'" and csp["object-src"] == "'none'" and csp["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("method, url, accept", [
    ("GET", "/", BROWSER), ("GET", "/?format=json", None), ("GET", "/speakers?format=csv", None),
    ("GET", LAVROV, BROWSER), ("GET", LAVROV, "text/turtle"), ("GET", "/static/kb.css", None),
    ("GET", "/no/such/page", BROWSER), ("GET", "/no/such/page", None), ("GET", "/speakers?sort=x", BROWSER),
    ("GET", "/sparql?query=ASK%7B%7D", None), ("GET", "/sparql?query=SELEC", None), ("GET", "/sparql", None),
    ("OPTIONS", "/sparql", None), ("PUT", "/sparql", None), ("DELETE", "/", BROWSER),
    ("GET", "/export.nt", None), ("GET", "/openapi.json", None), ("GET", "/sparql/ui", BROWSER),
    ("GET", "/search?q=x&format=json", None),
])
def test_security_headers_on_every_answer(client, method, url, accept):
    response = client.open(url, method=method, headers={"Accept": accept} if accept else {})
    body_of(response)
    _has_security_headers(response.headers)


INLINE = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>|<style[^>]*>|\sstyle=\"")


@pytest.mark.parametrize("url", [
    "/", "/speakers", LAVROV, NEW_START, "/topics", f"/claim/{HOSTILE_CLAIM}", "/document/001_lavrov.txt",
    "/document/001_lavrov.txt/post/0", "/sparql/ui", "/sparql/ui?query=ASK%7B%7D", "/no/such/page",
    "/search?q=the",
])
def test_pages_need_no_inline_script_or_style(client, url):
    """The CSP allows scripts and styles from this server only: a page that relies on an inline
    <script>, <style> or style attribute is broken in a browser that enforces it."""
    text = body_of(client.get(url, headers={"Accept": BROWSER}))
    assert [m.group(0)[:40] for m in INLINE.finditer(text)] == []


# ---------------------------------------------------------------- the real server: raw sockets

@pytest.fixture(scope="module")
def server(store_dir):
    with running_server(store_dir, "--query-timeout", str(TIMEOUT), "--workers", "2", "--max-rows", "1000",
                        "--query-memory", "256") as url:
        parts = urlsplit(url)
        yield parts.hostname, parts.port


def raw(server, data: bytes, read_timeout: float = 10, send_all: bool = True) -> bytes:
    """Send bytes as they are; what the server answered before it closed (b'' if nothing)."""
    with socket.create_connection(server, timeout=read_timeout) as sock:
        try:
            if send_all:
                sock.sendall(data)
            else:
                sock.send(data[:65536])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading it all
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and not send_all:
                    break
        except (ConnectionResetError, socket.timeout):
            pass
    return b"".join(chunks)


def status_of(answer: bytes) -> int | None:
    match = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    return int(match.group(1)) if match else None


def still_answers(server) -> None:
    url = f"http://{server[0]}:{server[1]}/sparql?" + urlencode({"query": "ASK { ?s ?p ?o }"})
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200 and b"true" in response.read()


def http(server, path: str, method: str = "GET", headers: dict | None = None, data: bytes | None = None):
    return fetch(f"http://{server[0]}:{server[1]}{path}", data=data, headers=headers, method=method)


def get_request(target: str, *headers: bytes) -> bytes:
    return b"\r\n".join([f"GET {target} HTTP/1.1".encode(), b"Host: 127.0.0.1", *headers,
                         b"Connection: close", b"", b""])


def post_request(body: bytes, *headers: bytes) -> bytes:
    return b"\r\n".join([b"POST /sparql HTTP/1.1", b"Host: 127.0.0.1", *headers, b"Connection: close",
                         b"", body])


MALFORMED = [
    ("a 100 KB header", get_request("/", b"X-Big: " + b"a" * 100_000), 431),
    ("10,000 small headers", get_request("/", *[f"X-H{i}: v".encode() for i in range(10_000)]), 431),
    ("a NUL in a header", get_request("/", b"X-Evil: a\x00b"), 400),
    ("a bare newline in a header", get_request("/", b"X-Evil: a\nb"), 400),
    ("a bare CR in a header", get_request("/", b"X-Evil: a\rb"), 400),
    ("a header without a colon", get_request("/", b"NoColonHere"), 400),
    ("a space before the colon", get_request("/", b"Host : 127.0.0.1"), 400),
    ("a NUL in the path", get_request("/speak\x00ers".replace("\x00", "%00")).replace(b"%00", b"\x00"), 404),
    ("a bad Content-Length", post_request(b"ASK {}", b"Content-Length: abc"), 400),
    ("a negative Content-Length", post_request(b"ASK {}", b"Content-Length: -5"), 400),
    ("a huge Content-Length", post_request(b"ASK {}", b"Content-Length: 99999999999999999999999999"), 413),
    ("two Content-Lengths", post_request(b"ASK {}", b"Content-Length: 6", b"Content-Length: 1"), 400),
    ("Content-Length and chunked", post_request(b"0\r\n\r\n", b"Content-Length: 6",
                                                b"Transfer-Encoding: chunked"), 415),
    ("a bad chunk", post_request(b"zz\r\nASK {}\r\n0\r\n\r\n", b"Transfer-Encoding: chunked"), 400),
    ("a bad Content-Type", post_request(b"ASK {}", b"Content-Length: 6", b"Content-Type: ;;;/\xff; charset="), 415),
    ("a bad Accept", get_request("/sparql?query=ASK%7B%7D", b"Accept: ;;;,,*/*;q=abc;level=\xff, text/html;q=-1"), 406),
    ("a bad Accept on a page", get_request("/", b"Accept: text/html;q=2e400, */*;q=nan"), 200),
    ("a bad request line", b"GET\r\n\r\n", 400),
    ("HTTP/9.9", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 200),
    ("a method of junk", b"G{}T / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
]


@pytest.mark.parametrize("name, request_bytes, expected", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_and_oversize_headers(server, name, request_bytes, expected):
    """waitress refuses what is malformed before the app sees it; what it lets through, the app
    answers; the server answers the next request either way."""
    answer = raw(server, request_bytes)
    assert status_of(answer) == expected, (name, answer[:300])
    still_answers(server)


@pytest.mark.parametrize("host", [f'evil">{SCRIPT}', "a b", "x:99999999999", "[::1", "evil.example", ""])
def test_a_hostile_host_header_is_never_echoed_as_markup(server, host):
    for path in ["/", "/sparql", "/openapi.json", "/no/such/page", "/sparql/ui?query=ASK%7B%7D"]:
        answer = raw(server, b"\r\n".join([f"GET {path} HTTP/1.1".encode(), b"Host: " + host.encode(),
                                            f"Accept: {BROWSER}".encode(), b"Connection: close", b"", b""]))
        status = status_of(answer)
        assert status is not None and status < 500, (path, answer[:200])
        assert not MARKUP.search(answer.decode("utf-8", errors="replace")), path


def test_a_body_announced_larger_than_the_limit_is_refused_unread(server):
    """A 10 MB query: 413 as soon as the headers are read: the answer comes while only the first
    64 KiB of the body have been sent, so the server never waited for (nor parsed) the rest."""
    body = b"ASK {} #" + b"x" * 10_000_000
    head = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    answer = raw(server, head + body, read_timeout=10, send_all=False)
    assert status_of(answer) == 413, answer[:200]
    form = b"query=" + body
    answer = raw(server, post_request(form, b"Content-Type: application/x-www-form-urlencoded",
                                      b"Content-Length: %d" % len(form)), send_all=False)
    assert status_of(answer) == 413, answer[:200]
    answer = raw(server, get_request("/sparql?query=" + "x" * 10_000_000))
    assert status_of(answer) in (None, 414, 431)
    still_answers(server)


def test_pages_answer_while_every_worker_runs_a_query_of_minutes(server):
    """Both query workers busy with a cross product: the pages and the service description, which
    need no worker, answer meanwhile; the queries are stopped at the time-out with 503."""
    results = []

    def run():
        results.append(http(server, "/sparql?" + urlencode({"query": EXPENSIVE}))[0])

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    for path in ["/", "/speakers", "/speaker/sergey-lavrov", "/sparql"]:
        assert http(server, path, headers={"Accept": BROWSER})[0] == 200
        assert results == [], path  # answered while the queries still ran
    for t in threads:
        t.join()
    assert results == [503, 503]
    still_answers(server)


def test_a_construct_of_millions_of_triples_is_capped(server):
    construct = "CONSTRUCT { ?a ?b ?f } WHERE { ?a ?b ?c . ?d ?e ?f }"  # (store size)^2 distinct triples
    status, headers, body = http(server, "/sparql?" + urlencode({"query": construct, "format": "nt"}))
    assert status == 200
    assert headers["KB-Results-Truncated"] == "max-rows=1000"
    assert len(body.splitlines()) == 1000
    status, headers, body = http(server, "/sparql?" + urlencode(
        {"query": "DESCRIBE ?a WHERE { ?a ?b ?c }", "format": "nt"}))
    assert status == 200 and headers["KB-Results-Truncated"] == "max-rows=1000"
    assert len(body.splitlines()) == 1000
    status, headers, body = http(server, "/sparql/ui?" + urlencode({"query": construct}))
    assert status == 200 and body.count(b"<tr>") <= 1001


@pytest.mark.embedded_only(reason="the memory cap of kb serve's query workers (a SPARQL server applies its own limits)")
def test_a_query_that_needs_gigabytes_is_stopped(server):
    """A string doubled twice, fourteen times over (10 * 4**14 characters): the worker hits its
    memory cap within a second or so, instead of the machine's memory running out."""
    binds = ['BIND("0123456789" AS ?v0)'] + [f"BIND(CONCAT(?v{i}, ?v{i}, ?v{i}, ?v{i}) AS ?v{i + 1})"
                                             for i in range(14)]
    query = f"SELECT (STRLEN(?v14) AS ?n) WHERE {{ {' '.join(binds)} }}"
    status, headers, body = http(server, "/sparql?" + urlencode({"query": query}))
    assert status == 503 and b"more memory than a query worker may use" in body
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    still_answers(server)


@pytest.mark.parametrize("path", TRAVERSALS + ["/static/../../../../../../etc/passwd", "/../../pyproject.toml",
                                               "/static/kb.css/../../../pyproject.toml"])
def test_path_traversal_against_the_real_server(server, path):
    answer = raw(server, get_request(path))
    status = status_of(answer)
    assert status is not None and status < 500
    assert not _leaks(answer.decode("latin-1"))


@pytest.mark.parametrize("path, accept", [("/", BROWSER), ("/speakers?format=json", None), ("/static/kb.css", None),
                                          ("/sparql?query=ASK%7B%7D", None), ("/no/such", None),
                                          ("/sparql?query=SELEC", None)])
def test_security_headers_from_the_real_server(server, path, accept):
    status, headers, _ = http(server, path, headers={"Accept": accept} if accept else {})
    assert status < 500
    _has_security_headers(headers)
    if path.startswith("/sparql"):
        assert headers["Access-Control-Allow-Origin"] == "*"
