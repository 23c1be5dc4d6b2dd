"""Time every browsing page on a store, through Flask's test client.

    python bench/pages.py STORE [--runs 20] [--seed 1] [--fresh] [--sparql-only | --without-index | --side-by-side]
                          [--only TEXT] [--no-exports] [--list-chunk N] [--json]

STORE is a store made by ``kb ingest`` (for a large one: ``python
bench/generate.py OUT --claims 20000``, then ``KB_ONTOLOGY=OUT/ontology kb
ingest --store STORE OUT/corpus``).  Each page is asked for ``--runs`` times
with varied parameters (speakers, topics, claims and documents drawn at
random, busy and quiet ones alike; pages and date ranges drawn too), after
one warm-up request; the table gives the median and the 95th percentile of
the wall-clock time of each request, in milliseconds, as Markdown.

``--fresh`` asks each page as the first one after a write would be asked:
the answers the app keeps per version of the store are dropped before
every request.  ``--sparql-only`` marks the store's side index incomplete
for the run (and complete again after it), so that the pages answer from
the named queries alone, as they do on a store without an index; it opens
the index for writing, so run it on a copy of a store nobody else uses.
``--without-index`` gives the same pages without writing anything: this
process does not open the side index at all (the search page then answers
by SPARQL too).  ``--side-by-side`` asks each URL twice in a row, with the
index and without it (as ``--without-index``), and gives both timings and
their ratio: on a shared machine whose load changes, the two sides see the
same load.  ``--only TEXT`` times only the pages whose name holds TEXT
('/' for home, speakers and topics; 'every claim' for the whole-view
exports); ``--no-exports`` leaves out the pages that export every claim of
a speaker's or topic's view (any one as JSON; the busiest as JSON and
CSV, cut at the server's cap of 10,000 rows; the busiest with a date
filter that keeps every dated claim as Turtle, which a filtered view
writes from its rows).  ``--list-chunk N`` sets how
many claims a query of ``kb query``'s index lists is given
(kb.queries.INDEX_CHUNK); the exports use it only for the claims whose
rows the index cannot make.  The store's totals come from its side index
when it has one.  ``--json`` prints the figures as one JSON object instead
of the table (bench/targets.py reads it).

The whole-view exports with and without the index, as in bench/RESULTS.md:

    python bench/pages.py STORE --runs 20 --only "every claim" --side-by-side
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def local(iri: str, base: str) -> str:
    return "/" + iri[len(base):] if iri.startswith(base) else iri


def samples(client, base: str) -> dict[str, list[str]]:
    """Paths of speakers, topics, claims and documents that have claims, from the pages themselves."""
    speakers = [r for r in client.get("/speakers?format=json").get_json()["rows"] if int(r["claims"] or 0)]
    topics = [r for r in client.get("/topics?format=json").get_json()["rows"] if int(r["claims"] or 0)]
    busiest = local(max(speakers, key=lambda r: int(r["claims"]))["speaker"], base)
    # the busiest speaker's claims of the first pages, and their documents: read page by page, not
    # by the speaker's JSON (every claim of that speaker: minutes at a million claims)
    claims = sorted({href for page in range(1, 5) for href in re.findall(
        r'href="(/claim/[^"]+)"', client.get(f"{busiest}?page={page}", headers={"Accept": BROWSER}).get_data(as_text=True))})
    documents = sorted({local(client.get(f"{claim}?format=json").get_json()["rows"][0]["document"], base)
                        for claim in claims[:40]})
    # (path, pages of 25 claims) of the five busiest, for a page drawn from all of theirs, the last too
    busy_speakers = [(local(r["speaker"], base), -(-int(r["claims"]) // 25))
                     for r in sorted(speakers, key=lambda r: -int(r["claims"]))[:5]]
    busy_topics = [(local(r["topic"], base), -(-int(r["claims"]) // 25))
                   for r in sorted(topics, key=lambda r: -int(r["claims"]))[:5]]
    return {
        "speaker": [local(r["speaker"], base) for r in speakers],
        "topic": [local(r["topic"], base) for r in topics],
        "claim": claims,
        "document": documents,
        "busy_speaker": [path for path, _ in busy_speakers],
        "busy_topic": [path for path, _ in busy_topics],
        "busy_speaker_pages": busy_speakers,
        "busy_topic_pages": busy_topics,
    }


def any_page(r: random.Random, choices: list[tuple[str, int]]) -> str:
    path, last = r.choice(choices)
    return f"{path}?page={r.randint(1, last)}"


def date_range(rng: random.Random) -> str:
    year = rng.choice([2023, 2024, 2025])
    month = rng.randint(1, 6)
    return f"from={year}-{month:02d}-01&to={year}-{month + 6:02d}-28"


def pages(s: dict[str, list[str]]) -> dict[str, callable]:
    """Page name -> a function of a Random giving one URL of that page."""
    return {
        "home /": lambda r: "/",
        "speakers /speakers": lambda r: r.choice(["/speakers", "/speakers?sort=count"]),
        "topics /topics": lambda r: "/topics",
        "speaker, page 1": lambda r: r.choice(s["speaker"]),
        "speaker (busiest), page 1-20": lambda r: f"{r.choice(s['busy_speaker'])}?page={r.randint(1, 20)}",
        "speaker (busiest), any page": lambda r: any_page(r, s["busy_speaker_pages"]),
        "speaker, topic filter": lambda r: f"{r.choice(s['busy_speaker'])}?topic={r.choice(s['topic']).rsplit('/', 1)[-1]}",
        "speaker, date range": lambda r: f"{r.choice(s['busy_speaker'])}?{date_range(r)}",
        "topic, page 1": lambda r: r.choice(s["topic"]),
        "topic (busiest), page 1-20": lambda r: f"{r.choice(s['busy_topic'])}?page={r.randint(1, 20)}",
        "topic (busiest), any page": lambda r: any_page(r, s["busy_topic_pages"]),
        "topic (busiest), date range": lambda r: f"{r.choice(s['busy_topic'])}?{date_range(r)}",
        "claim": lambda r: r.choice(s["claim"]),
        "document": lambda r: r.choice(s["document"]),
        "speaker (any) as JSON, every claim": lambda r: f"{r.choice(s['speaker'])}?format=json",
        "topic (any) as JSON, every claim": lambda r: f"{r.choice(s['topic'])}?format=json",
        "speaker (busiest) as JSON, every claim": lambda r: f"{r.choice(s['busy_speaker'])}?format=json",
        "speaker (busiest) as CSV, every claim": lambda r: f"{r.choice(s['busy_speaker'])}?format=csv",
        "topic (busiest) as JSON, every claim": lambda r: f"{r.choice(s['busy_topic'])}?format=json",
        "topic (busiest) as CSV, every claim": lambda r: f"{r.choice(s['busy_topic'])}?format=csv",
        # a view with a filter has its own Turtle (without one, the Turtle link is the resource's RDF)
        "speaker (busiest) as Turtle, every claim since 1900": lambda r: f"{r.choice(s['busy_speaker'])}?from=1900-01-01&format=ttl",
        "topic (busiest) as Turtle, every claim since 1900": lambda r: f"{r.choice(s['busy_topic'])}?from=1900-01-01&format=ttl",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fresh", action="store_true", help="every request as the first after a write")
    ap.add_argument("--sparql-only", action="store_true", help="the pages without the side index")
    ap.add_argument("--without-index", action="store_true",
                    help="the pages without the side index, which this process does not open (nothing written)")
    ap.add_argument("--side-by-side", action="store_true", help="each URL with and then without the side index")
    ap.add_argument("--list-chunk", type=int, default=None, help="claims per query of the exports read from the index")
    ap.add_argument("--only", default="", help="only the pages whose name holds this text")
    ap.add_argument("--no-exports", action="store_true", help="without the pages that export every claim")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from kb import fts

    if args.without_index or args.side_by_side:
        from kb.store import EmbeddedStore

        opened = EmbeddedStore.search_index

        def search_index(store):  # the store's own, unless this process is told to leave it out
            if INDEX_LEFT_OUT[0]:
                raise fts.IndexMissing(store.path, "left out by bench/pages.py")
            return opened(store)
        EmbeddedStore.search_index = search_index
        INDEX_LEFT_OUT[0] = args.without_index
    if args.list_chunk:
        from kb import queries as kb_queries
        kb_queries.INDEX_CHUNK = args.list_chunk
    if args.sparql_only:
        with fts.SearchIndex.open(args.store) as index:
            index.set_complete(False)
    try:
        run(args)
    finally:
        if args.sparql_only:
            with fts.SearchIndex.open(args.store) as index:
                index.set_complete(True)


INDEX_LEFT_OUT = [False]  # --without-index, and the second request of each pair with --side-by-side


def timed(client, url: str) -> float:
    """Milliseconds of one request, its body read whole; a status other than 200 stops the run."""
    started = time.perf_counter()
    response = client.get(url, headers={"Accept": BROWSER})
    response.get_data()
    took = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code}")
    return took


def run(args) -> None:
    import os

    say = (lambda *a, **k: None) if args.json else print
    figures = {"load_average_start": os.getloadavg(), "runs": args.runs, "pages": []}

    from kb import config, fts, queries
    from kb.store import EmbeddedStore
    from kb.web import create_app

    with EmbeddedStore.open(args.store, read_only=True) as store:
        try:  # the kept counts: the stats query counts every claim (seconds at a million)
            index = store.search_index()
            totals = index.totals() if index.problem() is None else None
        except fts.IndexMissing:
            totals = None
        if totals is None:
            totals = queries.as_dicts(queries.run(store, queries.load_query("stats")))[0]
    app = create_app({"KB_STORE": str(args.store), "TESTING": True})
    client = app.test_client()
    gc.freeze()  # as `kb serve` does once the app is made (kb.web.server.serve)
    base = config.base_iri()
    rng = random.Random(args.seed)
    figures["store"] = {k: totals[k] for k in ("claims", "speakers", "topics", "documents")}
    say(f"store: {totals['claims']} claims, {totals['speakers']} speakers, {totals['topics']} topics, "
          f"{totals['documents']} documents; {args.runs} runs per page"
          f"{'; every request as the first after a write' if args.fresh else ''}"
          f"{'; without the side index' if args.sparql_only or args.without_index else ''}"
          f"{'; each URL with and without the side index' if args.side_by_side else ''}"
          f"{f'; {args.list_chunk} claims per listed query' if args.list_chunk else ''}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    if args.side_by_side:
        say("| page | index p50 ms | index p95 ms | without p50 ms | without p95 ms | p95 without / with |")
        say("| --- | ---: | ---: | ---: | ---: | ---: |")
    else:
        say("| page | p50 ms | p95 ms | max ms |")
        say("| --- | ---: | ---: | ---: |")
    for name, make in pages(samples(client, base)).items():
        if args.only not in name or (args.no_exports and "every claim" in name):
            continue
        client.get(make(rng), headers={"Accept": BROWSER})  # warm-up
        times, without = [], []
        for n in range(args.runs):
            url = make(rng)
            # with --side-by-side, the side that goes first alternates (the second finds the store warmer)
            for left_out in ((False, True) if n % 2 == 0 else (True, False)) if args.side_by_side else (None,):
                if args.fresh:
                    app.extensions.pop("kb_whole_store", None)
                if left_out is None:
                    times.append(timed(client, url))
                    continue
                INDEX_LEFT_OUT[0] = left_out
                try:
                    (without if left_out else times).append(timed(client, url))
                finally:
                    INDEX_LEFT_OUT[0] = False
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        figures["pages"].append({"page": name, "p50": p50, "p95": p95, "max": max(times)})
        if args.side_by_side:
            w50, w95 = statistics.median(without), percentile(without, 0.95)
            figures["pages"][-1].update(without_p50=w50, without_p95=w95)
            say(f"| {name} | {p50:,.0f} | {p95:,.0f} | {w50:,.0f} | {w95:,.0f} | {w95 / p95:.1f} |", flush=True)
        else:
            say(f"| {name} | {p50:,.0f} | {p95:,.0f} | {max(times):,.0f} |", flush=True)
    figures["load_average_end"] = os.getloadavg()
    say(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
