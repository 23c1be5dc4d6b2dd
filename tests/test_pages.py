"""The browsing pages (kb/web/pages.py, resource_pages.py) on a real store.

The store is filled once by ``kb.pipeline.ingest`` from seeds/ and a small
article whose quote holds a <script> tag; the app is ``kb.web.create_app``
on it, driven by Flask's test client.  Every page in every format, the
escaping of document text, hostile filter values, the 404s, the speaker
filters and the completeness of the exports.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, VOID

from conftest import set_index_complete
from kb import config
from kb.pipeline import ingest
from kb.store import EmbeddedStore, open_store
from kb.web import create_app

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
XSS_ARTICLE = f"date 2025-01-01 T\n\nPeskov said that {SCRIPT} is fine.\n"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SCHEMA_ABOUT = URIRef("https://schema.org/about")
SCHEMA_CLAIM = URIRef("https://schema.org/Claim")
KB = Namespace("https://w3id.org/kb/ns#")
LAVROV = "/speaker/sergey-lavrov"
UN_REFORM = config.base_iri() + "topic/un-reform"

LIST_PAGES = ["/", "/speakers", "/speakers?sort=count", "/topics", LAVROV, f"{LAVROV}?topic=un-reform",
              f"{LAVROV}?from=2025-01-01&to=2025-06-30", "/topic/un-reform", "/topic/new-start?from=2025-01",
              "/document/003_d593e9095c3398fa.txt", "/document/xss.txt"]


@pytest.fixture(scope="module")
def client(tmp_path_factory, new_store):
    path = new_store("pages")
    extra = tmp_path_factory.mktemp("extra")
    (extra / "xss.txt").write_text(XSS_ARTICLE, encoding="utf-8")
    with open_store(path) as store:
        report = ingest([config.seeds_dir(), extra], store, progress=False)
    assert report.ok, report.failures
    return create_app({"KB_STORE": str(path), "TESTING": True}).test_client()


def html(client, url: str, status: int = 200) -> str:
    response = client.get(url, headers={"Accept": BROWSER})
    assert response.status_code == status, url
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def with_format(url: str, fmt: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}format={fmt}"


def data(client, url: str, fmt: str):
    response = client.get(with_format(url, fmt), headers={"Accept": BROWSER})
    assert response.status_code == 200, (url, fmt)
    body = response.get_data(as_text=True)
    if fmt == "json":
        assert response.mimetype == "application/json"
        return json.loads(body)
    if fmt == "csv":
        assert response.mimetype == "text/csv"
        return list(csv.DictReader(io.StringIO(body)))
    assert response.mimetype == "text/turtle"
    return Graph().parse(data=body, format="turtle")


def claim_urls(page: str) -> list[str]:
    return sorted(set(re.findall(r'href="(/claim/[0-9a-f]+)"', page)))


def xss_claim(client) -> str:
    page = html(client, "/document/xss.txt")
    (url,) = claim_urls(page)
    return url


# ---------------------------------------------------------------- every page, every format

@pytest.mark.parametrize("url", LIST_PAGES)
def test_each_page_is_a_whole_html_page(client, url):
    page = html(client, url)
    assert page.startswith("<!doctype html>")
    assert re.search(r"<title>[^<]+ · kb</title>", page)
    assert page.count("<h1>") == 1
    assert '<main id="content">' in page and 'href="/static/kb.css"' in page
    for fmt in ("json", "csv", "ttl"):
        assert re.search(rf'<a href="[^"]*(?:[?;]format={fmt}|\.{fmt})"', page), fmt


@pytest.mark.parametrize("fmt", ["json", "csv", "ttl"])
@pytest.mark.parametrize("url", LIST_PAGES)
def test_each_page_in_each_format(client, url, fmt):
    answer = data(client, url, fmt)
    if fmt == "json":
        assert isinstance(answer["rows"], list) and answer["columns"]
    elif fmt == "csv":
        assert answer == [] or list(answer[0])
    else:
        assert isinstance(answer, Graph)


def test_csv_has_a_header(client):
    body = client.get("/speakers?format=csv").get_data(as_text=True)
    assert body.splitlines()[0].startswith("speaker,name,claims")


def test_claim_page_and_its_formats(client):
    url = xss_claim(client)
    page = html(client, url)
    for link in ('href="/speaker/dmitry-peskov"', 'href="/document/xss.txt"', f'href="{url}.ttl"'):
        assert link in page
    (row,) = data(client, url, "json")["rows"]
    assert row["words"] == f"{SCRIPT} is fine"
    assert data(client, url, "csv")[0]["words"] == f"{SCRIPT} is fine"
    graph = Graph().parse(data=client.get(f"{url}.ttl").data, format="turtle")
    assert (None, None, SCHEMA_CLAIM) in graph


def test_static_stylesheet_is_served(client):
    response = client.get("/static/kb.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    response.close()


# ---------------------------------------------------------------- escaping and hostile input

def test_script_is_escaped_on_claim_and_document_pages(client):
    claim = html(client, xss_claim(client))
    assert SCRIPT not in claim
    assert f"<mark>{ESCAPED} is fine</mark>" in claim
    document = html(client, "/document/xss.txt")
    assert SCRIPT not in document
    assert f"{ESCAPED} is fine</a></mark>" in document


@pytest.mark.parametrize("url", [
    f'{LAVROV}?topic="}} UNION {{', f'{LAVROV}?from="}} UNION {{', f'{LAVROV}?to=2025-13-45',
    f"{LAVROV}?page=-5", f"{LAVROV}?page=99999999999999999999", '/topic/un-reform?from=x"> <script>',
    "/speakers?sort=evil", '/?q="} UNION {', f'{LAVROV}?topic=<script>&format=json',
])
def test_hostile_filters_give_a_normal_page_or_400(client, url):
    response = client.get(url, headers={"Accept": BROWSER})
    assert response.status_code in (200, 400)
    assert SCRIPT not in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/claim/0000000000000000", "/speaker/nobody", "/topic/nothing",
                                 "/document/missing.txt", "/speaker/nobody?format=json", "/no/such/page"])
def test_unknown_iris_are_404(client, url):
    response = client.get(url, headers={"Accept": BROWSER})
    assert response.status_code == 404
    if "format" not in url:
        assert "<h1>Not found</h1>" in response.get_data(as_text=True)


# ---------------------------------------------------------------- the speaker page

def test_lavrov_on_un_reform_shows_only_un_reform_claims(client):
    page = html(client, f"{LAVROV}?topic=un-reform")
    urls = claim_urls(page)
    assert urls
    for url in urls:
        graph = Graph().parse(data=client.get(f"{url}.ttl").data, format="turtle")
        assert (URIRef(config.base_iri() + url[1:]), SCHEMA_ABOUT, URIRef(UN_REFORM)) in graph
    rows = data(client, f"{LAVROV}?topic=un-reform", "json")["rows"]
    assert rows and all(UN_REFORM in r["topics"].split() for r in rows)
    assert len(rows) == len(urls)


def test_speaker_page_has_chart_table_and_wikidata(client):
    page = html(client, LAVROV)
    assert "<svg" in page and '<table class="timeline">' in page
    assert 'href="http://www.wikidata.org/entity/Q58217"' in page


def test_speaker_claims_are_newest_first_and_paged(client):
    first = data(client, LAVROV, "json")["rows"]
    dates = [r["date"] for r in first if r["date"]]
    assert dates == sorted(dates, reverse=True)
    page1, page2 = html(client, LAVROV), html(client, f"{LAVROV}?page=2")
    assert 'rel="next"' in page1 and 'rel="prev"' in page2
    assert not set(claim_urls(page1)) & set(claim_urls(page2))


def test_export_of_a_filtered_view_has_all_its_rows(client):
    url = f"{LAVROV}?from=2024-01-01"
    rows = data(client, url, "json")["rows"]
    assert len(rows) > 25  # more than one page
    assert all(r["date"] >= "2024" for r in rows)
    assert len(data(client, url, "csv")) == len(rows)
    graph = data(client, url, "ttl")
    assert len(set(graph.subjects(URIRef("https://schema.org/text"), None))) == len(rows)
    shown = set()
    for n in range(1, 10):
        shown |= set(claim_urls(html(client, f"{url}&page={n}")))
    assert len(shown) == len(rows)


def test_date_filter_keeps_the_range(client):
    rows = data(client, f"{LAVROV}?from=2025-01-01&to=2025-06-30", "json")["rows"]
    assert rows and all("2025-01" <= r["date"][:7] <= "2025-06" for r in rows)


def test_unlinked_speakers_say_so(client):
    rows = data(client, "/speakers", "json")["rows"]
    unlinked = [r for r in rows if r["unlinked"]]
    if not unlinked:
        pytest.skip("no unlinked speaker in the seeds")
    page = html(client, "/speaker/" + unlinked[0]["speaker"].rsplit("/", 1)[-1])
    assert "unlinked" in page


# ---------------------------------------------------------------- lists

def test_speakers_sort_by_count_and_name(client):
    by_count = data(client, "/speakers?sort=count", "json")["rows"]
    counts = [int(r["claims"]) for r in by_count]
    assert counts == sorted(counts, reverse=True)
    by_name = [(r["name"] or r["speaker"]).lower() for r in data(client, "/speakers", "json")["rows"]]
    assert by_name == sorted(by_name)


def test_home_has_counts_topics_latest_and_search(client):
    page = html(client, "/")
    assert '<form action="/search" method="get"' in page and 'name="q"' in page
    assert 'href="/topic/un-reform"' in page
    assert len(claim_urls(page)) >= 5


def test_topics_page_lists_every_topic_with_definition(client):
    rows = data(client, "/topics", "json")["rows"]
    assert any(r["topic"] == UN_REFORM and r["definition"] for r in rows)
    page = html(client, "/topics")
    assert 'href="/topic/un-reform"' in page


def test_topic_page_has_speakers_chart_and_claims(client):
    page = html(client, "/topic/un-reform")
    assert "<svg" in page and 'href="/speaker/sergey-lavrov"' in page
    rows = data(client, "/topic/un-reform", "json")["rows"]
    assert len(claim_urls(page)) == len({r["claim"] for r in rows})


# ---------------------------------------------------------------- the chart

def test_timeline_fills_gaps_and_escapes_labels():
    from kb.web.charts import timeline

    chart = timeline([("2024-11", "<b>x</b>", 2), ("2025-02-14", "y", 1), ("2025", "z", 5)])
    assert chart.months == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert chart.table() == [("2024-11", [2, 0], 2), ("2025-02", [0, 1], 1)]
    svg = str(chart.svg("<title>"))
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg and svg.count("<rect") == 2
    assert str(timeline([]).svg()) == ""


def test_chart_legend_colours_are_the_stylesheet_classes():
    from kb.web.charts import COLOURS

    css = (config.PROJECT_DIR / "kb" / "web" / "static" / "kb.css").read_text(encoding="utf-8")
    found = dict(re.findall(r"\.swatch\.series-(\d+) \{ color: (#[0-9a-f]{6}); \}", css))
    assert found == {str(n): c for n, c in enumerate(COLOURS)}


# ---------------------------------------------------------------- the topic page, paged in SPARQL

def side_by_side(page: str) -> list[str]:
    """The claim links of the side-by-side part of a topic page, in page order."""
    part = page.split('<div class="side-by-side">', 1)[1].split("</div>", 1)[0]
    return re.findall(r'href="(/claim/[0-9a-f]+)"', part)


def test_topic_pages_together_are_the_export(client):
    url = "/topic/un-reform"
    rows = data(client, url, "json")["rows"]
    everything = [r["claim"].removeprefix(config.base_iri().rstrip("/")) for r in rows]
    assert len(everything) == len(set(everything)) >= 4  # one row per claim
    page1 = html(client, f"{url}?size=3")
    page2 = html(client, f"{url}?size=3&page=2")
    first, second = side_by_side(page1), side_by_side(page2)
    assert len(first) == 3 and second and not set(first) & set(second)
    assert sorted(first + second) == sorted(everything)
    assert 'rel="next"' in page1 and 'rel="prev"' in page2
    assert html(client, f"{url}?size=3&page=9").count('href="/claim/') == 0


def test_topic_pager_keeps_the_filters_and_clamps_the_size(client):
    url = "/topic/un-reform?from=2024-01-01&size=2"
    rows = data(client, url, "json")["rows"]
    assert len(rows) > 2 and all(r["date"] >= "2024" for r in rows)
    page = html(client, url)
    (next_url,) = re.findall(r'<a href="([^"]+)" rel="next"', page)
    args = parse_qs(urlsplit(next_url.replace("&amp;", "&")).query)
    assert args == {"from": ["2024-01-01"], "size": ["2"], "page": ["2"]}
    # the data links give the whole filtered view, not a page of it
    for fmt in ("json", "csv", "ttl"):
        (link,) = re.findall(rf'<a href="([^"]*format={fmt}[^"]*)"', page)
        assert "page=" not in link and "size=" not in link and "from=2024-01-01" in link
    assert len(side_by_side(html(client, "/topic/un-reform?size=0"))) == 1
    assert len(side_by_side(html(client, "/topic/un-reform?size=99999"))) == len(
        data(client, "/topic/un-reform", "json")["rows"])


def test_topic_counts_are_those_of_its_claims(client):
    url = "/topic/new-start"
    rows = data(client, url, "json")["rows"]
    page = html(client, url)
    per_speaker = Counter(r["speaker"] for r in rows)
    listed = page.split('<ul class="speakers">', 1)[1].split("</ul>", 1)[0]
    shown = {href: int(n) for href, n in re.findall(r'<a href="(/speaker/[^"?]+)\?topic=new-start">(\d+) claims?</a>', listed)}
    assert shown == {r.removeprefix(config.base_iri().rstrip("/")): n for r, n in per_speaker.items()}
    months = Counter(r["date"][:7] for r in rows if len(r["date"]) >= 7)
    table = page.split('<table class="timeline">', 1)[1].split("</table>", 1)[0]
    totals = dict(re.findall(r"<tr><td>(\d{4}-\d{2})</td>.*?<td class=\"num\">(\d+)</td></tr>", table))
    assert {m: int(n) for m, n in totals.items()} == dict(months)
    assert f"of {len(rows)}, oldest first" in page


def test_topic_chart_shows_the_busiest_speakers_and_sums_the_others(client):
    from kb.web.resource_pages import CHART_SERIES, OTHERS, speaker_chart

    page = html(client, "/topic/brics-sco")
    legend = re.findall(r'<span class="swatch series-\d+" aria-hidden="true">■</span> ([^<]+)</th>', page)
    names = {r["speakerName"] for r in data(client, "/topic/brics-sco", "json")["rows"]}
    assert legend and set(legend) <= names | {OTHERS} and len(legend) <= CHART_SERIES + 1
    speakers = [{"speaker": f"s{n}", "name": f"S{n}"} for n in range(4)]  # most claims first
    months = [{"month": "2025-01", "speaker": f"s{n}", "claims": str(n + 1)} for n in range(4)]
    chart = speaker_chart(months, speakers, keep=2)
    assert chart.table() == [("2025-01", [7, 2, 1], 10)] and chart.series == [OTHERS, "S1", "S0"]


def test_speaker_chart_shows_the_busiest_topics_and_sums_the_others(client):
    from kb.web.resource_pages import CHART_SERIES, OTHERS, topic_chart

    page = html(client, LAVROV)
    legend = re.findall(r'<span class="swatch series-\d+" aria-hidden="true">■</span> ([^<]+)</th>', page)
    assert legend and len(legend) <= CHART_SERIES + 1
    months = [("2025-01", f"T{n}", n + 1) for n in range(4)] + [("2025-02", "T0", 5)]
    chart = topic_chart(months, keep=2)  # T0 has 6 claims, T3 4, T2 3, T1 2
    assert chart.series == ["T0", OTHERS, "T3"] and chart.table() == [
        ("2025-01", [1, 5, 4], 10), ("2025-02", [5, 0, 0], 5)]
    assert topic_chart(months, keep=3).series == ["T0", "T3", "T2", "T1"]  # one left over keeps its name


# ---------------------------------------------------------------- counts in the lists' Turtle

def claim_counts(graph: Graph) -> dict[str, int]:
    counts = {}
    for s, o in graph.subject_objects(KB.claimCount):
        assert isinstance(o, Literal) and o.datatype == URIRef("http://www.w3.org/2001/XMLSchema#integer")
        counts[str(s)] = int(o)
    return counts


@pytest.mark.parametrize("url, key", [("/speakers", "speaker"), ("/speakers?sort=count", "speaker"),
                                      ("/topics", "topic")])
def test_list_turtle_has_the_counts_of_the_json(client, url, key):
    rows = data(client, url, "json")["rows"]
    assert claim_counts(data(client, url, "ttl")) == {r[key]: int(r["claims"]) for r in rows}
    assert any(int(r["claims"]) > 0 for r in rows)


def test_home_turtle_has_topic_counts_and_totals(client):
    graph = data(client, "/", "ttl")
    assert claim_counts(graph) == {r["topic"]: int(r["claims"]) for r in data(client, "/topics", "json")["rows"]}
    totals = {r["what"]: r["value"] for r in data(client, "/", "json")["rows"]}
    (dataset,) = graph.subjects(RDF.type, VOID.Dataset)
    assert str(dataset) == config.base_iri()
    by_class = {graph.value(p, VOID["class"]): int(graph.value(p, VOID.entities))
                for p in graph.objects(dataset, VOID.classPartition)}
    assert by_class == {SCHEMA_CLAIM: int(totals["claims"]), KB.Document: int(totals["documents"]),
                        KB.Post: int(totals["posts"])}
    by_property = {graph.value(p, VOID.property): int(graph.value(p, VOID.distinctObjects))
                   for p in graph.objects(dataset, VOID.propertyPartition)}
    assert by_property == {URIRef("https://schema.org/author"): int(totals["speakers"]),
                           SCHEMA_ABOUT: int(totals["topics"])}
    assert str(graph.value(dataset, URIRef("https://schema.org/temporalCoverage"))) == \
        f"{totals['first']}/{totals['last']}"


def test_claim_count_is_a_term_of_the_vocabulary():
    vocabulary = Graph().parse(config.ontology_dir() / "kb.ttl", format="turtle")
    assert vocabulary.value(KB.claimCount, RDFS.label) and vocabulary.value(KB.claimCount, RDFS.comment)


# ---------------------------------------------------------------- no inline script or style (CSP script-src 'self')

class InlineCode(HTMLParser):
    """Collects what a Content-Security-Policy without 'unsafe-inline' would block."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            if not attrs.get("src"):
                self.found.append("inline <script>")
            self.scripts.append(attrs.get("src") or "")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs.items():
            if name == "style":
                self.found.append(f"style attribute on <{tag}>")
            if name.startswith("on"):
                self.found.append(f"{name} handler on <{tag}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}>")


