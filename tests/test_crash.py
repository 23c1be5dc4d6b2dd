"""`kb ingest` killed with SIGKILL at random moments loses nothing and half-writes nothing.

A batch (the seeds under new names) is ingested cleanly once into a
reference store.  Then `kb ingest` of the same batch runs in a subprocess
on another store and is killed (SIGKILL, its whole process group) at random
moments, again and again on the same store.  After each kill the store
opens, `kb validate` passes, every document graph in it is isomorphic to the
reference's (fully in, or absent: never half-written), the ontology graph is
whole, and no document that was in before the run has gone.  A last run,
not killed, completes the batch: the same graphs as the reference, the same
number of claims, nothing twice.

The reference ingest is timed: each kill comes at a random moment between
half-way through its start-up and its end, so that the kills land while
documents are being written (or re-written: every run writes the whole
batch again) on a fast machine and a slow one alike; a kill that comes
after the ingest has ended does not count, and shortens the time the next
ones are drawn from.  bench/crash.py runs the same at full size.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rdflib import Graph
from rdflib.compare import isomorphic

from kb.cli import main
from kb.errors import StoreError
from kb.store import EmbeddedStore, ontology_graph_iri

pytestmark = pytest.mark.embedded_only(reason="SIGKILL during an ingest into the store directory, and recovery from it")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
KILLS = 5
COPIES = 1  # the seeds under new names: 5 documents
SEED = 20261130
CLAIMS_IN_GRAPHS = """PREFIX schema: <https://schema.org/>
SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?claim a schema:Claim } }"""


# ---------------------------------------------------------------- helpers (bench/crash.py uses them too)

def make_batch(folder: Path, copies: int, sources=(SEEDS,)) -> list[Path]:
    """``copies`` copies of the .txt files under ``sources``, each under a new name, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = sorted(p for source in sources for p in Path(source).rglob("*.txt"))
    out = []
    for n in range(copies):
        for path in files:
            target = folder / f"copy{n}_{path.name}"
            shutil.copy(path, target)
            out.append(target)
    return out


def kb_command(*args) -> list[str]:
    """The command line of `kb ARGS` in a process of its own."""
    return [sys.executable, "-c", "from kb.cli import main; main()", *map(str, args)]


def ingest_command(batch: Path, store_dir: Path) -> list[str]:
    return kb_command("ingest", "--no-progress", "--store", store_dir, batch)


