"""Scoring against a gold annotation: the numbers of the shared evaluation script, computed in kb."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from kb import evaluate
from kb.errors import InputError

# The shared script lives beside the repository (../shared/eval/score.py) or where $KB_SCORE_SCRIPT says.
SCORE_SCRIPT = Path(os.environ.get("KB_SCORE_SCRIPT", ROOT.parent / "shared" / "eval" / "score.py"))

GOLD = [
    {"file": "a.txt", "published": "2025-05-29", "claims": [
        {"speaker": "Sergey Lavrov", "date": "2025-05-28", "topics": ["New START"], "kind": "direct",
         "quote": "The New START treaty expires in February next year"},
        {"speaker": "Maria Zakharova", "date": "2025-06", "topics": ["UN reform", "other"], "kind": "indirect",
         "quote": "The UN needs reform of the Security Council",
         "alt_quotes": ["UN Security Council reform is needed"]},
        {"speaker": "Dmitry Peskov", "date": None, "topics": [], "kind": "direct",
         "quote": "No comment on that matter today"},
    ]},
    {"file": "b.txt", "claims": [
        {"speaker": "Vladimir Putin", "date": "2025-01-01", "topics": ["Istanbul talks"], "kind": "direct",
         "quote": "We are ready for talks in Istanbul"},
    ]},
]

DOC = "https://kb.example.org/document/"
COLUMNS = ["claim", "speaker", "speakerName", "date", "topic", "topicLabel", "quote", "kind", "document"]
ROWS = [
    ["c1", "s:lavrov", "Sergei Lavrov", "2025-05-28", "t:ns", "New START",
     "The New START treaty expires in February", "direct", DOC + "a.txt"],
    ["c1", "s:lavrov", "Sergei Lavrov", "2025-05-28", "t:it", "Istanbul talks",
     "The New START treaty expires in February", "direct", DOC + "a.txt"],
    ["c2", "s:zakharova", "Maria Zakharova", "2025-06-02", "t:un", "UN reform",
     "UN Security Council reform is needed now", "indirect", DOC + "a.txt"],
    ["c3", "s:lavrov", "Sergey Lavrov", "", "", "", "Something unrelated entirely", "direct", DOC + "a.txt"],
    ["c4", "s:peskov", "Dmitry Peskov", "2025-01", "", "", "We are ready for talks in Istanbul", "direct",
     DOC + "b.txt"],
]

EXPECTED = {
    "gold_claims": 4, "predicted_claims": 4, "matched": 3,
    "detection_p_r_f1": (0.75, 0.75, 0.75), "attribution_p_r_f1": (0.5, 0.5, 0.5),
    "dated_matched": 3, "date_accuracy": 0.667, "topic_p_r_f1": (0.667, 0.667, 0.667),
    "missed_examples": [("a.txt", "Dmitry Peskov", "No comment on that matter today")],
}


@pytest.fixture
def gold_file(tmp_path) -> Path:
    path = tmp_path / "gold.json"
    path.write_text(json.dumps(GOLD), encoding="utf-8")
    return path


@pytest.fixture
def csv_file(tmp_path) -> Path:
    path = tmp_path / "claims.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(ROWS)
    return path


def rows_of(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_scores_of_a_small_case(gold_file, csv_file):
    assert evaluate.evaluate(gold_file, rows_of(csv_file)) == EXPECTED


@pytest.mark.skipif(not SCORE_SCRIPT.is_file(), reason="the shared score.py is not beside this repository")
@pytest.mark.parametrize("rows", [ROWS, ROWS[::-1], [r[:5] + [""] + r[6:] for r in ROWS]])
def test_the_same_numbers_as_the_shared_script(tmp_path, gold_file, rows):
    path = tmp_path / "some.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([COLUMNS, *rows])
    ours = evaluate.evaluate(gold_file, rows_of(path))
    theirs = subprocess.run([sys.executable, str(SCORE_SCRIPT), str(gold_file), str(path), "--json"],
                            capture_output=True, text=True, check=True).stdout
    assert json.loads(json.dumps(ours)) == json.loads(theirs)
    text = subprocess.run([sys.executable, str(SCORE_SCRIPT), str(gold_file), str(path)],
                          capture_output=True, text=True, check=True).stdout
    assert evaluate.report(ours) == text


@pytest.mark.skipif(not SCORE_SCRIPT.is_file(), reason="the shared score.py is not beside this repository")
def test_the_same_numbers_on_the_seed_gold(tmp_path):
    """The seed gold against a prediction made of its own quotes, words dropped and speakers shortened."""
    gold_path = ROOT / "tests" / "data" / "gold" / "seeds-claims.json"
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    path = tmp_path / "seeds.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for d, doc in enumerate(gold):
            for n, c in enumerate(doc["claims"]):
                if n % 5 == 4:
                    continue
                quote = " ".join(c["quote"].split()[n % 3:])
                speaker = c["speaker"].split()[-1] if n % 2 else c["speaker"]
                for topic in (c["topics"] or [""]):
                    writer.writerow([f"c{d}-{n}", "", speaker, (c.get("date") or "")[: 7 + 3 * (n % 2)], "",
                                     topic if n % 4 else "", quote, c["kind"], DOC + doc["file"]])
    ours = evaluate.evaluate(gold_path, rows_of(path))
    theirs = subprocess.run([sys.executable, str(SCORE_SCRIPT), str(gold_path), str(path), "--json"],
                            capture_output=True, text=True, check=True).stdout
    assert json.loads(json.dumps(ours)) == json.loads(theirs)
    assert 0 < ours["matched"] < ours["gold_claims"]


@pytest.mark.parametrize("gold,predicted,same", [
    ("Sergey Lavrov", "Sergei Lavrov", True),
    ("Sergey Lavrov", "Lavrov", True),
    ("Recep Tayyip Erdoğan", "Erdogan", True),
    ("Maria Zakharova", "Sergey Lavrov", False),
    ("Dmitry Peskov", "", False),
])
def test_same_speaker(gold, predicted, same):
    assert evaluate.same_speaker(gold, predicted) is same


def test_topics_from_a_topics_column():
    per_file = evaluate.predictions([{"claim": "x", "document": DOC + "a.txt", "quote": "q",
                                      "topics": "New START|UN reform"}])
    assert per_file["a.txt"][0].topics == {"new start", "un reform"}


@pytest.mark.parametrize("content,message", [
    (None, "no such file|No such file"),
    ("{not json", "not JSON"),
    ('{"file": "a.txt"}', "not a gold file"),
    ('[{"file": "a.txt", "claims": [{"speaker": "X"}]}]', "not a gold file"),
])
def test_bad_gold_files(tmp_path, content, message):
    path = tmp_path / "gold.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        evaluate.evaluate(path, [])