def inline_code(page: str) -> InlineCode:
    parser = InlineCode()
    parser.feed(page)
    parser.close()
    return parser


def post_url(client) -> str:
    """The generic page of a resource (resource.html): the post the <script> claim appears in."""
    claim = xss_claim(client)
    graph = Graph().parse(data=client.get(f"{claim}.ttl").data, format="turtle")
    (post,) = graph.objects(None, URIRef("https://schema.org/appearance"))
    return "/" + str(post).removeprefix(config.base_iri())


def test_no_page_has_inline_script_or_style(client):
    urls = LIST_PAGES + ["/topic/un-reform?size=2&page=2", xss_claim(client), "/sparql/ui",
                         "/sparql/ui?example=speakers", "/sparql/ui?query=SELECT%20%3Fs%20WHERE%20%7B%20%3Fs%20%3Fp",
                         post_url(client), "/speakers?sort=evil", "/claim/0000000000000000", "/search",
                         "/search?q=reform&speaker=sergey-lavrov"]
    for url in urls:
        response = client.get(url, headers={"Accept": BROWSER})
        assert response.mimetype == "text/html", url
        found = inline_code(response.get_data(as_text=True))
        assert found.found == [], url
        assert all(src.startswith("/static/") for src in found.scripts), url
    assert inline_code("<p style='x' onclick='y'><script>z</script>").found == [
        "style attribute on <p>", "onclick handler on <p>", "inline <script>"]


