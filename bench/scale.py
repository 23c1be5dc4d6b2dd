"""The 1M-claim benchmarks of issue 5: a store ten times a pipeline-built one, its queries, memory, export, validation.

Each figure is a subcommand; each prints its results as Markdown (and
``--json`` as JSON).  Run them on an otherwise quiet machine and note the
load average (``uptime``) beside the figures.

    python bench/scale.py build --from STORE --copies 10 --out BIG [--work DIR]

        Makes a store of COPIES times the claims of STORE, a store that
        ``kb ingest`` built from a corpus of bench/generate.py (so every
        triple went through reading, extraction, RDF and SHACL): STORE is
        dumped as N-Quads (opened read-only; it is never written), then
        written COPIES times with every document-scoped IRI renamed per copy
        -- document graphs and documents (and their ``kb:fileName``), posts,
        claims and their topic assignments; copy 0 keeps the original names
        -- while speakers, topics and the ontology graph stay shared, so a
        busy speaker gets COPIES times busier, as in a real long tail.  The
        copies are loaded into a fresh store BIG with pyoxigraph's
        ``bulk_load``, ``optimize()``d, and ``kb reindex`` builds the
        full-text index.  The claims and quads of the result are counted
        with SPARQL.  The N-Quads files go to DIR (default: beside BIG) and
        are deleted afterwards unless ``--keep``.

    python bench/scale.py queries --store BIG [--runs 100] [--budget 30] [--only NAMES] [--slow NAMES]
                                  [--rdflib] [--rdflib-budget 30] [--rdflib-timeout 60] [--seed 1]
    python bench/scale.py table LOG

        Every named query of queries/ with its parameters (read from the
        ``#+ params`` headers through kb.queries), run --runs times with
        varied values (the busiest speakers and topics and ones from the long
        tail, date ranges of a month to two years), three ways on the same
        data: kb (kb.queries.run on the read-only EmbeddedStore, as `kb query`
        runs them: typed bindings, rows as rdflib terms), raw pyoxigraph (the
        same SPARQL text on pyoxigraph.Store with ``substitutions=``, rows
        read as pyoxigraph terms) and, with ``--rdflib``, rdflib's in-memory
        Dataset (the naive peer: the store's N-Quads parsed into it, the
        default graph the union, the same query with ``initBindings``).  A
        slow peer gets at most --rdflib-budget seconds per query (at least one
        run); the table says how many runs each figure is over.  Paged
        queries (``# PAGE``) run with LIMIT 20, as the pages run them.
        Reports p50 and p95 in milliseconds, kb's overhead over raw
        pyoxigraph and rdflib's time over kb's.  --slow names queries run
        once each, last (the whole-store ones at 1M).  Each query's row is
        also written to stderr as one JSON line as soon as it is measured;
        ``table LOG`` makes the table from those lines, for a run cut short.

    python bench/scale.py memory --store BIG [--requests 200] [--port 8765]

        Starts ``kb serve --store BIG`` and samples the resident memory
        (VmRSS, from /proc/PID/status, every 0.1 s) of the server and its
        query worker processes: after start, after --requests mixed page
        requests (home, speakers, topics, a speaker's page, a topic's page
        with dates, claims, documents, searches, SPARQL), and the peak.

    python bench/scale.py export --store BIG [--out DIR] [--seconds N]

        ``kb export --store BIG --format nq > FILE`` against pyoxigraph's
        own ``Store.dump`` of the same store to a file: wall time, MB/s and
        the peak resident memory of each, each in a process of its own, and
        the resident memory every 10 s.  With --seconds each is stopped after
        about N seconds and the speed is that of the bytes written by then.

    python bench/scale.py validate --store BIG [--options "--jobs 2 --timing --no-progress"]

        ``kb validate --store BIG``: wall time and peak resident memory, and
        the time per 100,000 claims.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyoxigraph as ox  # noqa: E402

from kb import config  # noqa: E402

KB = [str(Path(sys.executable).parent / "kb")]
SCHEMA = "https://schema.org/"
FILE_NAME = b"<https://w3id.org/kb/ns#fileName>"


# ---------------------------------------------------------------- helpers

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def count(store: ox.Store, sparql: str) -> int:
    return int(next(iter(store.query(sparql)))[0].value)


def claims_and_quads(store: ox.Store) -> dict:
    """Claims, quads and graphs of a store, counted with SPARQL (never len())."""
    return {
        "claims": count(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?c a <{SCHEMA}Claim> }} }}"),
        "quads": count(store, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"),
        "default_graph_triples": count(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"),
        "graphs": count(store, "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"),
    }


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    """All the descendants of ``pid``."""
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = []
        for task in Path(f"/proc/{parent}/task").glob("*"):  # a child is listed under the thread that made it
            try:
                kids += [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                pass
        out += kids
        todo += kids
    return out


class Sampler(threading.Thread):
    """Samples the resident memory of a process and its descendants every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_total = self.peak_main = 0
        self.last: dict[int, int] = {}
        self._halt = threading.Event()

    def sample(self) -> dict[int, int]:
        return {p: rss_kb(p) for p in [self.pid, *children(self.pid)]}

    def run(self) -> None:
        while not self._halt.is_set():
            self.last = now = self.sample()
            self.peak_total = max(self.peak_total, sum(now.values()))
            self.peak_main = max(self.peak_main, now.get(self.pid, 0))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def timed_process(cmd: list[str], stdout=None, env=None, seconds: float | None = None) -> dict:
    """Run ``cmd`` (stopped after ``seconds``, if given); its wall time, exit status and
    peak resident memory (sampled, with its children), and the resident memory every 10 s."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    sampler = Sampler(proc.pid, 0.2)
    sampler.start()
    rss_every_10s = []
    stopped = False
    while True:
        try:
            _, err = proc.communicate(timeout=10)
            break
        except subprocess.TimeoutExpired:
            rss_every_10s.append(round(sum(sampler.last.values()) / 1024))
            if seconds is not None and time.perf_counter() - start > seconds:
                proc.terminate()
                stopped = True
    wall = time.perf_counter() - start
    sampler.stop()
    return {"seconds": wall, "status": proc.returncode, "stopped": stopped, "peak_rss_mb": sampler.peak_total / 1024,
            "rss_mb_every_10s": rss_every_10s, "stderr": err.decode("utf-8", "replace")[-2000:]}


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---------------------------------------------------------------- build

def renamer(copy: int, base: str):
    """A function renaming the document-scoped IRIs of one N-Quads line for copy ``copy``."""
    base_b = base.encode()
    document = b"<" + base_b + b"document/"
    renamed_document = document + f"c{copy}-".encode()
    claim = re.compile(b"<" + re.escape(base_b) + b"claim/([0-9a-f]{16})")
    prefix = f"c{copy}:".encode()
    memo: dict[bytes, bytes] = {}

    def new_claim(match: re.Match) -> bytes:
        old = match.group(1)
        new = memo.get(old)
        if new is None:
            new = memo[old] = hashlib.sha1(prefix + old).hexdigest()[:16].encode()
        return b"<" + base_b + b"claim/" + new

    def rename(line: bytes) -> bytes:
        line = line.replace(document, renamed_document)
        if b"claim/" in line:
            line = claim.sub(new_claim, line)
        if FILE_NAME in line:
            head, _, tail = line.partition(FILE_NAME + b' "')
            line = head + FILE_NAME + b' "' + f"c{copy}-".encode() + tail
        return line

    return rename


def build(args) -> dict:
    out = Path(args.out).resolve()  # kb reindex below runs in the checkout's folder
    if out.exists() and any(out.iterdir()):
        sys.exit(f"{out}: not empty")
    work = Path(args.work or out.parent / (out.name + "-work"))
    work.mkdir(parents=True, exist_ok=True)
    base = config.base_iri()
    ontology_graph = f"<{base}graph/ontology> .\n".encode()
    figures: dict = {"copies": args.copies, "load_average_start": load_average()}

    t = time.perf_counter()
    source = ox.Store.read_only(str(args.source))
    figures["source"] = claims_and_quads(source)
    source_nq = work / "source.nq"
    source.dump(str(source_nq), ox.RdfFormat.N_QUADS)
    del source
    figures["dump_seconds"] = time.perf_counter() - t
    print(f"dumped {figures['source']} in {figures['dump_seconds']:.1f} s", file=sys.stderr)

    t = time.perf_counter()
    copies_nq = work / "copies.nq"
    with open(copies_nq, "wb") as fh:
        for copy in range(args.copies):
            rename = renamer(copy, base) if copy else None
            with open(source_nq, "rb") as src:
                for line in src:
                    if rename is not None:
                        if line.endswith(ontology_graph):
                            continue  # one ontology graph, shared by every copy
                        line = rename(line)
                    fh.write(line)
            print(f"copy {copy} written ({time.perf_counter() - t:.0f} s)", file=sys.stderr)
    figures["copy_seconds"] = time.perf_counter() - t
    figures["nq_bytes"] = copies_nq.stat().st_size

    t = time.perf_counter()
    store = ox.Store(str(out))
    store.bulk_load(path=str(copies_nq), format=ox.RdfFormat.N_QUADS)
    figures["bulk_load_seconds"] = time.perf_counter() - t
    print(f"bulk_load {figures['bulk_load_seconds']:.0f} s", file=sys.stderr)
    t = time.perf_counter()
    store.optimize()
    figures["optimize_seconds"] = time.perf_counter() - t
    figures["result"] = claims_and_quads(store)
    store.flush()
    del store
    print(f"optimized: {figures['result']}", file=sys.stderr)

    t = time.perf_counter()
    reindex = subprocess.run([*KB, "reindex", "--no-progress", "--store", str(out)], cwd=ROOT,
                             capture_output=True, text=True)
    figures["reindex_seconds"] = time.perf_counter() - t
    figures["reindex"] = (reindex.stdout + reindex.stderr).strip()[-500:]
    if reindex.returncode != 0:
        sys.exit(f"{out}: kb reindex failed: {figures['reindex']}")
    figures["store_bytes"] = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    figures["load_average_end"] = load_average()
    if not args.keep:
        source_nq.unlink()
        copies_nq.unlink()
    return figures


def build_markdown(f: dict) -> str:
    r = f["result"]
    return "\n".join([
        f"| source store | {f['source']['claims']:,} claims, {f['source']['quads']:,} quads |",
        f"| copies | {f['copies']} |",
        f"| result | {r['claims']:,} claims, {r['quads']:,} quads, {r['graphs']:,} graphs |",
        f"| N-Quads written | {f['nq_bytes'] / 1e9:.1f} GB |",
        f"| dump / copy / bulk_load / optimize / reindex | {f['dump_seconds']:.0f} s / {f['copy_seconds']:.0f} s / "
        f"{f['bulk_load_seconds']:.0f} s / {f['optimize_seconds']:.0f} s / {f['reindex_seconds']:.0f} s |",
        f"| store on disk | {f['store_bytes'] / 1e9:.2f} GB |",
        f"| load average | {f['load_average_start']} -> {f['load_average_end']} |",
    ])


# ---------------------------------------------------------------- queries

PAGE_MARK = re.compile(r"^[ \t]*# PAGE[ \t]*$", re.MULTILINE)  # as kb/web/pages.py finds it
PAGE_SIZE = 25  # the pages' page size
BROWSE = {  # issue 5's browse queries: (query, variant)
    "a speaker's claims newest first": ("speaker-claims", "page"),
    "a topic's claims in a date range": ("topic-claims", "page, dates"),
    "counts per topic": ("topic-list", ""),
}


class Budget(Exception):
    pass


def _alarm(signum, frame):
    raise Budget


class Samples:
    """Parameter values drawn from the store: busy and long-tail speakers and topics, documents, claims, words, dates."""

    def __init__(self, store: ox.Store, rng: random.Random):
        self.rng = rng
        by = lambda p: [(r[0].value, int(r[1].value)) for r in store.query(  # noqa: E731
            f"SELECT ?x (COUNT(?c) AS ?n) WHERE {{ ?c a <{SCHEMA}Claim> ; <{SCHEMA}{p}> ?x }} "
            "GROUP BY ?x ORDER BY DESC(?n)", use_default_graph_as_union=True)]
        self.speakers, self.topics = by("author"), by("about")
        ontology = f"{config.base_iri()}graph/ontology"
        self.documents = sorted(g.value for g in store.named_graphs() if g.value != ontology)
        self.claims: list[str] = []
        self.words: list[str] = []
        claim_type = (ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), ox.NamedNode(SCHEMA + "Claim"))
        for document in rng.sample(self.documents, min(40, len(self.documents))):
            claims = [q.subject.value for q in store.quads_for_pattern(None, *claim_type, ox.NamedNode(document))]
            self.claims += rng.sample(claims, min(25, len(claims)))
        for claim in rng.sample(self.claims, min(200, len(self.claims))):
            for q in store.quads_for_pattern(ox.NamedNode(claim), ox.NamedNode(SCHEMA + "text"), None):
                self.words += [w.strip(".,;:!?\"'()«»") for w in q.object.value.split() if len(w) > 4]
        self.words = sorted({w for w in self.words if w.isalpha()})
        first, last = (r.value for r in next(iter(store.query(
            "SELECT (MIN(STR(?d)) AS ?a) (MAX(STR(?d)) AS ?b) WHERE { ?c <https://w3id.org/kb/ns#statedOn> ?d "
            "FILTER(STRLEN(STR(?d)) = 10) }", use_default_graph_as_union=True))))
        import datetime as dt
        self.first, self.last = dt.date.fromisoformat(first), dt.date.fromisoformat(last)

    def _ranked(self, ranked: list) -> str:
        """One of the five busiest a third of the time, else any (mostly the long tail)."""
        if self.rng.random() < 1 / 3:
            return self.rng.choice(ranked[:5])[0]
        return self.rng.choice(ranked)[0]

    def dates(self) -> tuple[str, str]:
        import datetime as dt
        span = (self.last - self.first).days
        start = self.first + dt.timedelta(days=self.rng.randint(0, max(span - 30, 0)))
        end = min(self.last, start + dt.timedelta(days=self.rng.randint(30, 730)))
        return start.isoformat(), end.isoformat()

    def value(self, name: str) -> str:
        if name == "speaker":
            return self._ranked(self.speakers)
        if name == "topic":
            return self._ranked(self.topics)
        if name == "document":
            return self.rng.choice(self.documents)
        if name == "claim":
            return self.rng.choice(self.claims)
        if name == "resource":
            kind = self.rng.choice(["claim", "claim", "speaker", "topic", "document"])
            return self.value(kind)
        if name == "text":
            return self.rng.choice(self.words)
        raise ValueError(f"no sample for parameter {name}")

    def values(self, query, dated: bool | None = None) -> dict[str, str]:
        """One set of values of a named query's parameters; optional dates half the time (or as ``dated``)."""
        out: dict[str, str] = {}
        names = {p.name for p in query.params}
        for p in query.params:
            if p.name in ("limit", "offset", "from", "to") or p.optional and p.type == "IRI":
                continue
            out[p.name] = self.rng.choice(self.words) if p.type == "xsd:string" else self.value(p.name)
        if {"speaker", "topic"} <= names and all(p.optional for p in query.params):  # export-claims
            for name in self.rng.choice([["speaker"], ["topic"], ["speaker", "topic"]]):
                out[name] = self.value(name)
        if "from" in names and (self.rng.random() < 0.5 if dated is None else dated):
            out["from"], out["to"] = self.dates()
        return out


