"""What an HTTP answer costs before any query: `kb serve` against Oxigraph's own server.

    python bench/http_floor.py --store STORE [--runs 300] [--json]

On the same store, read-only, one client in this process (urllib, a new
connection per request, as bench/construct.py sends them), kb and the peer
alternating request by request:

- ``kb static``: a static file from `kb serve` (/static/sparql.js): waitress
  and Flask with no store, no query: the floor under every answer of kb;
- ``kb /sparql``: a small SELECT (three claims) answered as SPARQL JSON;
- ``oxigraph /query``: the same query to `oxigraph serve-read-only
  --union-default-graph` (the PyPI package ``oxigraph``), whole;
- ``raw pyoxigraph``: the same query on a read-only ``pyoxigraph.Store`` in
  this process, its answer serialized as SPARQL JSON: the query's own cost.

Times in ms, p50 and p95 after 20 warm-up requests each.  Run it on the
seeds' store or a large one: the query is a small answer either way.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import pyoxigraph as ox  # noqa: E402

from construct import free_port, start_oxigraph, start_server  # noqa: E402
from scale import load_average, percentile  # noqa: E402

QUERY = "SELECT ?claim WHERE { ?claim a <https://schema.org/Claim> } LIMIT 3"
WARM_UP = 20


def fetch(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def in_process(store: ox.Store) -> float:
    started = time.perf_counter()
    store.query(QUERY, use_default_graph_as_union=True).serialize(format=ox.QueryResultsFormat.JSON)
    return (time.perf_counter() - started) * 1000


def run(args) -> dict:
    kb_port, peer_port = free_port(), free_port()
    kb = start_server(str(args.store), kb_port)
    peer = start_oxigraph(str(args.store), peer_port)
    raw = ox.Store.read_only(str(args.store))
    query = urllib.parse.urlencode({"query": QUERY})
    probes = {
        "kb static": lambda: fetch(f"http://127.0.0.1:{kb_port}/static/sparql.js"),
        "kb /sparql": lambda: fetch(f"http://127.0.0.1:{kb_port}/sparql?{query}&format=json"),
        "oxigraph /query": lambda: fetch(f"http://127.0.0.1:{peer_port}/query?{query}"),
        "raw pyoxigraph": lambda: in_process(raw),
    }
    times: dict[str, list[float]] = {name: [] for name in probes}
    try:
        for n in range(WARM_UP + args.runs):
            for name, probe in probes.items():
                ms = probe()
                if n >= WARM_UP:
                    times[name].append(ms)
    finally:
        for process in (kb, peer):
            process.terminate()
            process.wait(timeout=30)
    return {"load_average": load_average(), "runs": args.runs,
            "ms": {name: {"p50": percentile(ms, 0.5), "p95": percentile(ms, 0.95)} for name, ms in times.items()}}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"load average {result['load_average']}; {result['runs']} requests each")
    print("| request | p50 ms | p95 ms |")
    print("| --- | ---: | ---: |")
    for name, ms in result["ms"].items():
        print(f"| {name} | {ms['p50']:.2f} | {ms['p95']:.2f} |")


if __name__ == "__main__":
    main()
