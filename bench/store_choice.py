"""Why the store is Oxigraph: the seed graphs copied N times, loaded and queried
in pyoxigraph (on disk) and in rdflib's in-memory Graph.

    python bench/store_choice.py [COPIES] [STORE_DIR]

Prints load time, resident memory growth and the time of two browse queries
(claims per topic; one speaker's claims newest first) on each.
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox
import rdflib

from kb.extract import extract_claims
from kb.rdf import document_graph
from kb.readers import iter_files, read_document

PER_TOPIC = """PREFIX schema: <https://schema.org/>
SELECT ?topic (COUNT(?c) AS ?n) WHERE { ?c a schema:Claim ; schema:about ?topic } GROUP BY ?topic ORDER BY DESC(?n)"""
BY_SPEAKER = """PREFIX schema: <https://schema.org/> PREFIX kb: <https://w3id.org/kb/ns#>
SELECT ?c ?d ?t WHERE { ?c schema:author ?s ; schema:text ?t . OPTIONAL { ?c kb:statedOn ?d }
FILTER(STRENDS(STR(?s), "sergey-lavrov")) } ORDER BY DESC(?d) LIMIT 50"""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def nquads(copies: int) -> tuple[str, int]:
    lines, claims = [], 0
    for path in iter_files([Path(__file__).parent.parent / "seeds"]):
        doc = read_document(path)
        cs = extract_claims(doc)
        nt = document_graph(doc, cs).serialize(format="nt")
        for i in range(copies):
            # each copy its own IRIs and graph, as if it were another document
            text = nt.replace("/document/", f"/document/c{i}-").replace("/claim/", f"/claim/c{i}-")
            g = f"<https://kb.example.org/document/c{i}-{doc.name}>"
            lines += [ln[:-1] + f"{g} ." for ln in text.splitlines() if ln.strip()]
            claims += len(cs)
    return "\n".join(lines) + "\n", claims


def timed(fn, runs=5):
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    data, claims = nquads(copies)
    print(f"{claims} claims, {data.count(chr(10))} quads")
    with tempfile.TemporaryDirectory() as tmp:
        store = ox.Store(sys.argv[2] if len(sys.argv) > 2 else tmp)
        before = rss_mb()
        t = time.perf_counter()
        store.bulk_load(data.encode(), format=ox.RdfFormat.N_QUADS)
        load = time.perf_counter() - t
        q = dict(use_default_graph_as_union=True)
        print(f"pyoxigraph on disk: load {load:.2f} s, +{rss_mb() - before:.0f} MB, "
              f"per topic {timed(lambda: list(store.query(PER_TOPIC, **q))) * 1000:.0f} ms, "
              f"speaker newest first {timed(lambda: list(store.query(BY_SPEAKER, **q))) * 1000:.0f} ms")
        del store
    before = rss_mb()
    t = time.perf_counter()
    ds = rdflib.Dataset(default_union=True)
    ds.parse(data=data, format="nquads")
    load = time.perf_counter() - t
    print(f"rdflib in memory:   load {load:.2f} s, +{rss_mb() - before:.0f} MB, "
          f"per topic {timed(lambda: list(ds.query(PER_TOPIC)), 2) * 1000:.0f} ms, "
          f"speaker newest first {timed(lambda: list(ds.query(BY_SPEAKER)), 2) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