def variants(query) -> list[tuple[str, object, object, bool | None, dict]]:
    """(variant name, the query kb runs, the query pyoxigraph and rdflib run, dates, paging values):
    as `kb query` runs it, and paged as the pages page it.  kb is given the page as the
    query's limit/offset parameters (so it may take the page from the side index); the raw
    store and rdflib run the query with LIMIT/OFFSET in place of its "# PAGE" line, as kb
    does without an index."""
    from dataclasses import replace
    out = [("", query, query, None, {})]
    if PAGE_MARK.search(query.text):
        def paged(offset: int):
            return replace(query, text=PAGE_MARK.sub(f"LIMIT {PAGE_SIZE} OFFSET {offset}", query.text, count=1))
        page = {"limit": str(PAGE_SIZE), "offset": "0"} if any(p.name == "limit" for p in query.params) else {}
        mine = query if page else paged(0)
        out = [("all rows", query, query, None, {}), ("page", mine, paged(0), False, page)]
        if any(p.name == "from" for p in query.params):
            out.append(("page, dates", mine, paged(0), True, page))
    return out


def _time_runs(run, params: list, budget: float, alarm: float | None = None) -> tuple[list[float], list[int]]:
    """Run ``run(values)`` over ``params`` until the time budget is spent (at least once); ms and row counts."""
    import signal
    times, rows = [], []
    spent = 0.0
    for values in params:
        if times and spent > budget:
            break
        if alarm:
            signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, alarm)
        start = time.perf_counter()
        try:
            n = run(values)
        except Budget:
            times.append(float("inf"))
            rows.append(-1)
            break
        finally:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
        elapsed = time.perf_counter() - start
        spent += elapsed
        times.append(elapsed * 1000)
        rows.append(n)
    return times, rows


