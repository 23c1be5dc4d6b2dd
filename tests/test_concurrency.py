"""Readers while `kb ingest` writes, and two ingests on one store: through the CLI and the server.

While `kb ingest` runs on the store `kb serve` serves, reader threads ask
the SPARQL endpoint, over and over, how many claims and triples each
document graph holds, and ask for document pages.  Each answer must show
every document either absent or whole (its counts those of a clean ingest
of the same batch), never in between; a document already in the store
before the ingest (which the ingest replaces) is never seen missing, and a
document once seen whole is never seen missing again.  No request fails.

A second `kb ingest` started on a store another ingest is writing either
waits its turn or stops with one line naming the store; either way the
store ends up exactly as a clean ingest leaves it.
"""
from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from rdflib.compare import isomorphic

from kb.store import EmbeddedStore
from live_server import running_server
from test_crash import (documents_now, ingest_command, make_batch, read_graphs, run_cli,
                        with_group_killed)

pytestmark = pytest.mark.embedded_only(reason="readers of the store directory during an ingest, the file lock between two ingests")

COPIES = 1  # the seeds under new names: 5 documents
READERS = 3
PER_GRAPH = """PREFIX schema: <https://schema.org/>
SELECT ?g (COUNT(*) AS ?triples) (COUNT(DISTINCT ?claim) AS ?claims)
WHERE { GRAPH ?g { ?s ?p ?o OPTIONAL { ?s a schema:Claim BIND(?s AS ?claim) } } }
GROUP BY ?g"""


def per_graph(store_dir) -> dict[str, tuple[int, int]]:
    """graph IRI -> (triples, claims), for every named graph of a store."""
    with EmbeddedStore.open(store_dir, read_only=True) as store:
        result = store.query(PER_GRAPH)
    return {str(g): (int(t), int(c)) for g, t, c in result.rows}


def per_graph_from(endpoint: str) -> dict[str, tuple[int, int]]:
    url = endpoint + "?" + urllib.parse.urlencode({"query": PER_GRAPH})
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.status == 200
        rows = json.load(response)["results"]["bindings"]
    return {r["g"]["value"]: (int(r["triples"]["value"]), int(r["claims"]["value"])) for r in rows}


