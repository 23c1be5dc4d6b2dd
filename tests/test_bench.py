"""The benchmarks' own commands, at a tiny size: the corpus generator and bench/targets.py.

bench/RESULTS.md gives, for every figure, the command that reproduces it.
These tests run those commands on a corpus of a few hundred claims, so
that a change that breaks them fails here and not on the day someone
measures.  No time is asserted (figures belong in bench/RESULTS.md): the
tests check what the corpus holds, that kb finds its claims, and that
bench/targets.py measures every step and marks each target met or not.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
KB = "from kb.cli import main; main()"

pytestmark = pytest.mark.embedded_only("the benchmarks measure the embedded store")


def run(*args, env=None, timeout=600) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "corpus"
    said = run(BENCH / "generate.py", out, "--claims", 600, "--posts-per-file", 40, "--seed", 3).stdout
    (out / "made.txt").write_text(said)  # 'N claims in F files ...': what the templates intend
    return out


@pytest.fixture(scope="module")
def env(corpus) -> dict:
    return dict(os.environ, KB_ONTOLOGY=str(corpus / "ontology"), KB_SHACL_ENGINE="pyshacl")


def test_the_corpus_has_both_kinds_of_input_and_their_mess(corpus):
    files = sorted((corpus / "corpus").iterdir())
    channels = [f.read_text(encoding="utf-8") for f in files if f.name.endswith("_tg.txt")]
    news = [f.read_text(encoding="utf-8") for f in files if f.name.endswith("_news.txt")]
    assert channels and news
    dump = "\n".join(channels)
    # a channel's doubled bodies: a line of talking points written twice in one post
    posts = dump.split("\n❤")
    assert any(len(re.findall(re.escape(line), post)) == 2
               for post in posts for line in post.splitlines() if line.startswith("• "))
    assert "💬 " in dump and "Forwarded from " in dump  # speaker labels, forwarded posts
    text = "\n".join(news)
    assert re.search(r"“[^”]+,” \w+ (said|stressed|noted|told reporters|warned|added|emphasised|stated)\.", text)
    assert re.search(r"said on (Monday|Tuesday|Wednesday|Thursday|Friday) that", text)  # a relative day
    assert "According to " in text


def test_the_speakers_are_long_tailed_and_in_the_ontology(corpus):
    speakers = (corpus / "ontology" / "speakers.ttl").read_text(encoding="utf-8")
    generated = re.findall(r'<speaker/(bench-[a-z-]+)> a schema:Person ;\n    schema:name "([^"]+)"', speakers)
    assert len(generated) >= 300  # several hundred speakers
    text = "\n".join(f.read_text(encoding="utf-8") for f in (corpus / "corpus").iterdir())
    counts = Counter({name: text.count(name) for _, name in generated})
    ranked = [n for _, n in counts.most_common()]
    assert ranked[0] >= 5 * ranked[len(ranked) // 10]  # a few are everywhere
    assert sum(1 for n in ranked if n == 0) > len(ranked) // 3  # most appear rarely, if at all


def test_kb_finds_most_of_the_claims_the_corpus_intends(corpus, env, tmp_path):
    store = tmp_path / "store"
    run("-c", KB, "ingest", corpus / "corpus", "--store", store, "--no-progress", env=env)
    stats = json.loads(run("-c", KB, "stats", "--json", "--store", store, env=env).stdout)
    made = int(re.search(r"\d+", (corpus / "made.txt").read_text()).group())
    assert 0.9 * made <= stats["claims"] <= made
    assert len(stats["claims_per_speaker"]) >= 30


def test_targets_measures_each_step_and_marks_each_target(corpus, env, tmp_path):
    store, figures = tmp_path / "store", tmp_path / "figures.json"
    steps = "ingest,queries,pages,search,validate"
    done = run(BENCH / "targets.py", "--corpus", corpus, "--store", store, "--out", figures, "--steps", steps,
               "--engine", "pyshacl", "--runs", 2, "--budget", 2,
               "--queries", "speaker-claims,topic-claims,claim-export", env=env)
    measured = json.loads(figures.read_text())
    assert set(steps.split(",")) <= set(measured)
    assert measured["ingest"]["runs"][-1]["claims"] >= 540
    assert {r["query"] for r in measured["queries"]["queries"]} == {"speaker-claims", "topic-claims",
                                                                   "claim-export"}
    assert (store / "kb-search.sqlite").exists()  # the store kept for the other steps
    before = {(r["query"], r["variant"]): r for r in measured["queries"]["queries"]}
    run(BENCH / "targets.py", "--corpus", corpus, "--store", store, "--out", figures, "--steps", "queries",
        "--runs", 3, "--raw-runs", 1, "--queries", "speaker-claims", env=env)
    after = {(r["query"], r["variant"]): r for r in json.loads(figures.read_text())["queries"]["queries"]}
    assert after.keys() == before.keys()  # some queries again: their rows replaced, the others kept
    for key, row in after.items():
        if key[0] == "speaker-claims":
            assert (row["kb"]["runs"], row["raw"]["runs"]) == (3, 1)
        else:
            assert row == before[key]
    assert done.stdout.startswith("| target | ") and done.stdout.splitlines()[0].count("claims |") == 1
    table = run(BENCH / "targets.py", "--table", figures, figures).stdout
    lines = table.splitlines()
    assert lines[0].count("claims |") == 2  # a column per run
    for target in ("ingest ≥ 1,000 posts/s", "browse queries p95 < 50 ms", "UI pages p95 < 150 ms",
                   "full-text search p95 < 100 ms", "`kb validate` at 1M < 10 min"):
        row = next(line for line in lines if line.startswith(f"| {target}"))
        if target != "`kb validate` at 1M < 10 min":  # a target of the 1M store alone: no verdict at 600 claims
            assert row.count(" met |") + row.count(" **NOT met** |") == 2, row
        else:
            assert "met" not in row.split("|", 2)[2], row
