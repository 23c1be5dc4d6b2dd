"""Time every browsing page on a store, through Flask's test client.

    python bench/pages.py STORE [--runs 20] [--seed 1]

STORE is a store made by ``kb ingest`` (for a large one: ``python
bench/generate.py OUT --claims 20000``, then ``KB_ONTOLOGY=OUT/ontology kb
ingest --store STORE OUT/corpus``).  Each page is asked for ``--runs`` times
with varied parameters (speakers, topics, claims and documents drawn at
random, busy and quiet ones alike; pages and date ranges drawn too), after
one warm-up request; the table gives the median and the 95th percentile of
the wall-clock time of each request, in milliseconds, as Markdown.
"""
from __future__ import annotations

import argparse
import random
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
    """Paths of speakers, topics, claims and documents that have claims, from the pages' own JSON."""
    speakers = [r for r in client.get("/speakers?format=json").get_json()["rows"] if int(r["claims"] or 0)]
    topics = [r for r in client.get("/topics?format=json").get_json()["rows"] if int(r["claims"] or 0)]
    busiest = max(speakers, key=lambda r: int(r["claims"]))
    claims = client.get(f"{local(busiest['speaker'], base)}?format=json").get_json()["rows"]
    return {
        "speaker": [local(r["speaker"], base) for r in speakers],
        "topic": [local(r["topic"], base) for r in topics],
        "claim": [local(r["claim"], base) for r in claims],
        "document": sorted({local(r["document"], base) for r in claims}),
        "busy_speaker": [local(r["speaker"], base) for r in sorted(speakers, key=lambda r: -int(r["claims"]))[:5]],
        "busy_topic": [local(r["topic"], base) for r in sorted(topics, key=lambda r: -int(r["claims"]))[:5]],
    }


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
        "speaker, topic filter": lambda r: f"{r.choice(s['busy_speaker'])}?topic={r.choice(s['topic']).rsplit('/', 1)[-1]}",
        "speaker, date range": lambda r: f"{r.choice(s['busy_speaker'])}?{date_range(r)}",
        "topic, page 1": lambda r: r.choice(s["topic"]),
        "topic (busiest), page 1-20": lambda r: f"{r.choice(s['busy_topic'])}?page={r.randint(1, 20)}",
        "topic (busiest), date range": lambda r: f"{r.choice(s['busy_topic'])}?{date_range(r)}",
        "claim": lambda r: r.choice(s["claim"]),
        "document": lambda r: r.choice(s["document"]),
        "speaker (busiest) as JSON, every claim": lambda r: f"{r.choice(s['busy_speaker'])}?format=json",
        "topic (busiest) as JSON, every claim": lambda r: f"{r.choice(s['busy_topic'])}?format=json",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from kb import config, queries
    from kb.store import EmbeddedStore
    from kb.web import create_app

    with EmbeddedStore.open(args.store, read_only=True) as store:
        totals = queries.as_dicts(queries.run(store, queries.load_query("stats")))[0]
    client = create_app({"KB_STORE": str(args.store), "TESTING": True}).test_client()
    base = config.base_iri()
    rng = random.Random(args.seed)
    print(f"store: {totals['claims']} claims, {totals['speakers']} speakers, {totals['topics']} topics, "
          f"{totals['documents']} documents; {args.runs} runs per page\n")
    print("| page | p50 ms | p95 ms | max ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, make in pages(samples(client, base)).items():
        client.get(make(rng), headers={"Accept": BROWSER})  # warm-up
        times = []
        for _ in range(args.runs):
            url = make(rng)
            started = time.perf_counter()
            response = client.get(url, headers={"Accept": BROWSER})
            response.get_data()
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code}")
        print(f"| {name} | {statistics.median(times):,.0f} | {percentile(times, 0.95):,.0f} | {max(times):,.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
