"""The command line, run for real: on a store under tmp_path, through click's runner or a subprocess.

The tests marked ``end_to_end`` ingest the seeds and files of our own; they need
the whole pipeline (kb.readers, kb.extract, kb.rdf, kb.validate).
"""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

from conftest import DOCS, ROOT, SCHEMA, C, build_document, count_triples, iri
from kb import evaluate
from kb.cli import main
from kb.store import EmbeddedStore, ontology_graph_iri, open_store

SEEDS = ROOT / "seeds"
GOLD = ROOT / "tests" / "data" / "gold" / "seeds-claims.json"


def kb(runner, *args):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kb: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.output


def store_union(store_dir) -> Graph:
    out = Graph()
    with open_store(store_dir, read_only=True) as store:
        for name in [*store.documents(), ontology_graph_iri()]:
            for triple in store.graph(name):
                out.add(triple)
    return out


# ---------------------------------------------------------------- query

def test_query_claims_as_csv(runner, filled_store_dir):
    result = kb(runner, "query", "claims", "--format", "csv", "--store", filled_store_dir)
    assert result.exit_code == 0, result.output
    got = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(got) == 6
    assert list(got[0]) == ["claim", "speaker", "speakerName", "date", "topic", "topicLabel", "quote", "kind",
                            "document"]
    assert {r["document"].rsplit("/", 1)[-1] for r in got} == set(DOCS)


def test_query_csv_reads_back_as_the_claims_words(runner, store_dir, ontology):
    """`kb query --format csv` (kb.queries.csv_text) quotes what must be quoted, a lone CR too: the
    words of a claim come back through csv.reader as they are in the store."""
    words = ['Carriage\rreturn', 'Line one\rline "two", three', "Multi\nline", "plain words", "", 'a "" b']
    with open_store(store_dir) as store:
        store.set_ontology(ontology)
        doc, g = build_document("csv.txt", [C("sergey-lavrov", w or " ", "2025-01-02") for w in words])
        store.replace_document(doc, g)
    result = kb(runner, "query", "claims", "--format", "csv", "--store", store_dir)
    assert result.exit_code == 0, result.output
    got = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert sorted(r["quote"] for r in got) == sorted(w or " " for w in words)


def test_the_store_comes_from_the_environment(runner, filled_store_dir, monkeypatch):
    monkeypatch.setenv("KB_STORE", str(filled_store_dir))
    result = kb(runner, "query", "stats", "--format", "json")
    assert json.loads(result.stdout)["results"]["bindings"][0]["claims"]["value"] == "5"


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json", "xml"])
def test_query_formats(runner, filled_store_dir, fmt):
    result = kb(runner, "query", "claims-by-speaker", "-p", f"speaker={iri('speaker', 'maria-zakharova')}",
                "--format", fmt, "--store", filled_store_dir)
    assert result.exit_code == 0, result.output
    assert "The UN needs reform" in result.stdout