def document_rows(base: str, name: str) -> int:
    """Rows of a document page's JSON; 0 when the document is not (yet) there (404)."""
    try:
        with urllib.request.urlopen(f"{base}/document/{urllib.parse.quote(name)}?format=json",
                                    timeout=60) as response:
            return len(json.load(response)["rows"])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return 0
        raise


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The batch, and what a clean ingest of it gives: per-graph counts and the graphs."""
    root = tmp_path_factory.mktemp("concurrency")
    folder = root / "batch"
    files = make_batch(folder, COPIES)
    store_dir = root / "reference"
    result = run_cli("ingest", "--no-progress", "--store", store_dir, folder)
    assert result.exit_code == 0, result.output
    return folder, files, per_graph(store_dir), read_graphs(store_dir)


def assert_same_store(store_dir, graphs) -> None:
    validated = run_cli("validate", "--store", store_dir)
    assert validated.exit_code == 0, validated.output
    found = read_graphs(store_dir)
    assert set(found) == set(graphs)
    for name, graph in found.items():
        assert isomorphic(graph, graphs[name]), name


class Readers:
    """Threads asking the server, until stopped, what each document holds."""

    def __init__(self, endpoint: str, names: list[str]):
        self.endpoint, self.base, self.names = endpoint, endpoint.rsplit("/", 1)[0], names
        self.stop = threading.Event()
        self.sparql: list[list[dict]] = []  # per thread, the answers in order
        self.pages: list[list[tuple[str, int]]] = []
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(READERS)]

    def __enter__(self) -> "Readers":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(120)

    def _run(self, n: int) -> None:
        answers, pages = [], []
        self.sparql.append(answers)
        self.pages.append(pages)
        i = 0
        while not self.stop.is_set():
            try:
                answers.append(per_graph_from(self.endpoint))
                name = self.names[(n + i) % len(self.names)]
                pages.append((name, document_rows(self.base, name)))
            except urllib.error.HTTPError as exc:
                self.errors.append(f"{exc.url}: {exc.code}: {exc.read()[:300]!r}")
            except Exception as exc:  # noqa: BLE001 - every failure is a finding
                self.errors.append(f"{type(exc).__name__}: {exc}")
            i += 1


class ReadOnlyOpenRace(Exception):
    """Requests failed because the store, opened read-only, lost a file to the writer meanwhile."""


# RocksDB's read-only mode reads the list of files, then opens them, holding no reference: a flush
# or compaction of the writer in between deletes one (pyoxigraph: "opening as read-only while an
# other process writes the database is undefined behaviour").
RACE = "No such file or directory: While open a file"


def raise_unless_only_the_race(errors: list[str], log) -> None:
    """Fail on request errors: ReadOnlyOpenRace if each failure the server logged is that race."""
    if not errors:
        return
    failures = log.read_text(encoding="utf-8", errors="replace").split("Traceback (most recent call last)")[1:]
    failures = [f for f in failures if "is unsendable, but is being dropped" not in f]  # not a request's
    # the endpoint's 500s say why in their body; the pages' say it in the server's log
    said = all(": 500: " in e and (RACE in e or failures) for e in errors)
    if said and all(RACE in f for f in failures):
        raise ReadOnlyOpenRace(f"{len(errors)} request(s) failed: {errors[:3]}")
    raise AssertionError(f"{len(errors)} request(s) failed: {errors[:5]}")


def test_readers_never_see_a_half_written_document(batch, tmp_path):
    """end_to_end"""
    folder, files, final, graphs = batch
    store_dir = tmp_path / "store"
    already = files[:2]  # in the store before: the ingest replaces them
    result = run_cli("ingest", "--no-progress", "--store", store_dir, *already)
    assert result.exit_code == 0, result.output
    before = set(per_graph(store_dir))
    log = tmp_path / "server.log"
    with running_server(store_dir, log=log) as endpoint:
        with Readers(endpoint, [f.name for f in files]) as readers:
            done = subprocess.run(ingest_command(folder, store_dir), capture_output=True, text=True,
                                  timeout=1200)
            during = sum(map(len, readers.sparql))
        assert done.returncode == 0, done.stderr
        assert during > 0, "no reader got an answer while the ingest ran"
        last_pages = {f.name: document_rows(endpoint.rsplit("/", 1)[0], f.name) for f in files}
        assert per_graph_from(endpoint) == final
    fewest = len(final)
    for answers in readers.sparql:
        whole: set[str] = set()
        for answer in answers:
            for graph, counts in answer.items():
                assert counts == final.get(graph), f"{graph} seen half-written: {counts} of {final.get(graph)}"
            assert before <= set(answer), f"replaced documents seen missing: {sorted(before - set(answer))}"
            assert whole <= set(answer), f"documents seen whole, then missing: {sorted(whole - set(answer))}"
            whole |= set(answer)
            fewest = min(fewest, len(answer))
    for pages in readers.pages:
        for name, rows in pages:
            assert rows in (0, last_pages[name]), f"document page of {name}: {rows} of {last_pages[name]} rows"
    assert fewest < len(final), "the readers never saw the store before the ingest ended"
    assert_same_store(store_dir, graphs)
    raise_unless_only_the_race(readers.errors, log)


def test_two_ingests_on_one_store(batch, tmp_path):
    """end_to_end: the second waits or stops with one line naming the store; nothing is corrupted."""
    folder, files, final, graphs = batch
    store_dir = tmp_path / "store"
    first = subprocess.Popen(ingest_command(folder, store_dir), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not documents_now(store_dir) and first.poll() is None:  # it holds the store now
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert first.poll() is None, "the first ingest ended before the second could start"
        second = subprocess.run(ingest_command(folder, store_dir), capture_output=True, text=True,
                                timeout=1200)
        out, err = first.communicate(timeout=1200)
    finally:
        if first.poll() is None:
            with_group_killed(first)
    assert first.returncode == 0, err
    if second.returncode:
        lines = second.stderr.splitlines()
        assert lines == [f"kb: error: {store_dir}: the store is in use by another process"], second.stderr
    else:
        assert second.stdout.startswith(f"ingested {len(files)} document(s)")
    assert_same_store(store_dir, graphs)
    assert per_graph(store_dir) == final
