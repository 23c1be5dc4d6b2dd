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

from kb.cli import main
from kb.evaluate import evaluate
from kb.readers import read_document

HERE = Path(__file__).parent
SEEDS = HERE.parent / "seeds"
GOLD = HERE / "data" / "gold"


@pytest.fixture(scope="module")
def claims_csv(tmp_path_factory) -> str:
    store = tmp_path_factory.mktemp("quality") / "store"
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", str(SEEDS), "--store", str(store)])
    assert result.exit_code == 0, result.output
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