def test_query_parameters_with_quotes_and_braces_are_bound_safely(runner, filled_store_dir):
    result = kb(runner, "query", "search", "--param", 'text="} UNION { ?s ?p ?o', "--format", "csv",
                "--store", filled_store_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["claim,speaker,speakerName,date,quote,document"]


@pytest.mark.parametrize("args,fragments", [
    (["query", "nope"], ["unknown query 'nope' (known: ", "claims"]),
    (["query", "claims-by-speaker"], ["needs --param speaker=VALUE"]),
    (["query", "claims-by-speaker", "-p", 'speaker="} UNION { ?s ?p ?o'], ["parameter speaker: not an absolute IRI"]),
    (["query", "claims-by-speaker", "-p", "speaker=x:y", "-p", "from=May"], ["parameter from: not a date"]),
    (["query", "claims", "-p", "a=1"], ["query 'claims' has no parameter 'a'"]),
    (["query", "missing-file.rq"], ["missing-file.rq: cannot read the query"]),
])
def test_query_errors_are_one_line(runner, filled_store_dir, args, fragments):
    assert_one_line_error(kb(runner, *args, "--store", filled_store_dir), *fragments)


def test_a_query_with_service_is_refused(runner, filled_store_dir, tmp_path):
    path = tmp_path / "remote.rq"
    path.write_text("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", encoding="utf-8")
    assert_one_line_error(kb(runner, "query", path, "--store", filled_store_dir), "SERVICE is not allowed")


def test_reading_a_store_that_is_not_there(runner, tmp_path):
    for command in (["query", "claims"], ["stats"], ["export"], ["validate"]):
        assert_one_line_error(kb(runner, *command, "--store", tmp_path / "none"), "no store here")
    assert not (tmp_path / "none").exists()


def test_queries_lists_the_named_queries(runner):
    result = kb(runner, "queries")
    assert "claims-by-speaker (speaker, from?, to?, limit?): " in result.stdout


def test_errors_never_show_a_traceback(filled_store_dir):
    """As the installed script runs: one line on stderr, exit status 1."""
    code = "import sys; from kb.cli import main; sys.argv[0] = 'kb'; main()"
    done = subprocess.run([sys.executable, "-c", code, "query", "claims-by-speaker", "-p", "speaker=a b",
                           "--store", str(filled_store_dir)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1
    assert done.stderr == "kb: error: parameter speaker: not an absolute IRI: 'a b'\n"


# ---------------------------------------------------------------- export

def test_export_turtle_is_the_store(runner, filled_store_dir, tmp_path):
    out = tmp_path / "all.ttl"
    result = kb(runner, "export", "--format", "turtle", "-o", out, "--store", filled_store_dir)
    assert result.exit_code == 0, result.output
    assert isomorphic(Graph().parse(out, format="turtle"), store_union(filled_store_dir))
    assert out.read_text(encoding="utf-8").startswith("@prefix")


def test_export_to_stdout(runner, filled_store_dir):
    result = kb(runner, "export", "--format", "nt", "--store", filled_store_dir)
    assert isomorphic(Graph().parse(data=result.stdout_bytes, format="nt"), store_union(filled_store_dir))


@pytest.mark.parametrize("args,quotes", [
    (["--speaker", str(iri("speaker", "maria-zakharova"))], {"The UN needs reform\nof the Security Council"}),
    (["--topic", str(iri("topic", "new-start"))], {"The New START treaty expires in February"}),
])
def test_export_the_claims_of_a_speaker_or_topic(runner, filled_store_dir, args, quotes):
    result = kb(runner, "export", *args, "--format", "turtle", "--store", filled_store_dir)
    assert result.exit_code == 0, result.output
    g = Graph().parse(data=result.stdout_bytes, format="turtle")
    assert {str(g.value(c, SCHEMA.text)) for c in g.subjects(RDF.type, SCHEMA.Claim)} == quotes


def test_export_with_a_bad_speaker(runner, filled_store_dir):
    assert_one_line_error(kb(runner, "export", "--speaker", "a b", "--store", filled_store_dir),
                          "parameter speaker: not an absolute IRI")


# ---------------------------------------------------------------- stats, evaluate

def test_stats(runner, filled_store_dir):
    result = kb(runner, "stats", "--store", filled_store_dir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "documents: 2" in lines and "claims: 5" in lines and "posts: 2" in lines
    assert "claims per speaker:" in lines and any(line.split() == ["Sergey", "Lavrov", "3"] for line in lines)
    figures = json.loads(kb(runner, "stats", "--json", "--store", filled_store_dir).stdout)
    assert figures["claims_per_topic"]["UN reform"] == 1


def test_evaluate_scores_the_store(runner, filled_store_dir, tmp_path):
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps([
        {"file": "001_lavrov.txt", "claims": [
            {"speaker": "Sergey Lavrov", "date": "2025-05-28", "topics": ["New START"], "kind": "direct",
             "quote": "The New START treaty expires in February"},
            {"speaker": "Vladimir Putin", "date": "2025-05-01", "topics": [], "kind": "direct",
             "quote": "Nothing like anything predicted"}]},
        {"file": "002_zakharova.txt", "claims": [
            {"speaker": "Maria Zakharova", "date": "2025-06", "topics": ["UN reform"], "kind": "direct",
             "quote": "The UN needs reform of the Security Council"}]},
    ]), encoding="utf-8")
    result = kb(runner, "evaluate", gold, "--json", "--store", filled_store_dir)
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert (scores["gold_claims"], scores["predicted_claims"], scores["matched"]) == (3, 5, 2)
    assert scores["attribution_p_r_f1"] == [0.4, 0.667, 0.5]
    assert scores["topic_p_r_f1"] == [1.0, 1.0, 1.0]
    text = kb(runner, "evaluate", gold, "--store", filled_store_dir).stdout
    assert text == evaluate.report(evaluate.evaluate(gold, _claims_rows(runner, filled_store_dir)))
    assert text.splitlines()[-1] == "attribution F1 0.5 · date accuracy 1.0 · topic F1 1.0"


def _claims_rows(runner, store_dir):
    return list(csv.DictReader(io.StringIO(kb(runner, "query", "claims", "--format", "csv", "--store", store_dir).stdout)))


def test_evaluate_with_a_missing_gold_file(runner, filled_store_dir, tmp_path):
    assert_one_line_error(kb(runner, "evaluate", tmp_path / "gold.json", "--store", filled_store_dir),
                          "gold.json: ")


# ---------------------------------------------------------------- ingest (the whole pipeline)

@pytest.fixture
def batch(tmp_path):
    """Two seeds, a binary file and an empty one."""
    folder = tmp_path / "batch"
    folder.mkdir()
    seeds = sorted(SEEDS.glob("*.txt"))[:2]
    for seed in seeds:
        shutil.copy(seed, folder / seed.name)
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02 not text")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    return folder, [s.name for s in seeds]


def test_ingest_the_seeds_twice_gives_the_same_store(runner, store_dir):
    """end_to_end"""
    first = kb(runner, "ingest", SEEDS, "--store", store_dir)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith(f"ingested {len(list(SEEDS.glob('*.txt')))} document(s)")
    with open_store(store_dir) as store:
        once = count_triples(store)
        graphs = {name: store.graph(name) for name in store.documents()}
    again = kb(runner, "ingest", SEEDS, "--store", store_dir)
    assert again.exit_code == 0, again.output
    with open_store(store_dir) as store:
        assert count_triples(store) == once
        assert sorted(store.documents()) == sorted(graphs)
        for name, graph in graphs.items():
            assert len(store.graph(name)) == len(graph)


def test_ingest_then_query_then_validate(runner, store_dir):
    """end_to_end: the seeds give claims the evaluation can read, and the store conforms."""
    assert kb(runner, "ingest", SEEDS, "--store", store_dir).exit_code == 0
    rows = _claims_rows(runner, store_dir)
    assert rows and all(r["quote"] and r["document"] for r in rows)
    assert {r["kind"] for r in rows} <= {"direct", "indirect"}
    validated = kb(runner, "validate", "--store", store_dir)
    assert validated.exit_code == 0, validated.output
    assert validated.stdout.endswith(", 0 violation(s)\n")
    scores = json.loads(kb(runner, "evaluate", GOLD, "--json", "--store", store_dir).stdout)
    assert scores["matched"] > 0


def test_a_failing_file_leaves_the_rest_of_the_batch(runner, store_dir, batch):
    """end_to_end"""
    folder, good = batch
    result = kb(runner, "ingest", folder, "--store", store_dir)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert len(errors) == 2 and all(e.startswith("kb: error: ") for e in errors)
    assert "binary.txt: binary file" in errors[0] and "empty.txt: empty file" in errors[1]
    assert result.stdout.startswith("ingested 2 document(s)") and "2 file(s) failed" in result.stdout
    with open_store(store_dir, read_only=True) as store:
        assert [d.rsplit("/", 1)[-1] for d in store.documents()] == good


def test_a_file_that_fails_again_keeps_its_old_graph(runner, store_dir, batch):
    """end_to_end: nothing half-written, nothing lost"""
    folder, good = batch
    target = folder / good[0]
    assert kb(runner, "ingest", target, "--store", store_dir).exit_code == 0
    before = store_union(store_dir)
    target.write_bytes(b"\x00garbage")
    result = kb(runner, "ingest", target, "--store", store_dir)
    assert_one_line_error(result, f"{target}: binary file")
    assert isomorphic(store_union(store_dir), before)


def test_ingest_nothing(runner, store_dir, tmp_path):
    (tmp_path / "void").mkdir()
    assert_one_line_error(kb(runner, "ingest", tmp_path / "void", "--store", store_dir), "no files to ingest")


@pytest.mark.embedded_only(reason="the file lock of the embedded store")
def test_a_store_in_use_is_one_line(runner, store_dir):
    with EmbeddedStore.open(store_dir):
        assert_one_line_error(kb(runner, "ingest", SEEDS, "--store", store_dir), "in use by another process")
