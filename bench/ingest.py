"""Ingest throughput, end to end with SHACL validation on, beside the store's own bulk load.

    python bench/ingest.py [--claims 10000] [--corpus OUT_DIR] [--jobs 1,2] [--flush-triples N] [--json]
                           [--keep STORE]

Writes a corpus with bench/generate.py (or takes OUT_DIR, a folder that
generate.py wrote; its ontology is used with the shapes of this checkout), then, for each number of worker processes, ingests it
into a fresh store in a temporary folder, exactly as `kb ingest --jobs N`
does (read, extract, build RDF, validate, store), each run in a process of
its own so that its peak memory is its own.  It reports posts/s, claims/s,
the CPU milliseconds per post of each stage (summed over the processes), and
the peak resident memory of the run (the writing process; and summed with
its worker processes, sampled every 0.25 s).  ``--flush-triples N`` sets how
many triples an ingest writes between two flushes of the store
(kb.pipeline.FLUSH_TRIPLES; 0: never, as before it flushed), for the memory
it holds.

Beside it: the same triples, dumped from the store as N-Quads, loaded into a
fresh store with pyoxigraph's ``bulk_load`` -- the limit an ingest could
reach if reading, extracting and validating cost nothing.  ``--keep STORE``
keeps the store of the last run (with its side index) as STORE, a folder
that must not exist yet, for the benchmarks that read a pipeline-built store.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
    except OSError:
        return 0


def _descendants(root: int) -> list[int]:
    """The processes under ``root`` (the pool's workers hang under a fork server, not under us)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class PeakMemory(threading.Thread):
    """Samples the resident memory of this process and all its descendants, summed; keeps the peak."""

    def __init__(self, every: float = 0.25):
        super().__init__(daemon=True)
        self.every, self.peak_kb, self.stopped = every, 0, threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.stopped.wait(self.every):
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in [me, *_descendants(me)]))


def run_one(corpus: Path, jobs: int, store_dir: Path, flush_triples: int | None = None) -> dict:
    """One ingest into a fresh store (called in a process of its own)."""
    from kb import pipeline
    from kb.store import EmbeddedStore

    if flush_triples is not None:
        pipeline.FLUSH_TRIPLES = flush_triples or float("inf")

    sampler = PeakMemory()
    sampler.start()
    started = time.perf_counter()
    with EmbeddedStore.open(store_dir) as store:
        report = pipeline.ingest([corpus], store, progress=False, jobs=jobs)
    wall = time.perf_counter() - started
    sampler.stopped.set()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "jobs": jobs, "wall_s": wall, "documents": len(report.documents), "posts": report.posts,
        "claims": report.claims, "failures": report.failures[:5], "cpu_s": report.seconds,
        "peak_rss_mb": own / 1024, "peak_total_rss_mb": max(sampler.peak_kb, own) / 1024,
    }


def bulk_load(store_dir: Path, work: Path) -> dict:
    """Dump the ingested store as N-Quads, then bulk_load it into a fresh store."""
    import pyoxigraph as ox

    dump = work / "dump.nq"
    with open(dump, "wb") as fh:
        ox.Store.read_only(str(store_dir)).dump(fh, ox.RdfFormat.N_QUADS)
    fresh = ox.Store(str(work / "bulk"))
    started = time.perf_counter()
    fresh.bulk_load(path=str(dump), format=ox.RdfFormat.N_QUADS)
    fresh.flush()
    seconds = time.perf_counter() - started
    return {"quads": len(fresh), "seconds": seconds, "bytes": dump.stat().st_size}


def versions() -> str:
    from importlib.metadata import version

    return ", ".join(f"{p} {version(p)}" for p in ("pyoxigraph", "rdflib", "pyshacl")) + \
        f", Python {sys.version.split()[0]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=10_000, help="size of the generated corpus")
    ap.add_argument("--corpus", type=Path, help="a folder bench/generate.py wrote (else one is generated)")
    ap.add_argument("--jobs", default="1,2", help="comma-separated numbers of worker processes")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--flush-triples", type=int, help="triples written between two flushes of the store (0: never)")
    ap.add_argument("--keep", type=Path, metavar="STORE", help="keep the last run's store here (a new folder)")
    ap.add_argument("--one", nargs=3, metavar=("CORPUS", "JOBS", "STORE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        corpus, jobs, store = args.one
        print(json.dumps(run_one(Path(corpus), int(jobs), Path(store), args.flush_triples)))
        return
    if args.keep is not None and args.keep.exists():
        ap.error(f"{args.keep}: already exists")

    with tempfile.TemporaryDirectory(prefix="kb-bench-ingest-") as tmp:
        work = Path(tmp)
        out = args.corpus
        if out is None:
            out = work / "generated"
            subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), str(out),
                            "--claims", str(args.claims)], check=True, stdout=subprocess.DEVNULL)
        # the corpus's speakers and topics, with the shapes of this checkout
        ontology = work / "ontology"
        shutil.copytree(out / "ontology", ontology)
        shutil.copy(ROOT / "ontology" / "shapes.ttl", ontology / "shapes.ttl")
        env = dict(os.environ, KB_ONTOLOGY=str(ontology))
        runs = []
        for jobs in (int(j) for j in args.jobs.split(",")):
            store = work / f"store-{jobs}"
            flush = [] if args.flush_triples is None else ["--flush-triples", str(args.flush_triples)]
            done = subprocess.run([sys.executable, __file__, "--one", str(out / "corpus"), str(jobs), str(store), *flush],
                                  env=env, check=True, capture_output=True, text=True)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        bulk = bulk_load(work / f"store-{runs[-1]['jobs']}", work)
        if args.keep is not None:
            shutil.move(work / f"store-{runs[-1]['jobs']}", args.keep)
    result = {"versions": versions(), "load_average": os.getloadavg(), "runs": runs, "bulk_load": bulk}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['versions']}; load average {' '.join(f'{x:.1f}' for x in result['load_average'])}")
    first = runs[0]
    print(f"{first['documents']} documents, {first['posts']} posts, {first['claims']} claims, "
          f"{bulk['quads']} quads")
    print("| run | wall | posts/s | claims/s | read | extract | build | validate | store | peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for run in runs:
        per_post = {k: 1000 * v / max(run["posts"], 1) for k, v in run["cpu_s"].items()}
        stages = " | ".join(f"{per_post[k]:.2f}" for k in ("read", "extract", "build", "validate", "store"))
        print(f"| ingest, {run['jobs']} job(s) | {run['wall_s']:.1f} s | {run['posts'] / run['wall_s']:.0f} | "
              f"{run['claims'] / run['wall_s']:.0f} | {stages} | "
              f"{run['peak_rss_mb']:.0f} MB ({run['peak_total_rss_mb']:.0f} MB with the workers) |")
        if run["failures"]:
            print(f"  failures: {run['failures']}")
    print(f"| pyoxigraph bulk_load | {bulk['seconds']:.2f} s | {first['posts'] / bulk['seconds']:.0f} | "
          f"{first['claims'] / bulk['seconds']:.0f} | | | | | | |")
    print("(stages: CPU ms per post, summed over the processes)")


if __name__ == "__main__":
    main()
