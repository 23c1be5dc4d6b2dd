"""The full-text index of the claims (kb.fts) kept in step with the store.

Real stores under tmp_path: the seeds ingested once for the module, and the
hand-built documents of conftest for the small cases.
"""
from __future__ import annotations

import os
import sqlite3

import pytest
from click.testing import CliRunner
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from conftest import DOCS, KB, SCHEMA, C, build_document, fill, iri
from kb import config, fts, pipeline
from kb.cli import main
from kb.store import EmbeddedStore, ontology_graph_iri
from kb.updates import apply_update

pytestmark = pytest.mark.embedded_only(reason="the SQLite full-text index kept beside the embedded store, and kb reindex")


def kb(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def seeds_dir(embedded_seeds):
    return embedded_seeds("fts")


def sparql_claims(store: EmbeddedStore) -> int:
    return int(store.query("SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a <https://schema.org/Claim> }").rows[0][0])


# ---------------------------------------------------------------- in step with the store

def test_the_index_built_at_ingest_equals_a_rebuild(seeds_dir):
    with EmbeddedStore.open(seeds_dir) as store:
        index = store.search_index()
        at_ingest = index.rows()
        assert index.complete and index.problem() is None
        report = store.reindex()
        assert not report.failures
        assert index.rows() == at_ingest
        assert report.claims == len(at_ingest) == sparql_claims(store)
        assert report.documents == len(store.documents())
        assert {row[0] for row in at_ingest} == set(store.documents())


def test_the_index_file_lives_in_the_store_directory_through_optimize_and_read_only_opens(filled_store_dir):
    with EmbeddedStore.open(filled_store_dir) as store:
        before = store.search_index().rows()
        store.optimize()
    assert fts.FILE_NAME in os.listdir(filled_store_dir)
    with EmbeddedStore.open(filled_store_dir, read_only=True) as store:
        assert store.search_index().rows() == before
        assert len(store.documents()) == 2  # and the store still opens: RocksDB left the file alone
    with EmbeddedStore.open(filled_store_dir) as store:
        assert store.search_index().rows() == before and len(before) == 5


def test_replacing_a_document_replaces_its_rows(store, ontology):
    fill(store, ontology)
    index = store.search_index()
    first = index.rows()
    fill(store, ontology)  # again: the same rows, no duplicates
    assert index.rows() == first and index.count() == 5
    doc, smaller = build_document("001_lavrov.txt", [C("dmitry-peskov", "Only this now")])
    store.replace_document(doc, smaller)
    rows = index.rows()
    assert [r[2] for r in rows if r[0] == str(doc)] == ["Only this now"]
    assert len(rows) == 3 == sparql_claims(store)
    store.replace_document(doc, Graph())  # an empty graph removes the document
    assert {r[0] for r in index.rows()} == {str(iri("document", "002_zakharova.txt"))}


def test_reingesting_a_seed_file_adds_nothing(tmp_path):
    seed = sorted(config.seeds_dir().iterdir())[0]
    with EmbeddedStore.open(tmp_path / "store") as store:
        pipeline.ingest([seed], store, progress=False)
        once = store.search_index().rows()
        pipeline.ingest([seed], store, progress=False)
        assert store.search_index().rows() == once
        assert len(once) == sparql_claims(store) > 0


def _seed_graph(seeds_dir) -> tuple[str, Graph]:
    with EmbeddedStore.open(seeds_dir, read_only=True) as store:
        name = store.documents()[0]
        return name, store.graph(name)


def _without_claim(graph: Graph) -> tuple[Graph, URIRef]:
    """The graph less one claim (its triples and its topic assignments')."""
    claim = sorted(graph.subjects(RDF.type, SCHEMA.Claim))[0]
    out = Graph()
    dropped = {claim, *graph.objects(claim, KB.topicAssignment)}
    for s, p, o in graph:
        if s not in dropped and o != claim:
            out.add((s, p, o))
    return out, claim


def test_kb_load_keeps_the_index_in_step(seeds_dir, tmp_path):
    name, graph = _seed_graph(seeds_dir)
    store_dir = tmp_path / "store"
    whole = tmp_path / "doc.ttl"
    graph.serialize(whole, format="turtle", encoding="utf-8")
    assert kb("load", whole, "--graph", name, "--store", store_dir).exit_code == 0
    with EmbeddedStore.open(store_dir, read_only=True) as store:
        rows = store.search_index().rows()
        assert len(rows) == sparql_claims(store) > 1 and {r[0] for r in rows} == {name}
    smaller, claim = _without_claim(graph)
    part = tmp_path / "part.ttl"
    smaller.serialize(part, format="turtle", encoding="utf-8")
    result = kb("load", part, "--graph", name, "--store", store_dir)
    assert result.exit_code == 0, result.output
    with EmbeddedStore.open(store_dir, read_only=True) as store:
        after = store.search_index().rows()
        assert len(after) == len(rows) - 1 and str(claim) not in {r[1] for r in after}
    # triples into the default graph: indexed as the default graph's rows
    assert kb("load", whole, "--store", tmp_path / "other").exit_code == 0
    with EmbeddedStore.open(tmp_path / "other", read_only=True) as store:
        index = store.search_index()
        assert {r[0] for r in index.rows()} == {fts.DEFAULT_GRAPH}
        assert [r[1:] for r in index.rows()] == [r[1:] for r in rows]
        assert index.problem() is None


def test_an_allowed_sparql_update_keeps_the_index_in_step(seeds_dir, tmp_path, ontology):
    name, graph = _seed_graph(seeds_dir)
    store_dir = tmp_path / "store"
    with EmbeddedStore.open(store_dir) as store:
        store.set_ontology(ontology)
        store.replace_document(URIRef(name), graph)
        claim = sorted(graph.subjects(KB.kind, KB.DirectQuote))[0]
    update = f"""PREFIX kb: <https://w3id.org/kb/ns#>
DELETE {{ GRAPH ?g {{ <{claim}> kb:kind kb:DirectQuote }} }}
INSERT {{ GRAPH ?g {{ <{claim}> kb:kind kb:ReportedSpeech }} }}
WHERE {{ GRAPH ?g {{ <{claim}> kb:kind kb:DirectQuote }} }}"""
    assert apply_update(store_dir, update) == [name]
    with EmbeddedStore.open(store_dir, read_only=True) as store:
        index = store.search_index()
        row = next(r for r in index.rows() if r[1] == str(claim))
        assert row[6] == "indirect" and index.problem() is None
        kinds = {v.key: v.count for v in index.search("", {"speaker": row[3]}, limit=0).facets["kind"]}
        result = store.query(
            "PREFIX kb: <https://w3id.org/kb/ns#> PREFIX schema: <https://schema.org/> "
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
            "SELECT ?label (COUNT(DISTINCT ?c) AS ?n) ?speaker WHERE { ?c schema:author ?speaker ; kb:kind ?kind . "
            "?kind rdfs:label ?label } GROUP BY ?label ?speaker", {"speaker": URIRef(row[3])})
        assert kinds == {str(label): int(n) for label, n, _ in result.rows}


def test_the_ontology_is_not_indexed_but_gives_the_labels(store, ontology):
    fill(store, ontology)
    index = store.search_index()
    assert ontology_graph_iri() not in {r[0] for r in index.rows()}
    facet = index.search("reform").facets["speaker"]
    assert [(v.key, v.label) for v in facet] == [("maria-zakharova", "Maria Zakharova")]
    renamed = Graph()
    for triple in ontology:
        renamed.add(triple)
    speaker = iri("speaker", "maria-zakharova")
    renamed.remove((speaker, SCHEMA.name, None))
    renamed.add((speaker, SCHEMA.name, Literal("M. Zakharova")))
    store.set_ontology(renamed)
    assert [v.label for v in index.search("reform").facets["speaker"]] == ["M. Zakharova"]


def test_a_claims_row_is_plain_only_with_one_of_each_term_a_view_shows():
    """Row.plain (a view's row of the claim can be made from the index) holds for a claim with one
    text and one document, at most one speaker, date, offset (an integer as written) and kind, and
    topics that are IRIs; each other shape is not plain, and is then given by the view's query."""
    from rdflib.namespace import PROV, XSD

    doc = URIRef("https://kb.example.org/document/d.txt")

    def claim(key: str, **changes) -> list[tuple]:
        subject = URIRef(f"https://kb.example.org/claim/{key}")
        values = {SCHEMA.text: [Literal("We said so.")], PROV.wasDerivedFrom: [doc],
                  SCHEMA.author: [iri("speaker", "sergey-lavrov")], KB.statedOn: [Literal("2025-03-01", datatype=XSD.date)],
                  KB.startOffset: [Literal(7)], KB.kind: [KB.DirectQuote], SCHEMA.about: [iri("topic", "un-reform")]}
        values.update(changes)
        return [(subject, RDF.type, SCHEMA.Claim), *((subject, p, o) for p, objects in values.items() for o in objects)]

    graph = fts.Triples()  # what `kb reindex` reads a graph into (an ingest gives an rdflib Graph)
    shapes = {
        "plain": {}, "bare": {SCHEMA.author: [], KB.statedOn: [], KB.startOffset: [], KB.kind: [], SCHEMA.about: []},
        "two-texts": {SCHEMA.text: [Literal("One."), Literal("Two.")]}, "no-document": {PROV.wasDerivedFrom: []},
        "literal-document": {PROV.wasDerivedFrom: [Literal("d.txt")]},
        "two-speakers": {SCHEMA.author: [iri("speaker", "sergey-lavrov"), iri("speaker", "maria-zakharova")]},
        "literal-speaker": {SCHEMA.author: [Literal("Lavrov")]},
        "two-dates": {KB.statedOn: [Literal("2025-03-01", datatype=XSD.date), Literal("2025-03", datatype=XSD.gYearMonth)]},
        "padded-offset": {KB.startOffset: ["007"]},  # a lexical form, as the store's reader gives it
        "two-kinds": {KB.kind: [KB.DirectQuote, KB.ReportedSpeech]},
        "literal-topic": {SCHEMA.about: [Literal("UN reform")]}, "iri-text": {SCHEMA.text: [doc]},
    }
    for key, changes in shapes.items():
        for triple in claim(key, **changes):
            graph.add(triple)
    rows = {row.claim.rsplit("/", 1)[-1]: row for row in fts.rows_of(graph)[0]}
    assert {key for key, row in rows.items() if row.plain} == {"plain", "bare"}
    plain = rows["plain"]
    assert (plain.document, plain.kind_term, plain.start) == (str(doc), str(KB.DirectQuote), 7)
    assert (rows["bare"].kind_term, rows["bare"].speaker, rows["bare"].start) == (None, None, None)


# ---------------------------------------------------------------- a crash, an old store

def test_a_crash_between_the_two_commits_is_seen_and_kb_reindex_repairs_it(filled_store_dir, monkeypatch):
    doc, changed = build_document("001_lavrov.txt", [C("dmitry-peskov", "Written, then the power went")])

    def crash(*args, **kwargs):
        raise SystemExit("the process died")

    with EmbeddedStore.open(filled_store_dir) as store:
        monkeypatch.setattr(fts.SearchIndex, "replace_document", crash)
        with pytest.raises(SystemExit):
            store.replace_document(doc, changed)
        monkeypatch.undo()
    with EmbeddedStore.open(filled_store_dir, read_only=True) as store:
        index = store.search_index()
        assert index.stale() == [str(doc)]
        assert "1 document" in index.problem() and "kb reindex" in index.problem()
        assert index.search("power").total == 0  # the old rows are still there…
        assert store.graph(doc)  # …while the store has the new graph
    check = kb("reindex", "--check", "--store", filled_store_dir)
    assert check.exit_code == 1
    assert check.output == f"{doc}: a write was interrupted\n1 difference(s) between the search index and the store\n"
    result = kb("reindex", "--store", filled_store_dir)
    assert result.exit_code == 0, result.output
    assert "indexed 2 document(s), 3 claim(s)" in result.output
    check = kb("reindex", "--check", "--store", filled_store_dir)
    assert check.exit_code == 0 and check.output.startswith("0 difference(s)")
    with EmbeddedStore.open(filled_store_dir, read_only=True) as store:
        index = store.search_index()
        assert index.problem() is None and index.stale() == []
        assert index.search("power").total == 1


def test_a_store_without_an_index(filled_store_dir):
    for name in os.listdir(filled_store_dir):
        if name.startswith(fts.FILE_NAME):
            os.remove(filled_store_dir / name)
    with EmbeddedStore.open(filled_store_dir, read_only=True) as store:
        with pytest.raises(fts.IndexMissing, match="kb reindex"):
            store.search_index()
    check = kb("reindex", "--check", "--store", filled_store_dir)
    assert check.exit_code == 1 and check.output.startswith("kb: error: ") and "kb reindex" in check.output
    with EmbeddedStore.open(filled_store_dir) as store:  # a writer makes one, incomplete until reindexed
        doc, g = build_document("003_new.txt", [C("sergey-lavrov", "A new document")])
        store.replace_document(doc, g)
        assert "not built from the whole store" in store.search_index().problem()
        assert store.search_index().count() == 1
    check = kb("reindex", "--check", "--store", filled_store_dir)
    assert check.exit_code == 1 and check.output.splitlines() == [
        f"{iri('document', name)}: in the store, not in the index" for name in DOCS] + [
        "the index was not built from the whole store", "3 difference(s) between the search index and the store"]
    assert kb("reindex", "--store", filled_store_dir).exit_code == 0
    with EmbeddedStore.open(filled_store_dir, read_only=True) as store:
        assert store.search_index().problem() is None and store.search_index().count() == 6


def test_an_index_of_another_version_is_refused_by_readers_and_remade_by_kb_reindex(filled_store_dir):
    with sqlite3.connect(filled_store_dir / fts.FILE_NAME) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    db.close()
    with EmbeddedStore.open(filled_store_dir, read_only=True) as store:
        with pytest.raises(fts.IndexMissing, match="another version"):
            store.search_index()
    result = kb("reindex", "--store", filled_store_dir)
    assert result.exit_code == 0 and "indexed 2 document(s), 5 claim(s)" in result.output
    with EmbeddedStore.open(filled_store_dir, read_only=True) as store:
        assert store.search_index().problem() is None and store.search_index().count() == 5


def test_a_documents_rows_given_in_any_order_are_listed_by_offset_then_iri(tmp_path):
    """The lists read their order off the index, the claim's id last: the index gives a document's
    claims their ids in the order of offset and IRI whatever order its rows come in (a BulkWriter's
    caller's own rows too); claims without an offset first, as SPARQL orders them."""
    speaker, graph = "https://x.org/speaker/s", "https://x.org/document/d"
    made = [fts.Row(f"https://x.org/claim/{name}", name, speaker, "", "direct", start)
            for name, start in [("b", 5), ("a", 5), ("d", None), ("c", None), ("e", 1)]]
    with fts.SearchIndex.open(tmp_path) as index:
        with index.bulk() as writer:
            writer.add(graph, made, {speaker: "S"})
        assert [c.rsplit("/", 1)[-1] for c in index.speaker_claims(speaker, limit=None)] == ["c", "d", "e", "a", "b"]
        assert [c.rsplit("/", 1)[-1] for c in index.speaker_claims(speaker, limit=2, offset=3)] == ["a", "b"]


def test_kb_serve_says_at_start_why_it_cannot_read_the_index(filled_store_dir, tmp_path):
    """An index of another version (or none) is said on stderr when `kb serve` starts, with the
    command that mends it; the pages still answer. An index it can read gives no such line."""
    from live_server import fetch, running_server

    log = tmp_path / "serve.log"
    with running_server(filled_store_dir, log=log) as url:
        assert fetch(url.replace("/sparql", "/"))[0] == 200
    assert "search index" not in log.read_text()
    with sqlite3.connect(filled_store_dir / fts.FILE_NAME) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    db.close()
    with running_server(filled_store_dir, log=log) as url:
        status, _, body = fetch(url.replace("/sparql", "/speaker/sergey-lavrov"))
        assert status == 200 and b"sergey" in body.lower()
    said = [line for line in log.read_text().splitlines() if "search index" in line]
    assert said == ["kb serve: the search index is of another version: run `kb reindex`; until then the pages "
                    "answer by SPARQL alone, which is slow on a large store"]


def test_kb_reindex_needs_a_store(tmp_path):
    result = kb("reindex", "--store", tmp_path / "none", "--no-progress")
    assert result.exit_code == 1 and "no store here" in result.output
    assert not (tmp_path / "none").exists()


# ---------------------------------------------------------------- searching

@pytest.mark.parametrize("text", ['"} UNION {', '"}} UNION { ?s ?p ?o } #', "NEAR(", "NEAR(reform council)",
                                  "*", "-", "AND", "OR", "NOT", '"', "^", "{}", "(", "x:y", "''", "", "   ", "!!!", "_"])
def test_hostile_text_is_words_or_nothing(filled_store, text):
    result = filled_store.search_index().search(text)
    assert result.total == 0 and result.hits == []


@pytest.mark.parametrize("text", ['reform"', '"reform"', "reform*", "-reform", "REFORM", "(reform)",
                                  "reform:", "refor", "security council", "Security-Council"])
def test_syntax_around_a_word_is_ignored(filled_store, text):
    result = filled_store.search_index().search(text)
    assert [h.words for h in result.hits] == ["The UN needs reform\nof the Security Council"], text


def test_the_words_never_match_the_facet_tokens(filled_store):
    index = filled_store.search_index()
    assert index.search("", {"kind": "direct"}).total == 3
    for text in ("kdirect", "y2025", "s1", "t1", "kindirect"):
        assert index.search(text).total == 0, text
    assert index.search("", {"year": "2025 OR y2024"}).total == 0
    assert index.search("", {"kind": '" OR "kdirect'}).total == 0


def test_the_match_expression_quotes_every_word():
    assert fts.match_expression('Accord-017 "NEAR(a*') == '"Accord 017"* "NEAR a"*'
    assert fts.match_expression("I\u0307stanbul") == '"\u0130stanbul"*'  # composed first (NFC), one word
    assert fts.match_expression(" \t*") is None
    assert fts.match_expression("x " * 40).count('"') == 2 * fts.search.MAX_TOKENS


def test_cyrillic_and_turkish(store, ontology):
    store.set_ontology(ontology)
    doc, g = build_document("ru.txt", [
        C("sergey-lavrov", "Лавров заявил о готовности к переговорам", "2025-03-01"),
        C("sergey-lavrov", "Türkiye'nin İstanbul'daki görüşmeleri sürecek", "2025-03-02"),
    ])
    store.replace_document(doc, g)
    index = store.search_index()
    for text, expected in [("ЛАВРОВ", 0), ("лавров", 0), ("переговор", 0), ("Готовности к", 0),
                           ("turkiye", 1), ("Türkiye", 1), ("istanbul", 1), ("İSTANBUL", 1), ("gorusmeleri", 1)]:
        hits = index.search(text).hits
        assert [h.words for h in hits] == [g.value(URIRef(f"{doc}#claim-{expected}"), SCHEMA.text).value], text
    assert index.search("переговоры").total == 0  # a longer word is not a prefix of it


def test_facets_and_pages_agree_with_sparql(seeds_dir):
    with EmbeddedStore.open(seeds_dir, read_only=True) as store:
        index = store.search_index()
        for word in ("russia", "global", "brics", "cooperation"):
            result = index.search(word, limit=None)
            rows = store.query(
                "PREFIX schema: <https://schema.org/> PREFIX kb: <https://w3id.org/kb/ns#> "
                "SELECT ?c ?speaker ?date ?about WHERE { ?c a schema:Claim ; schema:author ?speaker ; "
                "schema:text ?text . OPTIONAL { ?c kb:statedOn ?date } OPTIONAL { ?c schema:about ?about } "
                f'FILTER(REGEX(?text, "\\\\b{word}", "i")) }}').rows
            claims = {str(r[0]) for r in rows}
            assert result.total == len(claims) == len(result.hits) > 3, word
            assert {h.claim for h in result.hits} == claims
            speakers, years, topics = {}, {}, {}
            for claim in claims:
                mine = [r for r in rows if str(r[0]) == claim]
                key = fts.key_of(str(mine[0][1]))
                speakers[key] = speakers.get(key, 0) + 1
                if mine[0][2] is not None:
                    years[str(mine[0][2])[:4]] = years.get(str(mine[0][2])[:4], 0) + 1
                for about in {str(r[3]) for r in mine if r[3] is not None}:
                    topics[fts.key_of(about)] = topics.get(fts.key_of(about), 0) + 1
            assert {v.key: v.count for v in result.facets["speaker"]} == speakers
            assert {v.key: v.count for v in result.facets["year"]} == years
            assert {v.key: v.count for v in result.facets["topic"]} == topics
            assert sum(v.count for v in result.facets["kind"]) == len(claims)
            paged = [h.claim for offset in range(0, result.total, 3)
                     for h in index.search(word, limit=3, offset=offset).hits]
            assert paged == [h.claim for h in result.hits]
            top = result.facets["speaker"][0]
            filtered = index.search(word, {"speaker": top.key}, limit=None)
            assert filtered.total == top.count
            assert {v.key for v in filtered.facets["speaker"]} == {top.key}


def test_the_facets_count_a_sample_of_a_very_large_result(store, ontology, monkeypatch):
    fill(store, ontology)
    monkeypatch.setattr(fts.search, "FACET_SAMPLE", 2)
    result = store.search_index().search("s", limit=10)
    assert result.total == 4 and len(result.hits) == 4 and result.facets_over == 2
    assert sum(v.count for v in result.facets["kind"]) == 2
    assert [h.claim for h in store.search_index().search("s", limit=1, offset=3).hits] == [result.hits[3].claim]


def test_paging_is_clamped(filled_store):
    index = filled_store.search_index()
    assert index.search("s", limit=-5).hits == []
    assert len(index.search("s", limit=10**12).hits) == 4
    assert index.search("s", offset=10**12).hits == []
    assert len(index.search("s", offset=-3).hits) == 4


# ---------------------------------------------------------------- readers and the writer

def test_a_reader_is_never_locked_out_and_never_writes(filled_store_dir):
    with EmbeddedStore.open(filled_store_dir) as writer:
        with EmbeddedStore.open(filled_store_dir, read_only=True) as reader:
            index = reader.search_index()
            assert index.search("written").total == 0
            doc, g = build_document("003_new.txt", [C("sergey-lavrov", "Written while a reader reads")])
            with writer.search_index().bulk() as bulk:  # the writer holds a write transaction open…
                rows, labels = fts.rows_of(g)
                bulk.add(str(doc), rows, labels)
                assert index.search("written").total == 0  # …the reader reads the last commit, unblocked
            assert index.search("written").total == 1  # and sees the commit at its next search
            writer.replace_document(doc, g)
            assert index.search("written").total == 1
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                index._db.execute("DELETE FROM claims")


READER = """
import sys, time
from kb.store import EmbeddedStore
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    with EmbeddedStore.open(sys.argv[1], read_only=True) as store:
        total = store.search_index().search("written").total
    print(total, flush=True)
    if total == int(sys.argv[2]):
        break
"""


def test_a_reader_in_another_process_while_the_writer_writes(filled_store_dir):
    """What `kb serve` does during `kb ingest`: read-only opens in another process, searching,
    while documents are written; it never fails (a read-only open that loses the race with the
    writer's flushes is tried again, kb.store), and sees each document whole or not at all."""
    import subprocess
    import sys
    import time

    documents = 20
    reader = subprocess.Popen([sys.executable, "-c", READER, str(filled_store_dir), str(2 * documents)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "0"  # the reader reads before the first write
        with EmbeddedStore.open(filled_store_dir) as writer:
            for n in range(documents):
                doc, g = build_document(f"w{n}.txt", [C("sergey-lavrov", f"Written number {n}"),
                                                      C("dmitry-peskov", f"Also written {n}")])
                writer.replace_document(doc, g)
                time.sleep(0.02)
        out, err = reader.communicate(timeout=120)
    finally:
        reader.kill()
    assert reader.returncode == 0, err
    totals = [0] + [int(t) for t in out.split()]
    assert totals[-1] == 2 * documents
    assert len(set(totals)) > 2  # it read while the writer wrote…
    assert all(t % 2 == 0 for t in totals) and totals == sorted(totals)  # …documents whole, never going back


def test_a_document_that_cannot_be_read_is_one_line_and_the_index_incomplete(filled_store):
    index = filled_store.search_index()
    doc, g = build_document("001_lavrov.txt", DOCS["001_lavrov.txt"])

    def read(name):
        if name == "broken":
            raise ValueError("cannot read\nthis graph")
        return g

    report = fts.rebuild(index, ["broken", str(doc)], read)
    assert report.failures == ["broken: ValueError: cannot read this graph"]
    assert report.documents == 1 and report.claims == 3
    assert "not built from the whole store" in index.problem()
    assert index.search("", {"speaker": "sergey-lavrov"}).total == 2
