"""The Linked Data pages: every IRI kb mints resolves, in every format, on a real store.

The store is filled once by ``kb.pipeline.ingest`` from seeds/ and from a
small article whose quote is a <script> tag; the app is ``kb.web.create_app``
on that store, driven by Flask's test client.
"""
from __future__ import annotations

import io
import json

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

from conftest import C, build_document, count_triples, iri
from kb import config, queries
from kb.pipeline import ingest
from kb.store import EmbeddedStore, from_ox, ontology_graph_iri, open_store
from kb.web import create_app

SCHEMA_AUTHOR = URIRef("https://schema.org/author")
SCHEMA_ABOUT = URIRef("https://schema.org/about")
SCHEMA_CLAIM = URIRef("https://schema.org/Claim")
KB_ASSIGNMENT = URIRef("https://w3id.org/kb/ns#topicAssignment")
SCRIPT = "<script>alert(1)</script>"
XSS_ARTICLE = f"date 2025-01-01 T\n\nPeskov said that {SCRIPT} is fine.\n"
RDF_FORMATS = {  # extension -> (media type, how to parse it back)
    "ttl": ("text/turtle", "turtle"),
    "nt": ("application/n-triples", "nt"),
    "rdf": ("application/rdf+xml", "xml"),
    "jsonld": ("application/ld+json", "jsonld"),
}
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def build_store(path, tmp_path_factory) -> None:
    extra = tmp_path_factory.mktemp("extra")
    (extra / "xss.txt").write_text(XSS_ARTICLE, encoding="utf-8")
    with open_store(path) as store:
        report = ingest([config.seeds_dir(), extra], store, progress=False)
    assert report.ok, report.failures


@pytest.fixture(scope="module")
def store_path(tmp_path_factory, new_store):
    path = new_store("ld")
    build_store(path, tmp_path_factory)
    return path


@pytest.fixture(scope="module")
def store(store_path):
    with open_store(store_path, read_only=True) as s:
        yield s


@pytest.fixture(scope="module")
def client(store_path):
    return create_app({"KB_STORE": str(store_path), "TESTING": True}).test_client()


def parse(body: bytes, how: str) -> Graph:
    if how == "jsonld":  # rdflib's JSON-LD parser warns; pyoxigraph's does not
        g = Graph()
        for t in ox.parse(body, format=ox.RdfFormat.JSON_LD):
            g.add((from_ox(t.subject), from_ox(t.predicate), from_ox(t.object)))
        return g
    return Graph().parse(data=body, format=how)


def own_triples(store: EmbeddedStore, iri: URIRef) -> set:
    """The triples with ``iri`` as subject, from every graph of the store."""
    out = set()
    for name in [*store.documents(), ontology_graph_iri()]:
        out |= set(store.graph(name).triples((iri, None, None)))
    return out


def a_claim(store: EmbeddedStore, document: str) -> URIRef:
    g = store.graph(config.base_iri() + "document/" + document)
    return next(iter(sorted(g.subjects(RDF.type, SCHEMA_CLAIM))))


# path -> how to find the resource's IRI
RESOURCES = {
    "claim": lambda s: a_claim(s, "xss.txt"),
    "speaker": lambda s: URIRef(config.base_iri() + "speaker/sergey-lavrov"),
    "topic": lambda s: URIRef(config.base_iri() + "topic/new-start"),
    "topics": lambda s: URIRef(config.base_iri() + "topics"),
    "post": lambda s: URIRef(config.base_iri() + "document/003_d593e9095c3398fa.txt/post/0"),
    "document": lambda s: URIRef(config.base_iri() + "document/003_d593e9095c3398fa.txt"),
}


def path_of(iri: URIRef) -> str:
    return "/" + iri[len(config.base_iri()):]


# ---------------------------------------------------------------- negotiation

