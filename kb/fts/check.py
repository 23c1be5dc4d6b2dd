"""Checking the side index against the store (``kb reindex --check``) and rebuilding it from the
store (``kb reindex``).

Each document keeps a fingerprint in the index, its number of claims and a
hash of their IRIs and words: ``differences`` compares the numbers with the
store's without rebuilding, and ``count_differences`` recounts the kept counts
from the rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from rdflib import Graph

from .index import SearchIndex
from .rows import Lookup, resources_of, rows_of
from .schema import DEFAULT_GRAPH, recount_sql


def count_differences(index: SearchIndex) -> list[str]:
    """How the kept counts differ from counts made afresh from the rows, one line per table that differs."""
    out = []
    db = index._db
    with index._transaction():
        for table, select in recount_sql().items():
            # a total of 0 is the same as none
            kept = sorted(r for r in db.execute(f"SELECT * FROM {table}") if r[-1])  # noqa: S608 - fixed names
            fresh = sorted(r for r in db.execute(select) if r[-1])
            if kept != fresh:
                extra, missing = set(kept) - set(fresh), set(fresh) - set(kept)
                out.append(f"counts {table}: {len(extra)} row(s) kept that the claims do not give, "
                           f"{len(missing)} row(s) the claims give that are not kept")
    return out


def differences(index: SearchIndex, claims_in_store: Mapping[str, int]) -> list[str]:
    """How the index differs from the store, one line per document: pending, missing, extra,
    or another number of claims (``claims_in_store``: {document graph: claims}, every document)."""
    indexed = index.documents()
    pending = set(index.stale())
    out = []
    for graph in sorted(set(indexed) | set(claims_in_store)):
        if graph == DEFAULT_GRAPH:
            continue  # the default graph has no graph name to count by
        if graph not in indexed:
            out.append(f"{graph}: in the store, not in the index")
        elif graph not in claims_in_store:
            out.append(f"{graph}: in the index, not in the store")
        elif graph in pending:
            out.append(f"{graph}: a write was interrupted")
        elif indexed[graph][0] != claims_in_store[graph]:
            out.append(f"{graph}: {indexed[graph][0]} claim(s) in the index, {claims_in_store[graph]} in the store")
    if not index.complete:
        out.append("the index was not built from the whole store")
    return out + count_differences(index)


@dataclass
class RebuildReport:
    documents: int = 0
    claims: int = 0
    failures: list[str] = field(default_factory=list)  # 'graph: reason', one line each

    def summary(self) -> str:
        failed = f"; {len(self.failures)} document(s) failed" if self.failures else ""
        return f"indexed {self.documents} document(s), {self.claims} claim(s){failed}"


def rebuild(index: SearchIndex, names: list, read: Callable[[object], Graph],
            lookup: Lookup | None = None, progress: bool = False) -> RebuildReport:
    """Rebuild ``index`` from the graphs ``names`` (``read(name)`` gives each; None is the default graph).

    One transaction: readers see the old index until the new one is whole.
    A graph that cannot be read or indexed is reported and left out, and the
    index is then marked incomplete.
    """
    import sys

    from tqdm import tqdm

    report = RebuildReport()
    show = progress and len(names) >= 5 and sys.stderr.isatty()
    with index.bulk() as writer:
        writer.clear()
        for name in tqdm(names, disable=not show, file=sys.stderr, unit="doc", leave=False):
            key = DEFAULT_GRAPH if name is None else str(name)
            try:
                graph = read(name)
                rows, labels = rows_of(graph, lookup)
                writer.add(key, rows, labels, resources_of(graph))
            except Exception as exc:  # noqa: BLE001 - one document must not cost the rest
                report.failures.append(" ".join(f"{key or 'default graph'}: {type(exc).__name__}: {exc}".split()))
            else:
                report.documents += 1
                report.claims += len(rows)
        writer.set_complete(not report.failures)
    return report
