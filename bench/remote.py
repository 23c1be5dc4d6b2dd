"""kb on a SPARQL server beside the embedded store: ingest and the browse queries, side by side.

    python bench/remote.py OUT_DIR [--runs 100] [--jobs 2] [--json]

OUT_DIR is a folder that bench/generate.py wrote (``python bench/generate.py
--claims 10000 OUT_DIR``); its ontology is used (KB_ONTOLOGY).  For each
backend -- the embedded store in a temporary folder, and Oxigraph's own
server (``oxigraph serve --union-default-graph --location …``, the PyPI
package ``oxigraph``) on a loopback port, on disk in a temporary folder --
it runs ``kb ingest --jobs N OUT_DIR/corpus --store …`` as a command and
times it (wall clock, the whole pipeline: read, extract, build RDF, validate,
store), then runs each browse query of issue 5 ``--runs`` times with varied
parameters (busy and long-tail speakers and topics, date ranges) through
kb's store interface, as the pages do (a page of 25 in place of the query's
"# PAGE" line), and reports p50 and p95 per backend and the ratio.  The
same parameters, in the same order, go to both backends.

    python bench/remote.py --store STORE [--runs 20] [--json]

With ``--store``, nothing is ingested: STORE is an embedded store (the
1M-claim store of bench/scale.py, say), read as it is, and the server gets
its quads the way the README's "A larger store" says: ``kb export --format
nq``, then Oxigraph's own bulk loader (``oxigraph load --location …``)
before the server starts; both steps are timed.  The browse queries then
run on both as above.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from rdflib import Literal, URIRef  # noqa: E402
from rdflib.namespace import XSD  # noqa: E402

from kb import queries  # noqa: E402
from kb.store import open_store  # noqa: E402
from oxigraph_server import oxigraph_command, oxigraph_server  # noqa: E402

PAGE_MARK = re.compile(r"^[ \t]*# PAGE[ \t]*$", re.MULTILINE)  # as kb/web/pages.py finds it
PAGE = "LIMIT 25 OFFSET 0"
BROWSE = {  # issue 5's browse queries: label -> (named query, parameters drawn)
    "a speaker's claims newest first": ("speaker-claims", ("speaker",)),
    "a topic's claims in a date range": ("topic-claims", ("topic", "from", "to")),
    "counts per topic": ("topic-list", ()),
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def ingest(corpus: Path, spec: str, jobs: int, env: dict) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from kb.cli import main; main()", "ingest", str(corpus),
                           "--jobs", str(jobs), "--store", spec], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"kb ingest failed on {spec}: {done.stderr[-2000:]}")
    return {"seconds": seconds, "output": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""}


def bulk_load(store_dir: Path, location: Path, work: Path, env: dict) -> dict:
    """STORE's quads into a new Oxigraph server store at ``location``, as the README says: ``kb export
    --format nq``, then ``oxigraph load``; each step timed."""
    dump = work / "kb.nq"
    out = {}
    for step, command in (
            ("export_seconds", [sys.executable, "-c", "from kb.cli import main; main()", "export", "--format", "nq",
                                "--store", str(store_dir), "-o", str(dump)]),
            ("load_seconds", [oxigraph_command(), "load", "--location", str(location), "--file", str(dump)])):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        out[step] = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command[-4:])} failed: {done.stderr[-2000:]}")
    out["nq_bytes"] = dump.stat().st_size
    dump.unlink()
    return out


def samples(store, runs: int, seed: int) -> dict[str, list[dict]]:
    """The parameters of each run of each browse query, drawn from the store."""
    rng = random.Random(seed)

    def ranked(predicate: str) -> list[str]:
        rows = store.query(f"SELECT ?x (COUNT(?c) AS ?n) WHERE {{ ?c a <https://schema.org/Claim> ; "
                           f"<https://schema.org/{predicate}> ?x }} GROUP BY ?x ORDER BY DESC(?n) ?x").rows
        return [str(x) for x, _ in rows]

    def pick(values: list[str]) -> str:  # one of the five busiest a third of the time, else any
        return rng.choice(values[:5]) if rng.random() < 1 / 3 else rng.choice(values)

    speakers, topics = ranked("author"), ranked("about")
    first, last = (dt.date.fromisoformat(str(v)) for v in store.query(
        "SELECT (MIN(STR(?d)) AS ?a) (MAX(STR(?d)) AS ?b) WHERE { ?c <https://w3id.org/kb/ns#statedOn> ?d "
        "FILTER(STRLEN(STR(?d)) = 10) }").rows[0])
    out: dict[str, list[dict]] = {}
    for label, (_, params) in BROWSE.items():
        out[label] = []
        for _ in range(runs):
            values = {}
            if "speaker" in params:
                values["speaker"] = URIRef(pick(speakers))
            if "topic" in params:
                values["topic"] = URIRef(pick(topics))
            if "from" in params:
                start = first + dt.timedelta(days=rng.randint(0, max((last - first).days - 30, 0)))
                end = min(last, start + dt.timedelta(days=rng.randint(30, 730)))
                values["from"] = Literal(start.isoformat(), datatype=XSD.date)
                values["to"] = Literal(end.isoformat(), datatype=XSD.date)
            out[label].append(values)
    return out


def time_queries(store, drawn: dict[str, list[dict]]) -> dict[str, dict]:
    out = {}
    for label, (name, _) in BROWSE.items():
        text = queries.load_query(name).text
        text, marked = PAGE_MARK.subn(PAGE, text, count=1)
        if not marked and name != "topic-list":
            text += "\n" + PAGE
        store.query(text, drawn[label][0])  # warm: the first run pays for caches
        took, rows = [], 0
        for values in drawn[label]:
            t0 = time.perf_counter()
            result = store.query(text, values)
            took.append(time.perf_counter() - t0)
            rows += len(result.rows)
        out[label] = {"p50_ms": percentile(took, 50) * 1000, "p95_ms": percentile(took, 95) * 1000,
                      "rows": rows}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, nargs="?", help="a folder bench/generate.py wrote")
    parser.add_argument("--store", type=Path, help="an embedded store, bulk loaded into the server (no ingest)")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if (args.out_dir is None) == (args.store is None):
        parser.error("give OUT_DIR or --store STORE")
    env = dict(os.environ)
    if args.out_dir is not None:
        env["KB_ONTOLOGY"] = os.environ["KB_ONTOLOGY"] = str(args.out_dir / "ontology")
    figures = {"load_average_start": os.getloadavg(), "date": dt.date.today().isoformat()}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        if args.store is not None:
            figures["bulk_load"] = bulk_load(args.store, Path(tmp) / "oxigraph", Path(tmp), env)
            specs = {"embedded": str(args.store),
                     "remote": stack.enter_context(oxigraph_server(Path(tmp) / "oxigraph"))}
        else:
            specs = {"embedded": str(Path(tmp) / "embedded"),
                     "remote": stack.enter_context(oxigraph_server(Path(tmp) / "oxigraph"))}
        drawn = None
        for backend, spec in specs.items():
            figures[backend] = {}
            if args.store is None:
                figures[backend]["ingest"] = ingest(args.out_dir / "corpus", spec, args.jobs, env)
            with open_store(spec, read_only=True) as store:
                if drawn is None:
                    drawn = samples(store, args.runs, args.seed)
                figures[backend]["claims"] = int(store.query(
                    "SELECT (COUNT(*) AS ?n) WHERE { ?c a <https://schema.org/Claim> }").rows[0][0])
                figures[backend]["queries"] = time_queries(store, drawn)
    figures["load_average_end"] = os.getloadavg()
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    e, r = figures["embedded"], figures["remote"]
    print(f"{e['claims']:,} claims (embedded), {r['claims']:,} (server); load average "
          f"{figures['load_average_start'][0]:.2f} -> {figures['load_average_end'][0]:.2f}")
    if "bulk_load" in figures:
        loaded = figures["bulk_load"]
        print(f"bulk load: kb export --format nq {loaded['export_seconds']:.1f} s "
              f"({loaded['nq_bytes'] / 1e9:.2f} GB), oxigraph load {loaded['load_seconds']:.1f} s")
    print(f"| | embedded | Oxigraph server | server / embedded |\n| --- | --- | --- | --- |")
    if "ingest" in e:
        print(f"| kb ingest --jobs {args.jobs} | {e['ingest']['seconds']:.1f} s | {r['ingest']['seconds']:.1f} s | "
              f"{r['ingest']['seconds'] / e['ingest']['seconds']:.2f} |")
    for label in BROWSE:
        a, b = e["queries"][label], r["queries"][label]
        print(f"| {label}, p50 / p95 | {a['p50_ms']:.1f} / {a['p95_ms']:.1f} ms | {b['p50_ms']:.1f} / "
              f"{b['p95_ms']:.1f} ms | {b['p50_ms'] / a['p50_ms']:.2f} / {b['p95_ms'] / a['p95_ms']:.2f} |")
        if a["rows"] != b["rows"]:
            print(f"  (rows differ: {a['rows']} embedded, {b['rows']} server)")


if __name__ == "__main__":
    main()