def test_sparql_page_script_is_a_static_file(client):
    page = html(client, "/sparql/ui?example=speakers")
    assert inline_code(page).scripts == ["/static/sparql.js"]
    response = client.get("/static/sparql.js")
    assert response.status_code == 200 and "javascript" in response.mimetype
    assert 'getAttribute("data-text")' in response.get_data(as_text=True)
    response.close()
    # each example's text rides on its <option>, escaped
    from markupsafe import escape

    from kb import queries

    text = queries.load_query("speakers").text
    assert f'data-text="{escape(text)}"' in page


def test_whole_store_counts_follow_every_write(store_dir):
    """The home page's and the speakers' counts are computed once per version of the store,
    and a write makes the next page count again."""
    seeds = sorted(config.seeds_dir().iterdir())
    with open_store(store_dir) as store:
        assert ingest(seeds[:1], store, progress=False).ok
    app = create_app({"KB_STORE": str(store_dir), "TESTING": True, "QUERY_WORKERS": 1})
    client = app.test_client()

    def totals() -> dict:
        rows = client.get("/", query_string={"format": "json"}).get_json()
        rows = rows.get("rows", rows) if isinstance(rows, dict) else rows
        return {r["what"]: int(r["value"]) for r in rows if r["what"] in ("claims", "documents")}

    def speakers() -> int:
        data = client.get("/speakers", query_string={"format": "csv"}).get_data(as_text=True)
        return len(data.splitlines()) - 1

    before, people = totals(), speakers()
    assert totals() == before and speakers() == people  # answered again from the same version
    with open_store(store_dir) as store:
        assert ingest(seeds[1:], store, progress=False).ok
    after = totals()
    assert after["documents"] == len(seeds) > before["documents"]
    assert after["claims"] > before["claims"]
    assert speakers() > people


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("url", [LAVROV, "/topic/un-reform"])
def test_a_views_data_is_cut_at_the_servers_cap_and_says_so(client, url, fmt):
    """The data formats give the whole view, but never more rows than the server's cap (MAX_ROWS,
    as /sparql): the cut answer is the first rows of the whole one, and a header says it was cut."""
    whole = data(client, url, fmt)
    rows = whole if fmt == "csv" else whole["rows"]
    assert len(rows) > 2, "the view needs more rows than the cap for this test"
    app = client.application
    kept = app.config["MAX_ROWS"]
    app.config["MAX_ROWS"] = 2
    try:
        response = client.get(with_format(url, fmt), headers={"Accept": BROWSER})
    finally:
        app.config["MAX_ROWS"] = kept
    assert response.status_code == 200
    assert response.headers["KB-Results-Truncated"] == "max-rows=2"
    body = response.get_data(as_text=True)
    cut = json.loads(body)["rows"] if fmt == "json" else list(csv.DictReader(io.StringIO(body)))
    assert cut == rows[:2]
    assert "KB-Results-Truncated" not in client.get(with_format(url, fmt)).headers