def queries_bench(args) -> dict:
    from kb import queries as kbq
    from kb.remote import bind as remote_bind
    from kb.store import EmbeddedStore, to_ox

    rng = random.Random(args.seed)
    kb_store = EmbeddedStore.open(args.store, read_only=True)
    raw = kb_store._ox  # the same pyoxigraph store, without kb around it
    t = time.perf_counter()
    samples = Samples(raw, rng)
    figures: dict = {"store": claims_and_quads(raw), "load_average_start": load_average(),
                     "sampling_seconds": time.perf_counter() - t, "runs": args.runs,
                     "speakers": len(samples.speakers), "topics": len(samples.topics),
                     "busiest_speaker_claims": samples.speakers[0][1],
                     "busiest_topic_claims": samples.topics[0][1], "queries": []}
    print(f"sampled in {figures['sampling_seconds']:.1f} s", file=sys.stderr)

    dataset = None
    if args.rdflib:
        dataset, figures["rdflib_load"] = rdflib_dataset(raw, Path(args.store))

    names = args.only.split(",") if args.only else kbq.query_names()
    slow = [n for n in args.slow.split(",") if n] if args.slow else []
    names = [n for n in names if n not in slow] + [n for n in names if n in slow]  # the slow ones last
    for name in names:
        query = kbq.load_query(name)
        for variant, mine, q, dated, paging in variants(query):
            params = [samples.values(q, dated) | paging for _ in range(args.runs)]

            def run_kb(values, q=mine):
                result = kbq.run(kb_store, q, values)
                return len(result.rows) if hasattr(result, "rows") else len(result) if hasattr(result, "__len__") else 1

            def run_raw(values, q=q):
                bindings, _ = kbq.bind(q, {k: v for k, v in values.items() if k not in kbq.PAGING})
                result = raw.query(q.text, use_default_graph_as_union=True,
                                   substitutions={ox.Variable(k): to_ox(v) for k, v in bindings.items()})
                if isinstance(result, ox.QueryBoolean):
                    return 1
                return sum(1 for _ in result)

            row = {"query": name, "variant": variant}
            # kb and raw alternate run by run, so that the load of the machine falls on both alike
            kb_t, raw_t, kb_n, raw_n = [], [], [], []
            spent = 0.0
            for i, values in enumerate(params):
                if kb_t and (spent > args.budget or name in slow):
                    break
                pair = [(run_kb, kb_t, kb_n), (run_raw, raw_t, raw_n)]
                if args.raw_runs is not None and len(raw_t) >= args.raw_runs:
                    pair = pair[:1]  # the raw store has run enough: kb's runs go on alone
                for fn, ts, ns in (pair if i % 2 == 0 else pair[::-1]):
                    start = time.perf_counter()
                    ns.append(fn(values))
                    ts.append((time.perf_counter() - start) * 1000)
                    spent += ts[-1] / 1000
            row.update(kb=stats_of(kb_t), raw=stats_of(raw_t), rows_median=statistics.median(kb_n),
                       rows_max=max(kb_n), same_rows=kb_n[:len(raw_n)] == raw_n[:len(kb_n)])
            row["kb_over_raw_p50"] = row["kb"]["p50"] / row["raw"]["p50"]
            if dataset is not None:
                prepared = rdflib_prepare(q.text)
                graph_query = prepared.algebra.name != "SelectQuery"

                how = {"binding": "initBindings"}

                def run_rdflib(values, q=q, prepared=prepared, how=how):
                    bindings, _ = kbq.bind(q, {k: v for k, v in values.items() if k not in kbq.PAGING})
                    if how["binding"] == "initBindings":
                        try:
                            result = dataset.query(prepared, initBindings=bindings)
                            n = 1 if result.type == "ASK" else sum(1 for _ in result)
                            return n
                        except Budget:
                            raise
                        except Exception as exc:  # rdflib's engine fails on some initBindings
                            how.update(binding="VALUES", error=f"{type(exc).__name__}: {exc}"[:200])
                    # as kb binds on a SPARQL server: VALUES blocks of typed terms (parsed each run)
                    result = dataset.query(remote_bind(q.text, bindings))
                    return 1 if result.type == "ASK" else sum(1 for _ in result)

                try:
                    rd_t, rd_n = _time_runs(run_rdflib, params, args.rdflib_budget, alarm=args.rdflib_timeout)
                except Exception as exc:
                    row["rdflib_error"] = f"{type(exc).__name__}: {exc}"[:300]
                    figures["queries"].append(row)
                    print(json.dumps(row), file=sys.stderr)
                    continue
                row["rdflib"] = stats_of(rd_t)
                row["rdflib_binding"] = how
                row["rdflib_rows_match"] = sum(a == b for a, b in zip(rd_n, raw_n)) if not graph_query else None
                row["rdflib_over_kb_p50"] = row["rdflib"]["p50"] / row["kb"]["p50"]
            figures["queries"].append(row)
            print(json.dumps(row), file=sys.stderr)
    figures["load_average_end"] = load_average()
    return figures