@pytest.mark.parametrize("ext", RDF_FORMATS)
@pytest.mark.parametrize("kind", RESOURCES)
def test_each_resource_in_each_format_by_accept(client, store, kind, ext):
    iri = RESOURCES[kind](store)
    media_type, how = RDF_FORMATS[ext]
    response = client.get(path_of(iri), headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert "Accept" in response.vary
    graph = parse(response.data, how)
    expected = own_triples(store, iri)
    assert expected and expected <= set(graph)


@pytest.mark.parametrize("ext", RDF_FORMATS)
@pytest.mark.parametrize("kind", ["speaker", "document", "post", "topics"])
def test_extension_and_format_parameter_give_the_same_graph(client, store, kind, ext):
    iri = RESOURCES[kind](store)
    media_type, how = RDF_FORMATS[ext]
    by_ext = client.get(f"{path_of(iri)}.{ext}", headers={"Accept": "text/html"})
    by_param = client.get(f"{path_of(iri)}?format={ext}", headers={"Accept": "text/html"})
    by_accept = client.get(path_of(iri), headers={"Accept": media_type})
    assert by_ext.status_code == by_param.status_code == 200
    assert by_ext.mimetype == by_param.mimetype == media_type
    assert isomorphic(parse(by_ext.data, how), parse(by_accept.data, how))
    assert isomorphic(parse(by_param.data, how), parse(by_accept.data, how))


@pytest.mark.parametrize("kind", RESOURCES)
def test_each_resource_as_html(client, store, kind):
    iri = RESOURCES[kind](store)
    response = client.get(path_of(iri), headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert f"<code>{iri}</code>" in page
    assert '<link rel="alternate" type="text/turtle"' in page


def test_claim_rdf_has_its_topic_assignments(client, store):
    document = store.graph(config.base_iri() + "document/003_d593e9095c3398fa.txt")
    claim = sorted(document.subjects(SCHEMA_ABOUT, None))[0]
    graph = parse(client.get(path_of(claim) + ".ttl").data, "turtle")
    assignments = list(graph.objects(claim, KB_ASSIGNMENT))
    assert assignments and all(a.startswith(f"{claim}#topic-") for a in assignments)
    for a in assignments:
        assert own_triples(store, a) <= set(graph)


def test_speaker_lists_at_most_100_claims(client, store):
    iri = RESOURCES["speaker"](store)
    graph = parse(client.get(path_of(iri) + ".nt").data, "nt")
    linked = set(graph.subjects(SCHEMA_AUTHOR, iri))
    everything = parse(client.get(path_of(iri) + "/claims.nt").data, "nt")
    total = set(everything.subjects(SCHEMA_AUTHOR, iri))
    assert linked <= total
    assert len(linked) == min(100, len(total)) > 0


def test_a_busy_speaker_and_topic_list_100_of_their_claims(store_dir, ontology):
    """Past 100 claims, a speaker's and a topic's RDF (queries/describe.rq) name 100 of them, each one
    of theirs, with the resource's own triples; which hundred is the store's choice."""
    with open_store(store_dir) as s:
        s.set_ontology(ontology)
        for n in range(3):
            doc, g = build_document(f"busy-{n}.txt", [C("sergey-lavrov", f"Claim {n}-{i}", "2025-01-02",
                                                        topics=("new-start",)) for i in range(50)])
            s.replace_document(doc, g)
    client = create_app({"KB_STORE": str(store_dir), "TESTING": True}).test_client()
    for resource, predicate in ((iri("speaker", "sergey-lavrov"), SCHEMA_AUTHOR),
                                (iri("topic", "new-start"), SCHEMA_ABOUT)):
        response = client.get(path_of(resource) + ".nt")
        assert response.status_code == 200
        graph = parse(response.data, "nt")
        named = set(graph.subjects(predicate, resource))
        claims = set(parse(client.get(path_of(resource) + "/claims.nt").data, "nt").subjects(predicate, resource))
        assert len(claims) == 150 and len(named) == 100 and named <= claims
        own = set(ontology.predicate_objects(resource))
        assert own and set(graph.predicate_objects(resource)) >= own


@pytest.mark.parametrize("accept, expected", [
    (None, "text/turtle"),
    ("*/*", "text/turtle"),
    (BROWSER, "text/html"),
    ("text/html;q=0.5, text/turtle;q=0.9", "text/turtle"),
    ("application/ld+json, text/turtle;q=0.1", "application/ld+json"),
    ("application/json", "application/ld+json"),
    ("application/rdf+xml;q=1, text/html;q=0", "application/rdf+xml"),
    ("application/*", "application/ld+json"),
])
def test_q_values(client, accept, expected):
    response = client.get("/topic/new-start", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.mimetype == expected


@pytest.mark.parametrize("accept", ["image/png", "text/turtle;q=0, text/html;q=0, application/*;q=0"])
def test_nothing_acceptable_is_406(client, accept):
    response = client.get("/speaker/sergey-lavrov", headers={"Accept": accept})
    assert response.status_code == 406
    assert "text/turtle" in response.get_data(as_text=True)


def test_unknown_format_parameter_is_406(client):
    assert client.get("/speaker/sergey-lavrov?format=pdf").status_code == 406


def test_link_headers_name_the_other_formats(client):
    response = client.get("/speaker/sergey-lavrov", headers={"Accept": "text/turtle"})
    links = response.headers["Link"]
    for ext in ("html", "jsonld", "nt", "rdf"):
        assert f"</speaker/sergey-lavrov.{ext}>; rel=\"alternate\"" in links
    assert ".ttl>" not in links
    assert response.headers["Content-Location"] == "/speaker/sergey-lavrov.ttl"
    for url in [part.split(">")[0].lstrip(" <") for part in links.split(",")]:
        assert client.get(url).status_code == 200


# ---------------------------------------------------------------- HTML

def test_claim_page_escapes_the_quote(client, store):
    claim = RESOURCES["claim"](store)
    page = client.get(path_of(claim), headers={"Accept": BROWSER}).get_data(as_text=True)
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    doc = client.get("/document/xss.txt", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert SCRIPT not in doc
    assert "&lt;script&gt;alert(1)&lt;/script&gt; is fine</a>" in doc  # the claim, labelled by its words


def test_document_text_is_shown_once_with_its_claims_marked(client):
    page = client.get("/document/004_f767a744d13e2798.txt", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert page.count('<div class="source">') == 1
    assert '<mark title="' in page and 'href="/claim/' in page


def test_html_links_point_at_local_pages(client):
    page = client.get("/speaker/sergey-lavrov", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert 'href="/speaker/russian-mfa"' in page
    assert 'href="/claim/' in page
    assert 'href="/speaker/sergey-lavrov/claims.ttl"' in page


# ---------------------------------------------------------------- 404

@pytest.mark.parametrize("path", [
    "/claim/0000000000000000", "/speaker/nobody", "/speaker/nobody.ttl", "/topic/nothing",
    "/document/missing.txt", "/document/003_d593e9095c3398fa.txt/post/999",
    "/document/..%2F..%2Fpyproject.toml", "/document/%2E%2E", "/document/..", "/speaker/..%2Fpyproject.toml",
    "/speaker/nobody/claims.ttl", "/topic/new-start/claims.pdf", "/export.pdf",
])
def test_unknown_iris_are_404(client, path):
    plain = client.get(path, headers={"Accept": "text/turtle"})
    assert plain.status_code == 404
    html = client.get(path, headers={"Accept": BROWSER})
    assert html.status_code == 404
    if path.startswith(("/claim/", "/speaker/nobody", "/topic/nothing", "/document/missing")):
        assert plain.mimetype == "text/plain" and html.mimetype == "text/html"


# ---------------------------------------------------------------- exports

def distinct_triples(store) -> int:
    result = store.query("SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }")
    return int(result.rows[0][0])


@pytest.mark.parametrize("ext, fmt, quads", [
    ("ttl", ox.RdfFormat.TURTLE, False),
    ("nt", ox.RdfFormat.N_TRIPLES, False),
    ("nq", ox.RdfFormat.N_QUADS, True),
    ("trig", ox.RdfFormat.TRIG, True),
    ("jsonld", ox.RdfFormat.JSON_LD, True),
])
def test_export_parses_back_to_the_whole_store(client, store, ext, fmt, quads):
    response = client.get(f"/export.{ext}")
    assert response.status_code == 200
    assert response.is_streamed
    body = response.data
    assert len(body) == response.content_length
    parsed = list(ox.parse(body, format=fmt))
    if quads:
        assert len(set(parsed)) == count_triples(store)
    else:
        assert len(set(parsed)) == distinct_triples(store)
    if ext == "ttl":
        assert len(Graph().parse(data=body, format="turtle")) == distinct_triples(store)


@pytest.mark.parametrize("kind, key, option", [("speaker", "sergey-lavrov", "speaker"),
                                               ("topic", "new-start", "topic")])
@pytest.mark.parametrize("ext", RDF_FORMATS)
def test_claims_exports_are_what_kb_export_writes(client, store, kind, key, option, ext):
    response = client.get(f"/{kind}/{key}/claims.{ext}")
    assert response.status_code == 200
    assert response.mimetype == RDF_FORMATS[ext][0]
    out = io.BytesIO()
    queries.export(store, out, "nt", **{option: key})
    expected = Graph().parse(data=out.getvalue(), format="nt")
    assert len(expected) > 0
    assert isomorphic(parse(response.data, RDF_FORMATS[ext][1]), expected)


# ---------------------------------------------------------------- another base

def test_a_changed_base_still_resolves(tmp_path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("KB_BASE", "http://other.test/kb")
    build_store(tmp_path / "store", tmp_path_factory)
    client = create_app({"KB_STORE": str(tmp_path / "store"), "TESTING": True}).test_client()
    with EmbeddedStore.open(tmp_path / "store", read_only=True) as store:
        claim = a_claim(store, "xss.txt")
    assert claim.startswith("http://other.test/kb/claim/")
    response = client.get("/" + claim[len("http://other.test/kb/"):], headers={"Accept": "application/ld+json"})
    assert response.status_code == 200
    graph = parse(response.data, "jsonld")
    assert (claim, SCHEMA_AUTHOR, URIRef("http://other.test/kb/speaker/dmitry-peskov")) in graph
    page = client.get("/speaker/dmitry-peskov", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert 'href="/claim/' in page and "<code>http://other.test/kb/speaker/dmitry-peskov</code>" in page
    assert json.loads(client.get("/topics.jsonld").data)


def test_export_is_sent_in_chunks(client):
    response = client.get("/export.nt")
    try:
        sizes = [len(block) for block in response.response]
    finally:
        response.close()
    assert len(sizes) > 1 and max(sizes) <= 64 * 1024
    assert sum(sizes) == response.content_length