# ---------------------------------------------------------------- whole-view data from the side index

@pytest.fixture(scope="module")
def seeds_with_index(embedded_seeds):
    """An embedded store of the seeds with its side index, for the tests that compare the two paths."""
    return embedded_seeds("exports")


def export_urls(client) -> list[str]:
    """The data formats of every speaker's and topic's view with claims, unfiltered and filtered
    (a topic, a date range, a month), in JSON and CSV, and in Turtle when filtered."""
    base = config.base_iri()
    local = lambda iri: "/" + iri[len(base):]  # noqa: E731
    speakers = [r["speaker"] for r in client.get("/speakers?format=json").get_json()["rows"] if int(r["claims"])]
    topics = [r["topic"] for r in client.get("/topics?format=json").get_json()["rows"] if int(r["claims"])]
    assert len(speakers) > 5 and len(topics) > 5
    views = []
    for speaker in speakers:
        views += [local(speaker), f"{local(speaker)}?topic={topics[0].rsplit('/', 1)[-1]}",
                  f"{local(speaker)}?from=2025-01&to=2025-06-30"]
    for topic in topics:
        views += [local(topic), f"{local(topic)}?from=2025-02-01&to=2025-05", f"{local(topic)}?to=2024-12-31"]
    urls = [with_format(v, fmt) for v in views for fmt in ("json", "csv")]
    return urls + [with_format(v, "ttl") for v in views if "?" in v]