def stats_of(ms: list[float]) -> dict:
    return {"runs": len(ms), "p50": percentile(ms, 0.5), "p95": percentile(ms, 0.95), "max": max(ms)}


def rdflib_prepare(text: str):
    from rdflib.plugins.sparql import prepareQuery
    return prepareQuery(text)


def rdflib_dataset(raw: ox.Store, store_dir: Path):
    """The store's quads parsed into rdflib's in-memory Dataset (its default graph the union): time and memory."""
    from rdflib import Dataset
    path = store_dir.parent / (store_dir.name + "-rdflib.nq")
    raw.dump(str(path), ox.RdfFormat.N_QUADS)
    before = rss_kb(os.getpid())
    start = time.perf_counter()
    dataset = Dataset(default_union=True)
    dataset.parse(str(path), format="nquads")
    load = {"seconds": time.perf_counter() - start, "rss_mb": (rss_kb(os.getpid()) - before) / 1024,
            "bytes": path.stat().st_size}
    path.unlink()
    print(f"rdflib: {load}", file=sys.stderr)
    return dataset, load


def queries_markdown(f: dict) -> str:
    with_rdflib = any("rdflib" in r for r in f["queries"])
    head = "| query | kb p50 | kb p95 | raw p50 | raw p95 | kb / raw (p50) | runs | rows (median) |"
    sep = "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    if with_rdflib:
        head += " rdflib p50 | rdflib p95 | rdflib runs | rdflib / kb (p50) |"
        sep += " ---: | ---: | ---: | ---: |"
    ms = lambda v: "cut" if v == float("inf") else f"{v:,.1f}"  # noqa: E731
    lines = [head, sep]
    for r in f["queries"]:
        name = r["query"] + (f" ({r['variant']})" if r["variant"] else "")
        line = (f"| {name} | {ms(r['kb']['p50'])} | {ms(r['kb']['p95'])} | {ms(r['raw']['p50'])} | "
                f"{ms(r['raw']['p95'])} | {r['kb_over_raw_p50']:.2f} | {r['kb']['runs']} | {r['rows_median']:,.0f} |")
        if with_rdflib and "rdflib" in r:
            ratio = r["rdflib_over_kb_p50"]
            cut = f.get("rdflib_timeout", 20) * 1000 / r["kb"]["p50"]  # a run cut at the time-out: at least this
            line += (f" {ms(r['rdflib']['p50'])} | {ms(r['rdflib']['p95'])} | {r['rdflib']['runs']} | "
                     + ((f"> {cut:,.1f} |" if cut >= 1 else "? |") if ratio == float("inf") else f"{ratio:,.1f} |"))
        elif with_rdflib:
            line += " error | | | |"
        lines.append(line)
    lines.append(f"\n{f['store']['claims']:,} claims, {f['store']['quads']:,} quads; load average "
                 f"{f['load_average_start']} -> {f['load_average_end']}")
    return "\n".join(lines)


