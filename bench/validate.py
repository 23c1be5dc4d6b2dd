"""`kb validate` on a whole store: seconds per 100,000 claims, by SHACL engine and number of worker processes.

    python bench/validate.py STORE_DIR --ontology ONTOLOGY_DIR [--jobs 1,2] [--engines pyshacl,turbo] [--json]

Opens the store read-only (it is never written) and validates every
document graph with the SHACL shapes of this checkout (ONTOLOGY_DIR gives
the speakers and topics, bench/generate.py's for a generated corpus; its
own shapes.ttl is not used), as `kb validate
--jobs N` does: each worker opens the store itself, reads a batch of
document graphs and validates them a chunk at a time.  For each number of
workers it reports the wall-clock time, the time per 100,000 claims (issue
5's target: 1M claims in under 10 minutes, so at most 60 s per 100,000),
the CPU time of this process and of its workers, and the violations found
(there should be none on a store that ingest wrote).  Each engine
(``--engines``, as KB_SHACL_ENGINE / ``kb validate --shacl-engine``: pySHACL,
the reference, and turbo, the package pyshacl-turbo) runs with each number of
workers, in that order.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cpu(usage) -> float:
    return usage.ru_utime + usage.ru_stime


def run(store_dir: Path, jobs: int, engine: str) -> dict:
    from kb import pipeline
    from kb.store import open_store
    from kb.validate import engine as checked_engine

    os.environ["KB_SHACL_ENGINE"] = engine  # as `kb validate --shacl-engine` does; the workers get it
    checked_engine()

    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with open_store(store_dir, read_only=True) as store:
        verdict = pipeline.check_store(store, jobs=jobs)
    wall = time.perf_counter() - started
    return {
        "engine": engine, "engine_version": _version(engine), "jobs": jobs, "wall_s": wall, "documents": verdict.documents, "claims": verdict.claims,
        "triples": verdict.triples, "violations": len(verdict.problems), "first_violations": verdict.problems[:3],
        "per_100k_claims_s": verdict.per_100k_claims(),
        # CPU of reading and validating, summed over the processes that did it; and of this process
        "cpu_s": {"validating": verdict.cpu_seconds, "main": _cpu(resource.getrusage(resource.RUSAGE_SELF)) - _cpu(before)},
        "cpu_per_100k_claims_s": verdict.per_100k_claims(verdict.cpu_seconds),
        "load_average": os.getloadavg(),
    }


def _version(engine: str) -> str:
    from importlib.metadata import version

    return version({"pyshacl": "pyshacl", "turbo": "pyshacl-turbo"}[engine])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path, help="a store directory (opened read-only)")
    ap.add_argument("--ontology", type=Path, help="the ontology folder the store was ingested with")
    ap.add_argument("--jobs", default="1,2", help="comma-separated numbers of worker processes")
    ap.add_argument("--engines", default="pyshacl,turbo", help="comma-separated SHACL engines (pyshacl, turbo)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-bench-validate-") as tmp:
        if args.ontology is not None:  # its speakers and topics, with the shapes of this checkout
            ontology = Path(tmp) / "ontology"
            shutil.copytree(args.ontology, ontology)
            shutil.copy(ROOT / "ontology" / "shapes.ttl", ontology / "shapes.ttl")
            os.environ["KB_ONTOLOGY"] = str(ontology)
        runs = [run(args.store, int(j), e) for e in args.engines.split(",") for j in args.jobs.split(",")]
    if args.json:
        print(json.dumps(runs, indent=2))
        return
    print("| engine | jobs | graphs | claims | triples | wall | s per 100k claims | CPU s per 100k claims | violations "
          "| load |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in runs:
        print(f"| {r['engine']} {r['engine_version']} | {r['jobs']} | {r['documents']:,} | {r['claims']:,} | {r['triples']:,} | {r['wall_s']:.1f} s | "
              f"{r['per_100k_claims_s']:.1f} | {r['cpu_per_100k_claims_s']:.1f} | "
              f"{r['violations']} | {' '.join(f'{x:.1f}' for x in r['load_average'])} |")
    print("(CPU: reading and validating, summed over the processes; load: the load average at the end)")


if __name__ == "__main__":
    main()
