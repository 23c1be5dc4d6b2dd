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

import pytest
from rdflib import Graph, URIRef

from kb import config
from kb.pipeline import ingest
from kb.store import EmbeddedStore
from kb.web import create_app

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
XSS_ARTICLE = f"date 2025-01-01 T\n\nPeskov said that {SCRIPT} is fine.\n"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SCHEMA_ABOUT = URIRef("https://schema.org/about")
SCHEMA_CLAIM = URIRef("https://schema.org/Claim")
LAVROV = "/speaker/sergey-lavrov"
UN_REFORM = config.base_iri() + "topic/un-reform"

LIST_PAGES = ["/", "/speakers", "/speakers?sort=count", "/topics", LAVROV, f"{LAVROV}?topic=un-reform",
              f"{LAVROV}?from=2025-01-01&to=2025-06-30", "/topic/un-reform", "/topic/new-start?from=2025-01",
              "/document/003_d593e9095c3398fa.txt", "/document/xss.txt"]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = tmp_path_factory.mktemp("pages") / "store"
    extra = tmp_path_factory.mktemp("extra")
    (extra / "xss.txt").write_text(XSS_ARTICLE, encoding="utf-8")
    with EmbeddedStore.open(path) as store:
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
