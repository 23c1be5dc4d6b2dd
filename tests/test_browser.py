"""End to end, in a real browser: Debian's Chromium, headless, driven by Playwright (sync API),
against a real ``kb serve`` on 127.0.0.1 (tests/live_server.py) on a store of the seeds.

Every page visited is saved as a screenshot under test-output/screenshots/ at the
root of the repository (git-ignored; CI keeps it).  Playwright's own browser
download is never used: the browser is /usr/bin/chromium (``apt-get install
chromium``, which .ci/run does); without it these tests are skipped.

The journey through the browsing pages (home page, a speaker's page filtered by
topic, a claim, its source with the words highlighted) waits on the browsing pages
(kb/web/pages.py): until the app has a home page it is an expected failure.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from kb import config
from live_server import running_server, seed_store

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "screenshots"
# without the background-networking flags Chromium keeps calling Google's hosts, which a closed network refuses
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCHEMA = "https://schema.org/"
# the browsing pages are there when the app has a home page
TIMEOUT_MS = 15_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="no Chromium at /usr/bin/chromium (apt-get install -y chromium; .ci/run does)")


@pytest.fixture(scope="module")
def server(tmp_path_factory, new_store):
    store_dir = seed_store(new_store("browser"))
    with running_server(store_dir) as url:
        yield url.removesuffix("/sparql")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh user-data-dir
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser, request):
    page = browser.new_page()
    page.shots = Shots(request.node.name)
    page.console_messages = []  # what Chromium reports: a page under a Content-Security-Policy logs what it blocks
    page.on("console", lambda message: page.console_messages.append(message.text))
    yield page
    page.close()


def blocked(page) -> list[str]:
    """The console's reports of something the page's Content-Security-Policy refused (inline script or style)."""
    return [m for m in page.console_messages if "Content Security Policy" in m]


class Shots:
    """Numbered screenshots of one test's pages: test-output/screenshots/<test>-<n>-<what>.png."""

    def __init__(self, test: str):
        self.prefix = re.sub(r"[^\w-]+", "_", test)
        self.count = 0
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob(f"{self.prefix}-*.png"):
            old.unlink()

    def take(self, page, what: str, full: bool = True) -> Path:
        self.count += 1
        path = SHOTS / f"{self.prefix}-{self.count:02d}-{what}.png"
        page.screenshot(path=str(path), full_page=full)
        return path


def visit(page, url: str, what: str, full: bool = True):
    response = page.goto(url)
    assert response is not None and response.ok, f"{url}: {response and response.status}"
    page.shots.take(page, what, full)
    return response


def click_to(page, selector: str, what: str) -> str:
    """Follow the first link matching ``selector``; the path reached."""
    link = page.locator(selector).first
    with page.expect_navigation():
        link.click()
    page.shots.take(page, what)
    return urlsplit(page.url).path