@pytest.mark.embedded_only(reason="the side index kept beside the embedded store")
@pytest.mark.parametrize("chunk", [2, None])
def test_a_views_data_is_the_same_listed_by_the_index_or_sorted_by_sparql(seeds_with_index, monkeypatch, chunk):
    """A speaker's or topic's data formats, when the view holds more claims than the server's cap,
    take the first of them from the side index's ordered list, kb.queries.INDEX_CHUNK claims per query (2 here:
    many chunks on the seeds, and the default): the same bytes, status and truncation header as the
    named query sorting every claim itself (the index marked incomplete), at a cap smaller than
    many views (3) and at the default cap (every view of the seeds whole, sorted by the query)."""
    from kb import queries

    if chunk:
        monkeypatch.setattr(queries, "INDEX_CHUNK", chunk)
    store_dir = seeds_with_index
    app = create_app({"KB_STORE": str(store_dir), "TESTING": True})
    client = app.test_client()
    urls = export_urls(client)

    def answers(cap: int) -> dict:
        app.config["MAX_ROWS"] = cap
        out = {}
        for url in urls:
            response = client.get(url)
            out[url] = (response.status_code, response.headers.get("KB-Results-Truncated"), response.get_data())
        return out

    listed = {cap: answers(cap) for cap in (10_000, 3)}
    set_index_complete(store_dir, False)  # as after an interrupted write: the named queries alone answer
    try:
        sorted_ = {cap: answers(cap) for cap in (10_000, 3)}
    finally:
        set_index_complete(store_dir, True)
    for cap in (10_000, 3):
        assert [u for u in urls if listed[cap][u] != sorted_[cap][u]] == [], cap
    assert {status for status, _, _ in listed[3].values()} == {200}
    cut = [u for u in urls if listed[3][u][1] == "max-rows=3"]
    assert cut and len(cut) < len(urls)  # some views are cut at 3, some are not
    assert all(truncated is None for _, truncated, _ in listed[10_000].values())


