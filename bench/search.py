"""Search-index benchmark: the SQLite FTS5 index (kb.fts) at 10k, 100k and 1M claims.

    python bench/search.py OUT_DIR [--sizes 10000,100000,1000000] [--searches 100] [--seed 1] [--reuse] [--json]

For each size, fills a fresh index in OUT_DIR/<size>/ with synthetic claim
rows (the speakers, topics, subjects and sentence templates of
bench/generate.py, with its Zipf distribution of speakers and topics; 400
speakers, 300 topics, 50 documents' worth of claims per graph), timing the
indexing, then runs the same varied searches (words of the vocabulary,
prefixes, two-word phrases, a speaker's name, a topic, with and without
facet filters, on several pages) and reports p50 and p95 of each complete
search: matches, total, the four facet counts and one page of 20 hits, as
wall-clock time and as the process's CPU time (which a busy machine
disturbs less).  ``--reuse`` searches the indexes an earlier run left in
OUT_DIR (the same seed builds the same index) without building them again.
"""
from __future__ import annotations

import argparse
import itertools
import datetime as dt
import json
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import generate  # noqa: E402 - the vocabulary of the benchmark corpus
from kb.fts import Row, SearchIndex  # noqa: E402

BASE = "https://kb.example.org/"
CLAIMS_PER_DOCUMENT = 200
KINDS = ("direct", "indirect")


class Zipf:
    """generate.zipf_choice with the cumulative weights computed once."""

    def __init__(self, items: list, s: float = 1.1):
        self.items = items
        self.cum = list(itertools.accumulate(1 / (i + 1) ** s for i in range(len(items))))

    def __call__(self, rng: random.Random):
        return rng.choices(self.items, cum_weights=self.cum)[0]


def sentence(rng: random.Random, pick_speaker, pick_topic) -> tuple[str, dict]:
    """The words of one claim and its topic, in the style of the corpus generate.py writes."""
    topic = pick_topic(rng)
    subject = f"{rng.choice(generate.SUBJECTS)} under {topic['label']}"  # generate.subject
    r = rng.random()
    if r < 0.5:
        return rng.choice(generate.QUOTES).format(s=subject), topic
    if r < 0.8:
        return f"the government {rng.choice(generate.OPINIONS).format(s=subject)}", topic
    other = pick_speaker(rng)
    return f"{other['country']} {rng.choice(generate.OPINIONS).format(s=subject)}", topic


def make_rows(n: int, rng: random.Random, speakers, topics):
    """(graph IRI, rows) per document, ``n`` claims in all."""
    start_day = dt.date(2022, 1, 1)
    pick_speaker, pick_topic = Zipf(speakers), Zipf(topics)
    doc = 0
    made = 0
    while made < n:
        graph = f"{BASE}document/bench-{doc:06d}.txt"
        rows = []
        for i in range(min(CLAIMS_PER_DOCUMENT, n - made)):
            sp = pick_speaker(rng)
            words, topic = sentence(rng, pick_speaker, pick_topic)
            day = start_day + dt.timedelta(days=rng.randrange(4 * 365))
            date = day.isoformat() if rng.random() < 0.9 else ""
            rows.append(Row(f"{BASE}claim/{doc:06d}-{i:04d}", words, f"{BASE}speaker/{sp['key']}", date,
                            KINDS[rng.random() < 0.4], i * 120,
                            [f"{BASE}topic/{topic['key']}"]))
        made += len(rows)
        doc += 1
        yield graph, rows


def labels(speakers, topics) -> dict[str, str]:
    out = {f"{BASE}speaker/{sp['key']}": sp["name"] for sp in speakers}
    out.update({f"{BASE}topic/{tp['key']}": tp["word"] for tp in topics})
    return out