def table(args) -> dict:
    """The rows a ``queries`` run wrote on stderr (one JSON object a line), as its table: for a run cut short."""
    rows = [json.loads(line) for line in Path(args.log).read_text().splitlines() if line.startswith('{"query"')]
    return {"queries": rows, "store": {"claims": 0, "quads": 0}, "load_average_start": "?", "load_average_end": "?"}


# ---------------------------------------------------------------- memory

class Http:
    """Enough of Flask's test client for bench/pages.py's samples(), over real HTTP."""

    def __init__(self, port: int, timeout: float = 300):
        self.root, self.timeout = f"http://127.0.0.1:{port}", timeout

    def get(self, path: str, headers: dict | None = None):
        import urllib.error
        import urllib.request
        request = urllib.request.Request(self.root + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return Answer(answer.status, answer.read())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.read())


class Answer:
    def __init__(self, status_code: int, body: bytes):
        self.status_code, self.body = status_code, body

    def get_json(self):
        return json.loads(self.body)

    def get_data(self, as_text: bool = False):
        return self.body.decode("utf-8") if as_text else self.body


def memory(args) -> dict:
    import socket
    import urllib.parse
    sys.path.insert(0, str(ROOT / "bench"))
    import pages as page_bench  # the pages and their varied URLs

    figures: dict = {"load_average_start": load_average()}
    if not args.port:
        with socket.socket() as sock:  # a free port, so as not to measure someone else's server
            sock.bind(("127.0.0.1", 0))
            args.port = sock.getsockname()[1]
    start = time.perf_counter()
    server = subprocess.Popen([*KB, "serve", "--store", str(args.store), "--port", str(args.port)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = Sampler(server.pid, 0.1)
    try:
        while True:
            if server.poll() is not None:
                sys.exit(f"kb serve stopped: {server.stderr.read().decode()[-2000:]}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", args.port)) == 0:
                    break
            time.sleep(0.05)
        figures["listening_seconds"] = time.perf_counter() - start
        time.sleep(1.0)  # the query workers start beside the server
        if server.poll() is not None:
            sys.exit(f"kb serve stopped: {server.stderr.read().decode()[-2000:]}")
        after_start = sampler.sample()
        figures["after_start_mb"] = {"server": after_start.get(server.pid, 0) / 1024,
                                     "workers": (sum(after_start.values()) - after_start.get(server.pid, 0)) / 1024,
                                     "processes": len(after_start)}
        sampler.start()
        client = Http(args.port)
        rng = random.Random(args.seed)
        t = time.perf_counter()
        first = client.get("/", headers={"Accept": page_bench.BROWSER})
        figures["first_page_seconds"] = time.perf_counter() - t
        sample = page_bench.samples(client, config.base_iri())
        makers = list(page_bench.pages(sample).items())
        words = ["ceasefire", "sanctions", "Accord", "security", "restructuring", "talks", "peace plan",
                 "нефть", "reform", "energy"]
        makers += [("search", lambda r: "/search?q=" + urllib.parse.quote(r.choice(words))),
                   ("sparql", lambda r: "/sparql?query=" + urllib.parse.quote(
                       "SELECT ?c ?t WHERE { ?c <https://schema.org/text> ?t } LIMIT " + str(r.randint(1, 500))))]
        statuses: dict[str, int] = {}
        times: dict[str, list[float]] = {}
        for i in range(args.requests):
            name, make = makers[i % len(makers)]
            t = time.perf_counter()
            answer = client.get(make(rng), headers={"Accept": page_bench.BROWSER})
            times.setdefault(name, []).append((time.perf_counter() - t) * 1000)
            statuses[str(answer.status_code)] = statuses.get(str(answer.status_code), 0) + 1
        after = sampler.sample()
        figures["after_requests_mb"] = {"server": after.get(server.pid, 0) / 1024,
                                        "workers": (sum(after.values()) - after.get(server.pid, 0)) / 1024,
                                        "processes": len(after)}
        figures["peak_mb"] = {"server": sampler.peak_main / 1024, "total": sampler.peak_total / 1024}
        figures["requests"], figures["statuses"] = args.requests, statuses
        figures["first_status"] = first.status_code
        figures["page_ms"] = {k: {"n": len(v), "p50": percentile(v, 0.5), "max": max(v)} for k, v in times.items()}
    finally:
        workers = children(server.pid)
        server.terminate()
        server.wait(timeout=30)
        for pid in workers:  # query workers the server left behind, if any
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        if sampler.is_alive():
            sampler.stop()
    figures["load_average_end"] = load_average()
    return figures


def memory_markdown(f: dict) -> str:
    a, b, p = f["after_start_mb"], f["after_requests_mb"], f["peak_mb"]
    return "\n".join([
        "| when | server | query workers | total |",
        "| --- | ---: | ---: | ---: |",
        f"| after start ({a['processes']} processes) | {a['server']:,.0f} MB | {a['workers']:,.0f} MB | "
        f"{a['server'] + a['workers']:,.0f} MB |",
        f"| after {f['requests']} requests | {b['server']:,.0f} MB | {b['workers']:,.0f} MB | "
        f"{b['server'] + b['workers']:,.0f} MB |",
        f"| peak (sampled every 0.1 s) | {p['server']:,.0f} MB | | {p['total']:,.0f} MB |",
        f"\nstatuses {f['statuses']}; first page {f['first_page_seconds']:.1f} s; load average "
        f"{f['load_average_start']} -> {f['load_average_end']}",
    ])


# ---------------------------------------------------------------- validate

def validate(args) -> dict:
    store = ox.Store.read_only(str(args.store))
    sizes = claims_and_quads(store)
    del store
    figures = {"store": sizes, "load_average_start": load_average()}
    extra = args.options.split() if args.options else []
    run = timed_process([*KB, "validate", "--store", str(args.store), *extra], stdout=subprocess.PIPE)
    figures.update(run, load_average_end=load_average())
    figures["seconds_per_100k_claims"] = run["seconds"] / (sizes["claims"] / 100_000)
    return figures


def validate_markdown(f: dict) -> str:
    return (f"| {f['store']['claims']:,} | {f['store']['quads']:,} | {f['seconds']:.0f} s | "
            f"{f['seconds_per_100k_claims']:.0f} s | {f['peak_rss_mb']:,.0f} MB | exit {f['status']} | "
            f"{f['load_average_start']} -> {f['load_average_end']} |"
            + (f"\n\nkb validate said: {f['stderr'].strip().splitlines()[-1]}" if f["stderr"].strip() else ""))


# ---------------------------------------------------------------- export

def export(args) -> dict:
    out = Path(args.out or Path(args.store).parent)
    out.mkdir(parents=True, exist_ok=True)
    figures: dict = {"load_average_start": load_average()}
    kb_file, ox_file = out / "kb-export.nq", out / "ox-dump.nq"
    with open(kb_file, "wb") as fh:
        figures["kb"] = timed_process([*KB, "export", "--store", str(args.store), "--format", "nq"], stdout=fh,
                                      seconds=args.seconds)
    figures["kb"]["bytes"] = kb_file.stat().st_size
    kb_file.unlink()
    dump = ("import sys, pyoxigraph as ox; "
            "ox.Store.read_only(sys.argv[1]).dump(sys.argv[2], ox.RdfFormat.N_QUADS)")
    figures["pyoxigraph"] = timed_process([sys.executable, "-c", dump, str(args.store), str(ox_file)],
                                          seconds=args.seconds)
    figures["pyoxigraph"]["bytes"] = ox_file.stat().st_size
    ox_file.unlink()
    for side in ("kb", "pyoxigraph"):
        figures[side]["mb_per_s"] = figures[side]["bytes"] / 1e6 / figures[side]["seconds"]
    figures["kb_speed_vs_pyoxigraph"] = figures["kb"]["mb_per_s"] / figures["pyoxigraph"]["mb_per_s"]
    figures["load_average_end"] = load_average()
    return figures


def export_markdown(f: dict) -> str:
    rows = [f"| {side} | {f[side]['bytes'] / 1e9:.2f} GB | {f[side]['seconds']:.0f} s | "
            f"{f[side]['mb_per_s']:.1f} MB/s | {f[side]['peak_rss_mb']:,.0f} MB | "
            f"{'stopped' if f[side].get('stopped') else 'exit ' + str(f[side]['status'])} | "
            f"{' '.join(map(str, f[side].get('rss_mb_every_10s', [])))} |"
            for side in ("kb", "pyoxigraph")]
    return "\n".join(rows + [f"kb / pyoxigraph speed: {f['kb_speed_vs_pyoxigraph']:.2f}; load average "
                              f"{f['load_average_start']} -> {f['load_average_end']}"])


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="A store of COPIES renamed copies of a pipeline-built store.")
    p.add_argument("--from", dest="source", required=True, metavar="STORE")
    p.add_argument("--copies", type=int, default=10)
    p.add_argument("--out", required=True, metavar="BIG")
    p.add_argument("--work", metavar="DIR")
    p.add_argument("--keep", action="store_true", help="Keep the N-Quads files.")
    p.set_defaults(run=build, markdown=build_markdown)

    p = sub.add_parser("queries", help="Every named query: kb, raw pyoxigraph and rdflib's Dataset.")
    p.add_argument("--store", required=True)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--budget", type=float, default=30.0, help="Seconds at most per query for kb and raw together.")
    p.add_argument("--raw-runs", type=int, default=None,
                   help="Runs of the raw store at most per query; kb's runs go on alone after them.")
    p.add_argument("--rdflib", action="store_true", help="Also rdflib's in-memory Dataset (needs memory!).")
    p.add_argument("--rdflib-budget", type=float, default=30.0, help="Seconds at most per query for rdflib.")
    p.add_argument("--rdflib-timeout", type=float, default=60.0, help="Seconds at most for one rdflib run.")
    p.add_argument("--only", metavar="NAMES", help="Only these queries (comma-separated).")
    p.add_argument("--slow", metavar="NAMES", help="Run these queries once each, last (comma-separated).")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(run=queries_bench, markdown=queries_markdown)

    p = sub.add_parser("table", help="The table of a queries run from its stderr log (when it was cut short).")
    p.add_argument("log")
    p.set_defaults(run=table, markdown=queries_markdown)

    p = sub.add_parser("memory", help="Resident memory of kb serve and its query workers.")
    p.add_argument("--store", required=True)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--port", type=int, default=0, help="Default: a free port.")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(run=memory, markdown=memory_markdown)

    p = sub.add_parser("validate", help="kb validate on a store: time, per 100k claims, peak memory.")
    p.add_argument("--store", required=True)
    p.add_argument("--options", default="", help="More options of kb validate, e.g. '--jobs 2 --timing --no-progress'.")
    p.set_defaults(run=validate, markdown=validate_markdown)

    p = sub.add_parser("export", help="kb export --format nq against pyoxigraph's Store.dump.")
    p.add_argument("--store", required=True)
    p.add_argument("--out", metavar="DIR", help="Where the two files go (deleted after).")
    p.add_argument("--seconds", type=float, help="Stop each after about this long: speeds over that time.")
    p.set_defaults(run=export, markdown=export_markdown)

    args = parser.parse_args(argv)
    figures = args.run(args)
    print(json.dumps(figures, indent=1) if args.json else args.markdown(figures))


if __name__ == "__main__":
    main()
