"""A real ``kb serve`` in a subprocess, on a free loopback port, for the endpoint tests; and a
bounded loop of concurrent clients (a mix of browsing pages and named SPARQL queries) for the load
tests (tests/test_server_load.py, bench/load_test.py)."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

START_TIMEOUT = 30  # seconds for the server to answer its first request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, data: bytes | None = None, headers: dict | None = None, method: str | None = None):
    """(status, headers, body) of one request; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, exc.read()


@contextlib.contextmanager
def app_with_pool(settings: dict):
    """A Flask app of kb (create_app(settings)) whose query worker pool is closed when done."""
    from kb.web import create_app
    app = create_app(settings)
    try:
        yield app
    finally:
        pool = app.extensions.get("kb_query_pool")
        if pool is not None:
            pool.close()


def seed_store(store_dir):
    """A store at ``store_dir`` holding the repository's seeds."""
    from kb import config, pipeline
    from kb.store import open_store

    with open_store(store_dir) as store:
        report = pipeline.ingest([config.seeds_dir()], store, progress=False)
    assert report.ok and report.claims > 0
    return store_dir


@contextlib.contextmanager
def running_server(store_dir, *options: str, env: dict | None = None, log=None):
    """Start ``kb serve --store store_dir OPTIONS`` (``env`` added to the environment) and yield
    the endpoint's URL (…/sparql).  The server's output goes to the file ``log`` if given, else
    to a temporary file (never to a pipe: one nobody reads stops the server once it is full)."""
    port = free_port()
    command = [sys.executable, "-c", "from kb.cli import main; main()", "serve",
               "--store", str(store_dir), "--port", str(port), *options]
    output = open(log, "w+b") if log else tempfile.TemporaryFile()
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                               env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}/sparql"
    try:
        _wait(process, url, output)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()


