"""Kill `kb ingest` with SIGKILL many times at random moments, at full size, and check the store.

    python bench/crash.py WORK_DIR [--claims 5000] [--posts-per-file 25] [--kills 30] [--seed 1]

Writes a corpus with bench/generate.py under WORK_DIR (its ontology is used,
as KB_ONTOLOGY), ingests it cleanly once into a reference store, then runs
`kb ingest` of the corpus on another store and kills it (its whole process
group) KILLS times, each at a random moment of the time the reference ingest
took (from half-way through its start-up).  After every kill: `kb validate` passes, every document graph
is isomorphic to the reference's or absent, the ontology graph is whole, and
nothing that was in before has gone.  A last run completes the batch: the
same graphs as the reference, the same claim counts.  tests/test_crash.py
is the same at a small size; the checks are its functions.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("--claims", type=int, default=5000)
    ap.add_argument("--posts-per-file", type=int, default=25)
    ap.add_argument("--kills", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    corpus = args.work / "corpus"
    if not corpus.is_dir():
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), str(args.work),
                        "--claims", str(args.claims), "--posts-per-file", str(args.posts_per_file),
                        "--seed", str(args.seed)], check=True)
    os.environ["KB_ONTOLOGY"] = str(args.work / "ontology")  # for this process and the ingests it starts

    from test_crash import crash_and_recover, reference_store  # after KB_ONTOLOGY is set

    files = len(list(corpus.glob("*.txt")))
    reference_dir = args.work / "reference"
    if reference_dir.exists() or (args.work / "store").exists():
        sys.exit(f"{reference_dir} or {args.work / 'store'} exists: remove them to run again")
    reference = reference_store(corpus, reference_dir)
    print(f"reference: {files} documents, {reference.claims} claims, `kb ingest` {reference.seconds:.1f} s "
          f"(the first document written after {reference.first_document:.1f} s)", flush=True)

    def report(n, kill):
        print(f"kill {n + 1:3d}: after {kill.delay:6.1f} s, {kill.before:3d} -> {kill.after:3d} documents"
              f"{'' if kill.running else ' (the ingest had ended)'}", flush=True)

    started = time.monotonic()
    outcome = crash_and_recover(corpus, args.work / "store", reference, args.kills,
                                random.Random(args.seed), report=report)
    took = time.monotonic() - started
    kills = outcome.kills
    print(f"{len(kills)} kills ({outcome.interrupted} while the ingest ran, {outcome.mid_batch} leaving "
          f"the batch part in, part out); after each: kb validate passed, every document graph "
          f"isomorphic to the reference or absent, none lost; the last run completed the batch "
          f"({len(reference.graphs) - 1} documents, {reference.claims} claims, isomorphic); {took:.0f} s")


if __name__ == "__main__":
    main()