@pytest.mark.embedded_only(reason="the side index kept beside the embedded store")
def test_a_views_data_takes_its_claims_from_the_index_when_it_is_complete(seeds_with_index, tmp_path):
    """A claim the index does not list is not in the data of a view bigger than the server's cap,
    and is again once the index is marked incomplete: the index is what lists the claims."""
    import shutil
    import sqlite3

    from kb import fts

    store_dir = tmp_path / "store"
    shutil.copytree(seeds_with_index, store_dir)
    app = create_app({"KB_STORE": str(store_dir), "TESTING": True})
    client = app.test_client()
    whole = client.get(f"{LAVROV}?format=json").get_json()["rows"]
    assert len(whole) >= 4
    app.config["MAX_ROWS"] = 2

    def cut() -> list[dict]:
        response = client.get(f"{LAVROV}?format=json")
        assert response.headers["KB-Results-Truncated"] == "max-rows=2"
        return response.get_json()["rows"]

    assert cut() == whole[:2]
    with sqlite3.connect(store_dir / fts.FILE_NAME) as db:
        db.execute("DELETE FROM claims WHERE id = (SELECT id FROM claim_text WHERE claim = ?)", (whole[1]["claim"],))
    db.close()
    assert cut() == [whole[0], whole[2]]
    set_index_complete(store_dir, False)
    assert cut() == whole[:2]


def _answers(client, urls: list[str]) -> dict:
    out = {}
    for url in urls:
        response = client.get(url)
        out[url] = (response.status_code, response.headers.get("KB-Results-Truncated"), response.get_data())
    return out