def _wait(process: subprocess.Popen, url: str, output) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output.seek(0)
            raise RuntimeError(f"kb serve stopped: {output.read().decode(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"kb serve did not answer at {url} within {START_TIMEOUT} s")


# ---------------------------------------------------------------- load: many clients at once

LOAD_TARGETS = {  # name -> query picking what the load's requests ask for, through the endpoint
    "speakers": "SELECT DISTINCT ?x WHERE { ?c a <https://schema.org/Claim> ; <https://schema.org/author> ?x } LIMIT 300",
    "topics": "SELECT DISTINCT ?x WHERE { ?c a <https://schema.org/Claim> ; <https://schema.org/about> ?x } LIMIT 300",
    "claims": "SELECT ?x WHERE { ?x a <https://schema.org/Claim> } LIMIT 2000",
    "documents": "SELECT ?x WHERE { ?x a <https://w3id.org/kb/ns#Document> } LIMIT 2000",
    "quotes": "SELECT ?x WHERE { ?c a <https://schema.org/Claim> ; <https://schema.org/text> ?x } LIMIT 500",
}
# named queries of queries/ the load sends to the endpoint: name -> (the parameter bound to a target
# by a VALUES block at the top of the innermost WHERE clause, or None; a LIMIT appended, or None)
LOAD_QUERIES = {
    "stats": (None, None), "speakers": (None, None), "topic-list": (None, None),
    "date-range": (None, None), "latest-claims": (None, 20),
    "speaker-claims": ("speaker", 50), "topic-claims": ("topic", 50), "speaker-timeline": ("speaker", None),
    "topic-speakers": ("topic", None), "document-claims": ("document", None), "search": ("text", 50),
}
UI_KINDS = ("home", "speakers", "speaker", "topics", "topic", "claim", "document", "search")


def load_targets(base_url: str, kb_base: str) -> dict[str, list[str]]:
    """What the load asks for, from the served store: IRIs (speakers, topics, claims, documents)
    and words to search for."""
    import json
    import re
    import urllib.parse

    out = {}
    for name, query in LOAD_TARGETS.items():
        url = f"{base_url}/sparql?" + urllib.parse.urlencode({"query": query})
        with urllib.request.urlopen(url, timeout=300) as response:
            values = [b["x"]["value"] for b in json.load(response)["results"]["bindings"]]
        if name == "quotes":
            words = {w for v in values for w in re.findall(r"[A-Za-z]{6,}", v)}
            values = sorted(words)[:200]
        else:
            values = sorted(v for v in values if v.startswith(kb_base))
        assert values, f"the store holds no {name}"
        out[name] = values
    return out


class LoadPlan:
    """The requests of a mix of browsing pages and named SPARQL queries, drawn at random."""

    def __init__(self, targets: dict[str, list[str]], kb_base: str, queries_dir):
        from pathlib import Path

        self.targets, self.kb_base = targets, kb_base
        self.texts = {name: (Path(queries_dir) / f"{name}.rq").read_text(encoding="utf-8")
                      for name in LOAD_QUERIES}
        self.kinds = [f"ui:{k}" for k in UI_KINDS] + [f"sparql:{q}" for q in LOAD_QUERIES]

    def path(self, iri: str) -> str:
        return "/" + iri[len(self.kb_base):]

    def request(self, rng, kind: str | None = None) -> tuple[str, str, str, bytes | None]:
        """(kind, method, path, body) of one request (of a kind drawn at random unless given)."""
        import urllib.parse

        kind = kind or rng.choice(self.kinds)
        pick = lambda name: rng.choice(self.targets[name])  # noqa: E731
        if kind.startswith("ui:"):
            page = kind[3:]
            if page == "home":
                return kind, "GET", "/", None
            if page in ("speakers", "topics"):
                return kind, "GET", f"/{page}", None
            if page == "speaker":  # with filters: a topic and a time span, or only a start
                topic = pick("topics")[len(self.kb_base) + len("topic/"):]
                filters = rng.choice([{"topic": topic, "from": "2023-01-01", "to": "2024-12-31"},
                                      {"from": f"{rng.randint(2023, 2025)}-{rng.randint(1, 12):02d}"}, {}])
                query = f"?{urllib.parse.urlencode(filters)}" if filters else ""
                return kind, "GET", self.path(pick("speakers")) + query, None
            if page == "search":
                return kind, "GET", "/search?" + urllib.parse.urlencode({"q": pick("quotes")}), None
            return kind, "GET", self.path(pick(page + "s")), None
        name = kind[len("sparql:"):]
        param, limit = LOAD_QUERIES[name]
        text = self.texts[name]
        if param:
            value = pick(param + "s") if param != "text" else pick("quotes")
            term = f"<{value}>" if param != "text" else '"' + value + '"'
            head, where, tail = text.rpartition("WHERE {")  # the innermost: a subquery's, if any
            text = f"{head}{where}\n  VALUES ?{param} {{ {term} }}{tail}"
        if limit and "LIMIT" not in text.upper().rsplit("}", 1)[-1]:  # unless it has one
            text += f"\nLIMIT {limit}"
        return kind, "POST", "/sparql", text.encode()


def complete(kind: str, status: int, headers, body: bytes) -> str | None:
    """Why an answer is wrong or incomplete, or None: a 200 whose body is all there (the length
    announced, a whole HTML page, JSON that parses)."""
    import json

    if status != 200:
        return f"status {status}: {body[:200]!r}"
    length = headers.get("Content-Length")
    if length is not None and int(length) != len(body):
        return f"{len(body)} of {length} bytes"
    if kind.startswith("ui:"):
        if not body.rstrip().endswith(b"</html>"):
            return "the page does not end with </html>"
        return None
    try:
        answer = json.loads(body)
    except ValueError as exc:
        return f"not JSON: {exc}"
    if "results" not in answer or "bindings" not in answer["results"]:
        return "no results in the answer"
    return None


@dataclass
class LoadResult:
    latencies: dict[str, list[float]]  # kind -> seconds, answers that were right
    errors: list[tuple[str, str, str]]  # (kind, path, what was wrong)
    seconds: float

    @property
    def requests(self) -> int:
        return sum(map(len, self.latencies.values())) + len(self.errors)


def run_load(base_url: str, plan: LoadPlan, clients: int, seconds: float, seed: int = 1,
             every_kind: bool = False) -> LoadResult:
    """``clients`` threads, each with its own keep-alive connection, sending ``plan``'s requests
    one after the other for ``seconds``; every answer checked with ``complete``.  With
    ``every_kind`` the clients take the kinds in turn (each from its own place in the list) and
    go on past ``seconds`` until each kind has been asked at least once."""
    import http.client
    import random
    import threading
    import urllib.parse
    from collections import defaultdict

    address = urllib.parse.urlsplit(base_url)
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[tuple[str, str, str]] = []
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + seconds

    def client(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=300)
        turn = n * len(plan.kinds) // clients
        rounds = -(-len(plan.kinds) // clients) if every_kind else 0  # requests needed to cover the kinds
        while time.monotonic() < deadline or rounds > 0:
            kind = plan.kinds[turn % len(plan.kinds)] if every_kind else None
            kind, method, path, body = plan.request(rng, kind)
            turn, rounds = turn + 1, rounds - 1
            headers = {"Accept": "text/html"} if kind.startswith("ui:") else {
                "Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"}
            t0 = time.monotonic()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                wrong = complete(kind, response.status, response.headers, data)
            except (OSError, http.client.HTTPException) as exc:
                wrong = f"{type(exc).__name__}: {exc}"
                conn.close()
                conn = http.client.HTTPConnection(address.hostname, address.port, timeout=300)
            took = time.monotonic() - t0
            with lock:
                if wrong:
                    errors.append((kind, path, wrong))
                else:
                    latencies[kind].append(took)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(dict(latencies), errors, time.monotonic() - started)


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile ``p`` (0-100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]
