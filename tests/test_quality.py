"""Extraction quality on the seeds, through the command a user runs.

`kb ingest seeds/` then `kb query claims --format csv`, scored against the
gold annotation (tests/data/gold) with kb's built-in evaluation, which
computes what the shared score script computes (tests/test_evaluate.py).
The floors are the project's targets; they must not be lowered.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph
from rdflib.compare import isomorphic

from kb.cli import main
from kb.evaluate import evaluate
from kb.readers import read_document
from kb.store import EmbeddedStore, ontology_graph_iri

HERE = Path(__file__).parent
SEEDS = HERE.parent / "seeds"
GOLD = HERE / "data" / "gold"


@pytest.fixture(scope="module")
def seed_store(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("quality") / "store"
    result = CliRunner().invoke(main, ["ingest", str(SEEDS), "--store", str(store)])
    assert result.exit_code == 0, result.output
    return store


@pytest.fixture(scope="module")
def claims_csv(seed_store) -> str:
    store = seed_store
    runner = CliRunner()
    result = runner.invoke(main, ["query", "claims", "--format", "csv", "--store", str(store)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def scores(claims_csv) -> dict:
    return evaluate(GOLD / "seeds-claims.json", csv.DictReader(io.StringIO(claims_csv)))


def test_the_csv_has_the_contracted_columns(claims_csv):
    header = next(csv.reader(io.StringIO(claims_csv)))
    assert header == ["claim", "speaker", "speakerName", "date", "topic", "topicLabel", "quote", "kind", "document"]


def test_attribution_f1(scores):
    assert scores["attribution_p_r_f1"][2] >= 0.85, scores


def test_date_accuracy(scores):
    assert scores["date_accuracy"] >= 0.9, scores


def test_topic_f1(scores):
    assert scores["topic_p_r_f1"][2] >= 0.9, scores


def test_every_quote_is_the_text_at_its_offsets(claims_csv):
    texts = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    for row in csv.DictReader(io.StringIO(claims_csv)):
        name = row["document"].rsplit("/", 1)[-1]
        assert row["quote"] in texts[name]


def test_post_segmentation_matches_the_gold():
    gold = json.loads((GOLD / "seeds-posts.json").read_text(encoding="utf-8"))
    got = []
    for path in sorted(SEEDS.glob("*.txt")):
        doc = read_document(path)
        got += [(doc.name, p.index, p.start_line, p.end_line) for p in doc.posts]
    assert got == [(g["file"], g["index"], g["start_line"], g["end_line"]) for g in gold]


def test_export_of_the_seeds_parses_back_to_the_same_triples(seed_store, tmp_path):
    out = tmp_path / "kb.ttl"
    result = CliRunner().invoke(main, ["export", "--format", "turtle", "-o", str(out), "--store", str(seed_store)])
    assert result.exit_code == 0, result.output
    stored = Graph()
    with EmbeddedStore.open(seed_store, read_only=True) as store:
        for name in [*store.documents(), ontology_graph_iri()]:
            for triple in store.graph(name):
                stored.add(triple)
    exported = Graph().parse(out, format="turtle")
    assert len(exported) == len(stored) > 1000
    assert isomorphic(exported, stored)
