"""Load test: many concurrent clients against `kb serve`, browsing pages and named SPARQL queries.

    python bench/load_test.py STORE_DIR [--clients 50] [--seconds 60] [--seed 1] [-- SERVE OPTIONS]

Starts `kb serve --store STORE_DIR` on a free loopback port (KB_ONTOLOGY and
KB_BASE as in the environment), picks what to ask for from the served store
(speakers, topics, claims, documents, words of the claims), then runs CLIENTS
threads for SECONDS, each with its own keep-alive connection, sending one
request after the other: the home page, /speakers, a speaker's page with
filters, /topics, a topic's page, a claim's page, a document's page,
/search?q=, and named queries of queries/ sent to /sparql (a speaker, topic,
document or text bound by VALUES).  Every answer is checked to be a 200 with
its whole body (tests/live_server.py ``complete``).  Prints the requests,
errors and p50/p95/p99 latencies per kind, as a Markdown table.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from kb import config  # noqa: E402
from live_server import LoadPlan, load_targets, percentile, run_load, running_server  # noqa: E402


def table(result) -> str:
    lines = ["| kind | requests | p50 | p95 | p99 | max |", "| --- | --- | --- | --- | --- | --- |"]
    every = [t for times in result.latencies.values() for t in times]
    rows = sorted(result.latencies.items()) + [("all", every)]
    for kind, times in rows:
        if not times:
            continue
        ms = [f"{percentile(times, p) * 1000:,.0f} ms" for p in (50, 95, 99)] + [f"{max(times) * 1000:,.0f} ms"]
        lines.append(f"| {kind} | {len(times):,} | " + " | ".join(ms) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log", type=Path, help="Write the server's output to this file.")
    ap.add_argument("serve_options", nargs="*", help="More options of kb serve (after --).")
    args = ap.parse_args()

    with running_server(args.store, *args.serve_options, log=args.log) as endpoint:
        base = endpoint.rsplit("/", 1)[0]
        started = time.monotonic()
        targets = load_targets(base, config.base_iri())
        print(f"targets picked in {time.monotonic() - started:.1f} s: "
              + ", ".join(f"{len(v)} {k}" for k, v in targets.items()), flush=True)
        plan = LoadPlan(targets, config.base_iri(), config.queries_dir())
        result = run_load(base, plan, args.clients, args.seconds, seed=args.seed)
    answered = result.requests - len(result.errors)
    print(f"{args.clients} clients, {result.seconds:.1f} s: {result.requests:,} requests "
          f"({answered / result.seconds:.1f} answered per second), {len(result.errors)} errors")
    for kind, path, wrong in result.errors[:20]:
        print(f"  error: {kind} {path}: {wrong}")
    print(table(result))
    if result.errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
