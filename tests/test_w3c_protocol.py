"""The W3C SPARQL 1.1 Protocol tests (protocol/manifest.ttl), run against a real ``kb serve``.

The test data is the W3C's, kept beside the repository in
shared/w3c-sparql-protocol (see its README); the tests are skipped when it
is absent.  data1.nt … data3.nt are loaded with ``kb.pipeline.load`` into
the named graphs the manifest names (each ``ut:graphData``'s ``rdfs:label``).
Every request of a test is sent as the manifest writes it (method, path
under /sparql, headers, body in its character encoding) and its answer
checked: the status class, and for ``mf:expectedFormat`` the media type and
a body that parses (with ``mf:expectedBoolean``, the boolean it holds).
The server runs with updates allowed (``--allow-update``), and every update
request carries the token, so the update-side tests apply too; none is
skipped when the test data is present.
"""
from __future__ import annotations

import http.client
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest
from rdflib import Graph, Namespace
from rdflib.collection import Collection
from rdflib.namespace import RDFS

from kb.pipeline import load
from kb.store import EmbeddedStore
from live_server import running_server

SUITE = Path(__file__).resolve().parents[2] / "shared" / "w3c-sparql-protocol" / "protocol"
MANIFEST = SUITE / "manifest.ttl"

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"
TOKEN = "w3c-protocol-tests"  # the update token of the server under test

TABULAR = {"application/sparql-results+json", "application/sparql-results+xml", "text/csv",
           "text/tab-separated-values"}
BOOLEAN = {"application/sparql-results+json", "application/sparql-results+xml"}
RDF_TYPES = {"text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json",
             "application/trig"}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: set[int]  # the acceptable status classes: 2, 3, 4, 5
    format: str | None
    boolean: bool | None

    @property
    def is_update(self) -> bool:
        kind = self.headers.get("content-type", "")
        text = (self.body or b"").decode("utf-8", errors="replace")
        return (kind.startswith("application/sparql-update") or text.startswith("update=")
                or "update=" in self.path or "using-" in self.path)


@dataclass
class ProtocolTest:
    name: str
    title: str
    graphs: dict[str, Path]  # graph IRI -> data file
    requests: list[Request]

    def not_applicable(self) -> str | None:
        """Every test applies to a server started with updates allowed."""
        return None


def _request(m: Graph, node) -> Request:
    headers = {}
    headers_list = m.value(node, HT.headers)
    if headers_list is not None:
        for h in Collection(m, headers_list):
            headers[str(m.value(h, HT.fieldName)).lower()] = str(m.value(h, HT.fieldValue))
    body = None
    body_node = m.value(node, HT.body)
    if body_node is not None:
        encoding = str(m.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(m.value(body_node, CNT.chars)).encode(encoding.lower())
    resp = m.value(node, HT.resp)
    statuses = {int(str(s)[-3]) for s in m.objects(resp, MF.expectedStatus)}
    boolean = m.value(resp, MF.expectedBoolean)
    fmt = m.value(resp, MF.expectedFormat)
    path = str(m.value(node, HT.absolutePath))
    return Request(str(m.value(node, HT.methodName)), path.replace("/sparql/", "/sparql", 1),
                   headers, body, statuses, str(fmt) if fmt is not None else None,
                   None if boolean is None else boolean.toPython())


def protocol_tests() -> list[ProtocolTest]:
    m = Graph()
    m.parse(MANIFEST, format="turtle")
    manifest = next(m.subjects(MF.entries, None))
    out = []
    for entry in Collection(m, m.value(manifest, MF.entries)):
        graphs = {str(m.value(d, RDFS.label)): Path(urlsplit(str(m.value(d, UT.graph))).path)
                  for d in m.objects(entry, UT.graphData)}
        action = m.value(entry, MF.action)
        requests = [_request(m, r) for r in Collection(m, m.value(action, HT.requests))]
        name = str(entry).rsplit("#", 1)[-1]
        out.append(ProtocolTest(name, str(m.value(entry, MF.name)), graphs, requests))
    return out


TESTS = protocol_tests() if MANIFEST.is_file() else []
PARAMS = [pytest.param(t, id=t.name) for t in TESTS] or [
    pytest.param(None, id="manifest", marks=pytest.mark.skip(
        reason=f"the W3C protocol tests are not beside the repository ({MANIFEST.relative_to(MANIFEST.parents[3])})"))]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    store_dir = tmp_path_factory.mktemp("w3c") / "store"
    graphs = {iri: SUITE / path.name for t in TESTS for iri, path in t.graphs.items()}
    with EmbeddedStore.open(store_dir) as store:
        for iri, path in sorted(graphs.items()):
            load(path, store, iri)
    with running_server(store_dir, "--query-timeout", "10", "--allow-update",
                        env={"KB_UPDATE_TOKEN": TOKEN}) as url:
        yield urlsplit(url)


def _send(endpoint, request: Request):
    conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=30)
    try:
        conn.putrequest(request.method, request.path)
        headers = dict(request.headers)
        if request.is_update:
            headers["authorization"] = f"Bearer {TOKEN}"
        if request.body is not None:
            headers["content-length"] = str(len(request.body))
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(request.body)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def _boolean(media_type: str, body: bytes) -> bool:
    if media_type == "application/sparql-results+json":
        return json.loads(body)["boolean"]
    return ET.fromstring(body).find(f"{RESULTS_NS}boolean").text.strip() == "true"


def _check_body(request: Request, media_type: str, body: bytes) -> None:
    if request.format == "boolean":
        assert media_type in BOOLEAN
        value = _boolean(media_type, body)
        if request.boolean is not None:
            assert value is request.boolean
    elif request.format == "tabular":
        assert media_type in TABULAR
        if media_type == "application/sparql-results+json":
            assert "bindings" in json.loads(body)["results"]
        elif media_type == "application/sparql-results+xml":
            assert ET.fromstring(body).find(f"{RESULTS_NS}results") is not None
        else:
            assert body.decode("utf-8").splitlines()
    elif request.format == "RDF":
        assert media_type in RDF_TYPES
        for _ in ox.parse(body, format=ox.RdfFormat.from_media_type(media_type)):
            pass  # a syntax error raises


@pytest.mark.parametrize("test", PARAMS)
def test_protocol(test: ProtocolTest, endpoint):
    reason = test.not_applicable()
    if reason:
        pytest.skip(f"{test.name}: {reason}")
    for request in test.requests:
        status, content_type, body = _send(endpoint, request)
        assert status // 100 in request.statuses, f"{test.title}: {status} {body[:300]!r}"
        if request.format:
            media_type = content_type.split(";")[0].strip()
            assert "charset=utf-8" in content_type.lower()
            _check_body(request, media_type, body)