@pytest.mark.embedded_only(reason="the side index kept beside the embedded store")
def test_a_views_rows_are_made_from_the_index(seeds_with_index, tmp_path):
    """With a complete index, a speaker's or topic's data formats take each plain claim's row from
    the index (words, date, document, offset, speaker, topics), not from the store: words changed
    in the index alone show, and are gone once the index is marked incomplete.  A row's topics
    are in the order of their IRIs on both paths."""
    import shutil
    import sqlite3

    from kb import fts

    store_dir = tmp_path / "store"
    shutil.copytree(seeds_with_index, store_dir)
    client = create_app({"KB_STORE": str(store_dir), "TESTING": True}).test_client()
    with fts.SearchIndex.open(store_dir) as index:
        assert all(row[9] for row in index.rows())  # every claim of the seeds is plain
    whole = client.get(f"{LAVROV}?format=json").get_json()["rows"]
    several = [row for row in whole if len(row["topics"].split()) > 1]
    assert several and all(row["topics"].split() == sorted(row["topics"].split()) for row in whole)
    with sqlite3.connect(store_dir / fts.FILE_NAME) as db:
        db.execute("UPDATE claim_text SET words = 'changed in the index' WHERE claim = ?", (whole[0]["claim"],))
    db.close()
    from_index = client.get(f"{LAVROV}?format=json").get_json()["rows"]
    assert from_index[0]["quote"] == "changed in the index" and from_index[1:] == whole[1:]
    topic = client.get(f"/topic/{several[0]['topics'].split()[0].rsplit('/', 1)[-1]}?format=csv").get_data(as_text=True)
    assert "changed in the index" in topic or whole[0]["claim"] not in topic
    set_index_complete(store_dir, False)
    from_store = client.get(f"{LAVROV}?format=json").get_json()["rows"]
    assert from_store == whole
    assert all(row["topics"].split() == sorted(row["topics"].split()) for row in from_store)


@pytest.mark.embedded_only(reason="the side index kept beside the embedded store")
def test_a_claim_the_index_cannot_give_a_row_of_gets_the_querys_rows(seeds_with_index, tmp_path):
    """A claim with two texts, a kind with two labels and a speaker with two names give the query's
    own rows (two rows for the claim; one per label; a name SPARQL samples), so a view's data are the
    same bytes with the index as without it; a claim without a document is in neither."""
    import shutil

    from kb import fts
    from kb.store import ontology_graph_iri

    store_dir = tmp_path / "store"
    shutil.copytree(seeds_with_index, store_dir)
    client = create_app({"KB_STORE": str(store_dir), "TESTING": True}).test_client()
    lavrov = client.get(f"{LAVROV}?format=json").get_json()["rows"]
    doubled, undocumented = lavrov[1], lavrov[2]
    document = doubled["document"]
    ontology = ontology_graph_iri()
    with EmbeddedStore.open(store_dir) as store:
        store.update(f"""PREFIX schema: <https://schema.org/>
            PREFIX prov: <http://www.w3.org/ns/prov#>
            PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
            PREFIX kb: <https://w3id.org/kb/ns#>
            INSERT DATA {{ GRAPH <{document}> {{ <{doubled['claim']}> schema:text "a second text" }}
                           GRAPH <{ontology}> {{ kb:ReportedSpeech rdfs:label "косвенная"@ru .
                                                 <{config.base_iri()}speaker/maria-zakharova>
                                                     schema:name "Мария Захарова"@ru }} }} ;
            DELETE DATA {{ GRAPH <{undocumented['document']}> {{
                           <{undocumented['claim']}> prov:wasDerivedFrom <{undocumented['document']}> }} }}""",
                     changed=[document, undocumented["document"], ontology])
    with fts.SearchIndex.open(store_dir) as index:
        assert index.problem() is None
        plain = {row[1]: row[9] for row in index.rows()}
    assert not plain[doubled["claim"]]
    assert not plain[undocumented["claim"]]
    urls = export_urls(client)
    listed = _answers(client, urls)
    rows = json.loads(listed[with_format(LAVROV, "json")][2])["rows"]
    # a row per text (and per label of its kind, when that is the one labelled twice)
    assert {r["quote"] for r in rows if r["claim"] == doubled["claim"]} == {doubled["quote"], "a second text"}
    assert undocumented["claim"] not in {r["claim"] for r in rows}
    set_index_complete(store_dir, False)
    try:
        sorted_ = _answers(client, urls)
    finally:
        set_index_complete(store_dir, True)
    assert [u for u in urls if listed[u] != sorted_[u]] == []
    topic_rows = [json.loads(body)["rows"] for url, (_, _, body) in listed.items()
                  if url.startswith("/topic/") and url.endswith("format=json")]
    kinds = Counter(r["kind"] for rows in topic_rows for r in rows)
    assert kinds["косвенная"] and kinds["косвенная"] == kinds["indirect"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.text(alphabet=st.sampled_from(list(',"\n\r aé\tЖ\'\\')), max_size=6),
                         min_size=3, max_size=3), max_size=5))