def run_cli(*args) -> Result:
    """`kb ARGS` in this process."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def read_graphs(store_dir: Path) -> dict[str, Graph]:
    """Every named graph in the store (the documents' and the ontology's)."""
    with EmbeddedStore.open(store_dir, read_only=True) as store:
        return {name: store.graph(name) for name in [*store.documents(), ontology_graph_iri()]}


def documents_now(store_dir: Path) -> int | None:
    """How many document graphs the store shows now (None if it cannot be read this instant:
    reading a store while another process writes it may fail, and only steers the kill)."""
    try:
        with EmbeddedStore.open(store_dir, read_only=True) as store:
            return len(store.documents())
    except (StoreError, OSError, RuntimeError):
        return None


def stats(store_dir: Path) -> dict:
    result = run_cli("stats", "--json", "--store", store_dir)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    del figures["store"]
    return figures


def claims_in_graphs(store_dir: Path) -> int:
    """Claims counted in every graph, a claim in two graphs twice."""
    with EmbeddedStore.open(store_dir, read_only=True) as store:
        return int(store.query(CLAIMS_IN_GRAPHS).rows[0][0])


@dataclass
class Reference:
    graphs: dict[str, Graph]  # graph IRI -> graph, the ontology's included
    claims: int  # claims in all graphs
    stats: dict  # what `kb stats --json` says, less the store's path
    first_document: float  # seconds from the start of `kb ingest` until the store showed a document
    seconds: float  # seconds the whole `kb ingest` took


def reference_store(batch: Path, store_dir: Path) -> Reference:
    """Ingest ``batch`` cleanly with `kb ingest`, timing it, and read back what it wrote."""
    started = time.monotonic()
    process = subprocess.Popen(ingest_command(batch, store_dir), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    first = None
    while process.poll() is None:
        if first is None and documents_now(store_dir):
            first = time.monotonic() - started
        time.sleep(0.05)
    seconds = time.monotonic() - started
    out, err = process.communicate()
    assert process.returncode == 0, err
    graphs = read_graphs(store_dir)
    assert len(graphs) - 1 == len(list(batch.glob("*.txt")))
    return Reference(graphs, claims_in_graphs(store_dir), stats(store_dir),
                     first if first is not None else seconds, seconds)


@dataclass
class Kill:
    delay: float  # seconds from start to kill
    running: bool  # the ingest was still running when it was killed
    ended: float | None  # seconds the ingest took, if it ended before the kill
    before: int  # documents in the store before the run
    after: int  # documents in the store after the kill


@dataclass
class Outcome:
    total: int  # documents in the batch
    kills: list[Kill] = field(default_factory=list)

    @property
    def interrupted(self) -> int:
        return sum(k.running for k in self.kills)

    @property
    def mid_batch(self) -> int:
        """Kills that left some documents in and some out."""
        return sum(0 < k.after < self.total for k in self.kills)


def kill_once(batch: Path, store_dir: Path, delay: float) -> Kill:
    """Start `kb ingest`, SIGKILL its process group ``delay`` seconds later."""
    before = documents_now(store_dir) or 0
    process = subprocess.Popen(ingest_command(batch, store_dir), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    started = time.monotonic()
    try:
        process.wait(delay)
        ended = time.monotonic() - started
    except subprocess.TimeoutExpired:
        ended = None
    finally:
        with_group_killed(process)
    return Kill(delay, ended is None, ended, before, documents_now(store_dir) or 0)


def with_group_killed(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the ingest and any worker it started
    except ProcessLookupError:
        pass
    process.wait()


def check_after_kill(store_dir: Path, reference: Reference, had: set[str]) -> set[str]:
    """The store opens and validates; each graph is the reference's or absent; nothing in it
    before has gone.  Returns the documents it holds."""
    validated = run_cli("validate", "--store", store_dir)
    assert validated.exit_code == 0, validated.output
    graphs = read_graphs(store_dir)
    assert set(graphs) <= set(reference.graphs), "a graph the clean ingest does not write"
    for name, graph in graphs.items():
        if name == ontology_graph_iri() and not len(graph):
            continue  # killed before the ontology was written
        assert isomorphic(graph, reference.graphs[name]), f"{name} is half-written"
    documents = set(graphs) - {ontology_graph_iri()}
    assert had <= documents, f"lost by the kill: {sorted(had - documents)}"
    return documents


def check_complete(store_dir: Path, reference: Reference) -> None:
    """The store holds exactly the reference: the same graphs, each isomorphic, the same claims."""
    validated = run_cli("validate", "--store", store_dir)
    assert validated.exit_code == 0, validated.output
    graphs = read_graphs(store_dir)
    assert set(graphs) == set(reference.graphs)
    for name, graph in graphs.items():
        assert isomorphic(graph, reference.graphs[name]), name
    assert claims_in_graphs(store_dir) == reference.claims
    assert stats(store_dir) == reference.stats


def crash_and_recover(batch: Path, store_dir: Path, reference: Reference, kills: int,
                      rng: random.Random, report=None) -> Outcome:
    """Kill `kb ingest` of ``batch`` on ``store_dir`` ``kills`` times, checking the store after
    each; then ingest to the end and check the store is the reference."""
    total = len(reference.graphs) - 1
    outcome = Outcome(total=total)
    had: set[str] = set()
    horizon, start = reference.seconds, reference.first_document / 2 / reference.seconds
    n = 0
    while outcome.interrupted < kills and n < 3 * kills:
        # from half-way through the start-up (nothing written yet) to the end of the batch
        delay = rng.uniform(start * horizon, horizon)
        kill = kill_once(batch, store_dir, delay)
        if kill.ended is not None:  # the machine got faster: so does the clock of the kills
            horizon = kill.ended
        had = check_after_kill(store_dir, reference, had)
        kill.after = len(had)
        outcome.kills.append(kill)
        if report:
            report(n, kill)
        n += 1
    done = subprocess.run(ingest_command(batch, store_dir), capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr
    check_complete(store_dir, reference)
    return outcome


# ---------------------------------------------------------------- the test

@pytest.fixture(scope="module")
def crash_batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    batch = root / "batch"
    make_batch(batch, COPIES)
    return batch, reference_store(batch, root / "reference")


def test_kill_ingest_at_random_moments(crash_batch, tmp_path):
    """end_to_end: SIGKILL never leaves a half-written document, never loses one, and a re-run
    completes the batch with nothing twice."""
    batch, reference = crash_batch
    outcome = crash_and_recover(batch, tmp_path / "store", reference, KILLS, random.Random(SEED))
    assert outcome.interrupted == KILLS, "kills kept coming after the ingest had ended"


def test_a_store_whose_creation_was_cut_short(tmp_path):
    """end_to_end: `kb ingest` killed while it creates the store (the moment its first file
    appears) leaves a store that readers refuse in one line, and the next ingest completes."""
    store_dir = tmp_path / "store"
    process = subprocess.Popen(ingest_command(SEEDS, store_dir), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (store_dir / "CURRENT").exists() and process.poll() is None:
            assert time.monotonic() < deadline, "the ingest never created the store"
            time.sleep(0.001)
    finally:
        with_group_killed(process)
    validated = subprocess.run(kb_command("validate", "--store", store_dir), capture_output=True, text=True)
    if validated.returncode:  # the kill came before the store was whole
        lines = validated.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"kb: error: {store_dir}: "), validated.stderr
        assert "unexpected" not in lines[0]
    else:
        assert validated.stdout == "0 document graph(s), 0 violation(s)\n"
    one = sorted(SEEDS.glob("*.txt"))[0]
    done = subprocess.run(ingest_command(one, store_dir), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert run_cli("validate", "--store", store_dir).stdout == "1 document graph(s), 0 violation(s)\n"