def searches(rng: random.Random, speakers, topics, n: int) -> list[tuple[str, dict, int]]:
    """(text, filters, page) of ``n`` varied searches."""
    words = sorted({w.strip(".,").lower() for t in generate.QUOTES + generate.OPINIONS + generate.SUBJECTS
                    for w in t.replace("{s}", "").split() if len(w.strip(".,")) > 3})
    out = []
    for i in range(n):
        kind = i % 10
        if kind in (0, 1, 2):
            text = rng.choice(words)  # a word of the vocabulary
        elif kind == 3:
            text = rng.choice(words)[:3]  # a prefix, as typed
        elif kind == 4:
            text = rng.choice(generate.SUBJECTS)  # a phrase
        elif kind == 5:
            text = generate.zipf_choice(rng, speakers)["country"]
        elif kind == 6:
            text = rng.choice(topics)["word"]  # 'Accord-017'
        elif kind == 7:
            text = f"{rng.choice(words)} {rng.choice(words)}"
        elif kind == 8:
            text = "ceasefire"
        else:
            text = rng.choice(["pipeline", "progress", "sanctions relief", "Ruritania", "nobody"])
        filters = {}
        if i % 3 == 1:
            filters["speaker"] = generate.zipf_choice(rng, speakers)["key"]
        if i % 4 == 2:
            filters["year"] = str(rng.choice([2022, 2023, 2024, 2025]))
        if i % 5 == 3:
            filters["kind"] = rng.choice(KINDS)
        page = 1 if i % 2 else rng.choice([2, 5, 50])
        out.append((text, filters, page))
    return out


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def run(out: Path, size: int, n_searches: int, seed: int, reuse: bool = False) -> dict:
    rng = random.Random(seed)
    speakers = generate.make_speakers(400, rng)
    topics = generate.make_topics(300)
    where = out / str(size)
    indexing = float("nan")
    if not (reuse and SearchIndex.exists(where)):
        if where.exists():
            shutil.rmtree(where)
        where.mkdir(parents=True)
        names = labels(speakers, topics)
        documents = list(make_rows(size, rng, speakers, topics))  # made first: only the indexing is timed
        began = time.perf_counter()
        with SearchIndex.open(where) as index:
            with index.bulk() as writer:
                for graph, rows in documents:
                    writer.add(graph, rows, names)
            index.optimize()
        indexing = time.perf_counter() - began
    file_size = SearchIndex.path_for(where).stat().st_size
    times, cpu, totals = [], [], []
    with SearchIndex.open(where, read_only=True) as index:
        index.search("warm the cache up")
        for text, filters, page in searches(random.Random(seed + 1), speakers, topics, n_searches):
            began, began_cpu = time.perf_counter(), time.process_time()
            result = index.search(text, filters, limit=20, offset=(page - 1) * 20)
            times.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
            totals.append(result.total)
    return {"size": size, "indexing_s": indexing, "per_10k_s": indexing / size * 10_000,
            "mb": file_size / 1e6, "p50_ms": 1000 * statistics.median(times),
            "p95_ms": 1000 * percentile(times, 95), "max_ms": 1000 * max(times),
            "cpu_p50_ms": 1000 * statistics.median(cpu), "cpu_p95_ms": 1000 * percentile(cpu, 95),
            "median_hits": statistics.median(totals), "max_hits": max(totals)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--searches", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="Search the indexes already in OUT_DIR.")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON instead of a table.")
    args = parser.parse_args()
    if args.json:
        runs = [run(args.out, int(size), args.searches, args.seed, args.reuse) for size in args.sizes.split(",")]
        print(json.dumps([{k: (None if v != v else v) for k, v in r.items()} for r in runs], indent=1))  # NaN: null
        return
    print("| claims | indexing | per 10k claims | index file | p50 | p95 | max | CPU p50 | CPU p95 "
          "| hits (median / max) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in (int(s) for s in args.sizes.split(",")):
        r = run(args.out, size, args.searches, args.seed, args.reuse)
        built = r["indexing_s"] == r["indexing_s"]  # not NaN: built in this run
        indexing = f"{r['indexing_s']:.1f} s | {r['per_10k_s']:.2f} s" if built else "(reused) | —"
        print(f"| {r['size']:,} | {indexing} | {r['mb']:.0f} MB "
              f"| {r['p50_ms']:.1f} ms | {r['p95_ms']:.1f} ms | {r['max_ms']:.1f} ms "
              f"| {r['cpu_p50_ms']:.1f} ms | {r['cpu_p95_ms']:.1f} ms "
              f"| {r['median_hits']:,.0f} / {r['max_hits']:,} |", flush=True)


if __name__ == "__main__":
    main()