def test_the_csv_of_a_view_reads_back_as_its_rows_and_is_what_the_csv_module_writes(rows):
    """kb.queries.csv_text (written for speed) gives the rows back through csv.reader, and the bytes
    csv.writer writes, but for a lone CR in a field, which it quotes as RFC 4180 asks."""
    from kb.queries import csv_text

    columns = ["claim", "quote", "date"]
    text = csv_text(columns, rows)
    assert list(csv.reader(io.StringIO(text, newline=""))) == [columns, *rows]
    if not any("\r" in value for row in rows for value in row):
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([columns, *rows])
        assert text == out.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list('%"\\\n\t\x00 aé\u2028Ж\ud800')), min_size=1, max_size=4),
                min_size=1, max_size=4, unique=True),
       st.lists(st.text(alphabet=st.sampled_from(list('%"\\\n\t\x00 aé\u2028Ж\ud800s')), max_size=6), max_size=24),
       st.text(max_size=5))
def test_a_table_is_written_as_the_list_of_its_rows(columns, cells, title):
    """kb.web.data.Table (a view's rows as tuples) reads as its rows as dicts, and json_text, csv_text
    and table_rows write it as the same bytes as those dicts (json.dumps for the JSON)."""
    from kb.queries import csv_text
    from kb.web.data import Table, json_text, table_rows

    width = len(columns)
    tuples = [tuple(cells[i:i + width]) for i in range(0, len(cells) - width + 1, width)]
    table = Table(columns, tuples)
    dicts = [dict(zip(columns, row)) for row in tuples]
    assert list(table) == dicts and len(table) == len(dicts) and list(table[1:]) == dicts[1:]
    if dicts:
        assert table[-1] == dicts[-1]
    assert json_text(title, columns, table) == json.dumps(
        {"title": title, "columns": columns, "rows": dicts}, ensure_ascii=False) + "\n"
    assert json.loads(json_text(title, columns, table))["rows"] == dicts
    shown = columns[::-1][:2]  # another order, fewer columns
    assert csv_text(shown, table_rows(table, shown)) == csv_text(shown, table_rows(dicts, shown))


def test_the_statements_of_a_views_rows():
    """kb.web.data.row_statements: the first column is the subject, each known column its property;
    a date typed by its length, offsets as integers, topics split at spaces, roles at ' | ', IRIs
    as IRIs; empty cells, unknown columns and rows without a subject give nothing.  A Table gives
    the statements of the dicts it stands for."""
    from kb.web.data import Table, row_statements

    claim, person, doc, topic = "https://x.org/c/1", "https://x.org/p", "https://x.org/d", "https://x.org/t/"
    S, KBNS, XSD = "https://schema.org/", "https://w3id.org/kb/ns#", "http://www.w3.org/2001/XMLSchema#"
    columns = ["claim", "date", "quote", "speaker", "start", "topics", "kind", "document"]
    rows = [(claim, "2025-03", "Words | not split", person, "007", f"{topic}a {topic}b", "direct", doc),
            ("", "2025", "no subject", person, "1", "", "", doc),
            ("https://x.org/c/2", "", "", "", "", "", "", "")]
    expected = [
        (claim, KBNS + "statedOn", "2025-03", XSD + "gYearMonth"),
        (claim, S + "text", "Words | not split", ""),
        (claim, S + "author", person, None),
        (claim, KBNS + "startOffset", "7", XSD + "integer"),
        (claim, S + "about", topic + "a", None), (claim, S + "about", topic + "b", None),
        (claim, "http://www.w3.org/ns/prov#wasDerivedFrom", doc, None),
    ]
    dicts = [dict(zip(columns, row)) for row in rows]
    assert list(row_statements(dicts)) == expected
    assert list(row_statements(Table(columns, rows))) == expected
    people = [{"speaker": person, "name": "A", "roles": "minister | envoy", "date": "2024-01-02", "claims": "12"},
              {"speaker": person, "aliases": "B | C"}]  # rows of other columns
    assert list(row_statements(people)) == [
        (person, S + "name", "A", ""), (person, KBNS + "role", "minister", ""), (person, KBNS + "role", "envoy", ""),
        (person, KBNS + "statedOn", "2024-01-02", XSD + "date"), (person, KBNS + "claimCount", "12", XSD + "integer"),
        (person, "http://www.w3.org/2004/02/skos/core#altLabel", "B", ""),
        (person, "http://www.w3.org/2004/02/skos/core#altLabel", "C", "")]


def test_a_views_turtle_is_its_rows_as_rdf(client):
    """The Turtle of a filtered view (written by pyoxigraph from the rows' statements) is the graph
    rdflib makes of the same rows (kb.web.data.rows_graph): IRIs, typed dates and offsets, strings."""
    from rdflib.compare import isomorphic

    from kb.web.data import rows_graph

    for view in (f"{LAVROV}?from=2025-01-01", "/topic/un-reform?from=2024-01-01"):
        rows = client.get(with_format(view, "json")).get_json()["rows"]
        response = client.get(with_format(view, "ttl"))
        assert response.status_code == 200 and rows
        written = Graph().parse(data=response.get_data(as_text=True), format="turtle")
        assert len(written) > 3 * len(rows) and isomorphic(written, rows_graph(rows))
