"""CONSTRUCT and DESCRIBE answers: kb against raw pyoxigraph on the same store, read and written.

    python bench/construct.py --store STORE [--runs 100] [--budget 30] [--only NAMES] [--seed 1]
                              [--repeat 1] [--no-http] [--json]

For each graph query of queries/ (claim-export, describe, describe-page,
export-claims, or --only NAMES), with parameter values drawn from the store
as bench/scale.py draws them (busy and long-tail speakers and topics,
claims, documents; anew for each pair), four pairs, kb and raw alternating run by
run so that the machine's load falls on both alike:

- ``answer``: ``kb.queries.run`` on the read-only EmbeddedStore and ``len``
  of its answer, against the same text on the same ``pyoxigraph.Store``
  with ``substitutions=``, its triples counted (what bench/scale.py's
  ``queries`` measures);
- ``written``: ``kb query NAME`` as the command runs it, its answer written
  as Turtle (``queries.render(queries.run(...), "table")``, the format
  every version of kb has: now Turtle by pyoxigraph with the prefixes of
  ontology/kb.ttl, before by rdflib), against raw pyoxigraph's answer serialized as Turtle
  with the same prefixes by ``pyoxigraph.serialize``;
- ``/sparql`` (unless --no-http): the query with its parameters as VALUES
  blocks (kb.remote.bind) POSTed to ``kb serve --store STORE`` on a loopback
  port, answered as Turtle, against the same text on raw pyoxigraph,
  serialized as Turtle (as the endpoint writes it: no prefixes);
- ``/sparql vs server`` (unless --no-http): the same request to ``kb serve``
  against the same request to Oxigraph's own server on the same store
  (``oxigraph serve-read-only --union-default-graph``, from the PyPI package
  ``oxigraph``), the peer with the same HTTP in between.

Times in ms, p50 and p95 over the values; the ratio is kb's p50 (p95) over
raw's.  With ``--repeat N`` each value runs N times, kb and raw
alternating, and each side's fastest run is its time for that value: on a
loaded machine the figures then measure kb more than the scheduler.  Run it
from another checkout to measure that checkout's kb: the script imports kb
from the checkout it sits in, and starts ``kb serve`` from it too.  Note
the load average (printed) beside the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pyoxigraph as ox  # noqa: E402

from scale import Samples, load_average, percentile  # noqa: E402

GRAPH_QUERIES = ("claim-export", "describe", "describe-page", "export-claims")


def stats(ms: list[float]) -> dict:
    return {"runs": len(ms), "p50": percentile(ms, 0.5), "p95": percentile(ms, 0.95)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(store: str, port: int) -> subprocess.Popen:
    """``kb serve`` of this checkout on ``store`` (read-only), waited for until it listens."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-c", "from kb.cli import main; main()", "serve", "--store", store,
                               "--port", str(port), "--query-timeout", "300", "--max-rows", "1000000"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while True:
        if server.poll() is not None:
            sys.exit(f"kb serve stopped: {server.stderr.read().decode()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    time.sleep(1.0)  # the query workers start beside the server
    return server


def start_oxigraph(store: str, port: int) -> subprocess.Popen:
    """Oxigraph's own server, read-only, on ``store``, waited for until it answers."""
    server = subprocess.Popen([str(Path(sys.executable).parent / "oxigraph"), "serve-read-only", "--location", store,
                               "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while True:
        if server.poll() is not None:
            sys.exit(f"oxigraph serve-read-only stopped: {server.stderr.read().decode()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.05)


def post(url: str, text: str) -> bytes:
    request = urllib.request.Request(url, data=text.encode("utf-8"), headers={
        "Content-Type": "application/sparql-query", "Accept": "text/turtle"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return response.read()


def run(args) -> dict:
    from kb import queries as kbq
    from kb.remote import bind
    from kb.store import EmbeddedStore, to_ox

    rng = random.Random(args.seed)
    store = EmbeddedStore.open(args.store, read_only=True)
    raw = store._ox  # the same pyoxigraph store, without kb around it
    prefixes = kbq.prefixes()
    samples = Samples(raw, rng)
    figures: dict = {"load_average_start": load_average(), "runs": args.runs, "queries": []}
    server = oxigraph = None
    if not args.no_http:
        port = free_port()
        server = start_server(str(args.store), port)
        endpoint = f"http://127.0.0.1:{port}/sparql"
        port = free_port()
        oxigraph = start_oxigraph(str(args.store), port)
        peer = f"http://127.0.0.1:{port}/query"
    try:
        for name in (args.only.split(",") if args.only else GRAPH_QUERIES):
            query = kbq.load_query(name)

            def raw_answer(values, query=query):
                bindings, _ = kbq.bind(query, values)
                return raw.query(query.text, use_default_graph_as_union=True,
                                 substitutions={ox.Variable(k): to_ox(v) for k, v in bindings.items()})

            pairs = {
                "answer": (lambda v, q=query: len(kbq.run(store, q, v)),
                           lambda v: sum(1 for _ in raw_answer(v))),
                "written": (lambda v, q=query: len(kbq.render(kbq.run(store, q, v), "table")),
                            lambda v: len(ox.serialize(raw_answer(v), format=ox.RdfFormat.TURTLE,
                                                       prefixes=prefixes))),
            }
            if server is not None:
                def http(values, query=query):
                    return len(post(endpoint, bind(query.text, kbq.bind(query, values)[0])))

                def raw_text(values, query=query):
                    text = bind(query.text, kbq.bind(query, values)[0])
                    answer = raw.query(text, use_default_graph_as_union=True)
                    return len(ox.serialize(answer, format=ox.RdfFormat.TURTLE))

                def peer_http(values, query=query):
                    return len(post(peer, bind(query.text, kbq.bind(query, values)[0])))

                pairs["/sparql"] = (http, raw_text)
                pairs["/sparql vs server"] = (http, peer_http)
            for how, (kb_run, raw_run) in pairs.items():
                # values drawn anew for each pair: the same text again would find check_query's cache
                params = [samples.values(query) for _ in range(args.runs)]
                kb_t, raw_t, spent = [], [], 0.0
                for values in params:
                    if kb_t and spent > args.budget:
                        break
                    best = {kb_run: float("inf"), raw_run: float("inf")}
                    for i in range(args.repeat):  # each value --repeat times, alternating; its fastest kept
                        for fn in ((kb_run, raw_run) if i % 2 == 0 else (raw_run, kb_run)):
                            start = time.perf_counter()
                            fn(values)
                            elapsed = time.perf_counter() - start
                            best[fn] = min(best[fn], elapsed * 1000)
                            spent += elapsed
                    kb_t.append(best[kb_run])
                    raw_t.append(best[raw_run])
                row = {"query": name, "how": how, "kb": stats(kb_t), "raw": stats(raw_t)}
                row["ratio_p50"] = row["kb"]["p50"] / row["raw"]["p50"]
                row["ratio_p95"] = row["kb"]["p95"] / row["raw"]["p95"]
                figures["queries"].append(row)
                print(json.dumps(row), file=sys.stderr)
    finally:
        for process in (server, oxigraph):
            if process is not None:
                process.terminate()
                process.wait(30)
    figures["load_average_end"] = load_average()
    return figures


def markdown(f: dict) -> str:
    lines = ["| query | how | kb p50 | kb p95 | raw p50 | raw p95 | kb / raw p50 | kb / raw p95 | runs |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in f["queries"]:
        lines.append(f"| {r['query']} | {r['how']} | {r['kb']['p50']:,.2f} | {r['kb']['p95']:,.2f} | "
                     f"{r['raw']['p50']:,.2f} | {r['raw']['p95']:,.2f} | {r['ratio_p50']:.2f} | "
                     f"{r['ratio_p95']:.2f} | {r['kb']['runs']} |")
    lines.append(f"\nload average {f['load_average_start']} -> {f['load_average_end']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--budget", type=float, default=30.0, help="Seconds at most per query and pair.")
    parser.add_argument("--only", metavar="NAMES", help="Only these queries (comma-separated).")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1,
                        help="Run each value this many times, alternating, and keep its fastest run.")
    parser.add_argument("--no-http", action="store_true", help="Leave out /sparql (no kb serve).")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = parser.parse_args(argv)
    figures = run(args)
    print(json.dumps(figures, indent=1) if args.json else markdown(figures))


if __name__ == "__main__":
    main()