def words(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- what is there already

def test_speaker_claims_download_as_turtle(server, page, tmp_path):
    visit(page, f"{server}/speaker/sergey-lavrov", "speaker")
    assert "Sergey Lavrov" in page.content()
    href = page.locator('a[href$="/speaker/sergey-lavrov/claims.ttl"]').first.get_attribute("href")
    # Chromium shows text/turtle in the tab rather than saving it: the answer's bytes are the download
    response = visit(page, server + href, "claims-ttl", full=False)  # thousands of lines: the top will do
    assert response.header_value("content-type").startswith("text/turtle")
    saved = tmp_path / "claims.ttl"
    saved.write_bytes(response.body())
    graph = Graph().parse(saved, format="turtle")
    lavrov = URIRef(config.base_iri() + "speaker/sergey-lavrov")
    claims = set(graph.subjects(RDF.type, URIRef(SCHEMA + "Claim")))
    assert len(claims) > 5
    assert all((c, URIRef(SCHEMA + "author"), lavrov) in graph for c in claims)


def test_sparql_page_runs_an_example(server, page):
    visit(page, f"{server}/sparql/ui", "sparql")
    page.select_option("#example", "speakers")  # the script fills the textarea
    assert "SELECT" in page.input_value("#query")
    with page.expect_navigation():
        page.click("#run")
    page.shots.take(page, "sparql-results")
    assert page.locator("table.results tbody tr").count() > 3
    assert page.locator("table.results").inner_text().count("Sergey Lavrov") >= 1
    href = page.locator('a.download[data-format="csv"]').get_attribute("href")
    assert page.request.get(server + href).text().startswith("speaker,")
    page.fill("#query", "SELECT ?s WHERE { ?s ?p }")
    with page.expect_navigation():
        page.click("#run")
    page.shots.take(page, "sparql-error")
    assert "not a valid SPARQL query" in page.locator(".error").inner_text()
    assert blocked(page) == []


def test_search_with_a_facet(server, page):
    visit(page, f"{server}/search", "search")
    page.fill("#q", "reform")
    with page.expect_navigation():
        page.press("#q", "Enter")
    page.shots.take(page, "search-results")
    total = page.locator(".hit").count()
    assert total >= 3
    assert all(words(m).lower() == "reform" for m in page.locator(".hit mark").all_inner_texts())
    click_to(page, '[data-facet="speaker"] a:text-is("Sergey Lavrov")', "search-lavrov")
    assert "speaker=sergey-lavrov" in page.url
    assert 0 < page.locator(".hit").count() < total
    assert blocked(page) == []


# ---------------------------------------------------------------- the browsing journey

def test_home_to_a_claim_and_its_highlighted_source(server, page):
    started = time.monotonic()
    visit(page, f"{server}/", "home")
    lavrov = page.locator('a[href$="/speaker/sergey-lavrov"]')
    if lavrov.count():
        assert click_to(page, 'a[href$="/speaker/sergey-lavrov"]', "speaker") == "/speaker/sergey-lavrov"
    else:
        visit(page, f"{server}/speaker/sergey-lavrov", "speaker")
    visit(page, f"{server}/speaker/sergey-lavrov?topic=un-reform", "speaker-un-reform")
    claim_links = page.locator('a[href^="/claim/"]:not([href*="."]):not([href*="#"])')
    assert claim_links.count() >= 1
    path = click_to(page, 'a[href^="/claim/"]:not([href*="."]):not([href*="#"])', "claim")
    assert path.startswith("/claim/")
    claim = Graph().parse(data=page.request.get(f"{server}{path}.ttl").text(), format="turtle")
    subject = URIRef(config.base_iri() + path.lstrip("/"))
    assert (subject, URIRef(SCHEMA + "about"), URIRef(config.base_iri() + "topic/un-reform")) in claim
    assert (subject, URIRef(SCHEMA + "author"), URIRef(config.base_iri() + "speaker/sergey-lavrov")) in claim
    quote = words(str(claim.value(subject, URIRef(SCHEMA + "text"))))
    source = next(s for s in ("a.source", 'a[rel~="source"]', 'a[href*="highlight"]', 'a[href*="claim="]',
                              'a[href*="/post/"]',
                              'a[href^="/document/"]:not([href$=".ttl"]):not([href$=".jsonld"])')
                  if page.locator(s).count())
    assert click_to(page, source, "source").startswith("/document/")
    # the words of this claim are marked (a mark that links to the claim, or a link around a mark)
    mine = page.locator(f'mark:has(a[href$="{path}"]), a[href$="{path}"] mark')
    marks = [words(m) for m in mine.all_inner_texts()]
    assert quote in marks, (quote, marks)
    assert time.monotonic() - started < 60
    assert blocked(page) == []


def test_topic_page_pages_and_keeps_its_filters(server, page):
    visit(page, f"{server}/topic/un-reform?from=2024-01-01&size=2", "topic")
    first = page.locator('.side-by-side a[href^="/claim/"]').evaluate_all("links => links.map(a => a.href)")
    assert len(first) == 2
    path = click_to(page, 'a[rel="next"]', "topic-page-2")
    assert path == "/topic/un-reform" and "from=2024-01-01" in page.url and "page=2" in page.url
    second = page.locator('.side-by-side a[href^="/claim/"]').evaluate_all("links => links.map(a => a.href)")
    assert second and not set(first) & set(second)
    assert page.locator("svg rect").count() >= 1 and page.locator("table.timeline tbody tr").count() >= 1
    assert blocked(page) == []


def test_screenshots_are_kept():
    """Runs last in this file: the pages above left their screenshots."""
    shots = sorted(p.name for p in SHOTS.glob("*.png"))
    assert any(name.startswith("test_speaker_claims_download_as_turtle-01-") for name in shots)
