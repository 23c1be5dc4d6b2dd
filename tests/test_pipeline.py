"""kb.pipeline and kb.validate at batch scale: chunks validated in one pySHACL call, worker processes.

Validating many document graphs together must give each document exactly
the verdict it gets alone; ingesting with worker processes must give the
store the serial ingest gives; a file that fails, in a chunk or in a worker,
costs only itself.
"""
from __future__ import annotations

import shutil

import pytest
from rdflib import Literal
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

from kb import config, pipeline, rdf, validate
from kb.extract import extract_claims
from kb.readers import read_document
from kb.rdf import KB, SCHEMA
from kb.store import EmbeddedStore, open_store

SEEDS = sorted(config.seeds_dir().glob("*.txt"))


@pytest.fixture(scope="module")
def seed_graphs():
    """The seed documents' graphs, as kb.rdf builds them."""
    graphs = []
    for path in SEEDS:
        doc = read_document(path)
        graphs.append(rdf.document_graph(doc, extract_claims(doc)))
    return graphs


def copy(graph):
    out = rdf.new_graph(graph.identifier)
    for triple in graph:
        out.add(triple)
    return out


def first_claim(graph):
    return sorted(graph.subjects(RDF.type, SCHEMA.Claim))[0]


def test_the_seeds_validated_together_conform(seed_graphs):
    assert validate.validate_graphs(seed_graphs) == [[] for _ in seed_graphs]


def test_a_broken_document_in_a_chunk_fails_alone_with_its_own_violations(seed_graphs):
    graphs = [copy(g) for g in seed_graphs]
    broken = graphs[2]
    claim = first_claim(broken)
    broken.remove((claim, KB.endOffset, None))
    broken.set((claim, KB.confidence, Literal(2.5)))
    verdicts = validate.validate_graphs(graphs)
    alone = validate.validate_graph(broken)
    assert len(alone) == 2  # the end offset, the confidence
    assert verdicts[2] == alone
    assert all(v == [] for i, v in enumerate(verdicts) if i != 2)


def test_a_document_ontology_node_at_fault_fails_every_document_that_uses_it(seed_graphs):
    """A speaker only the ontology describes belongs to the documents that refer to it."""
    graphs = [copy(g) for g in seed_graphs]
    speaker = rdf.speaker_iri("no-such-speaker")
    for g in (graphs[0], graphs[3]):
        g.add((first_claim(g), KB.coSpeaker, speaker))
    verdicts = validate.validate_graphs(graphs)
    assert verdicts[0] == validate.validate_graph(graphs[0]) != []
    assert verdicts[3] == validate.validate_graph(graphs[3]) != []
    assert verdicts[1] == verdicts[2] == verdicts[4] == []


def test_documents_that_describe_the_same_node_differently_are_validated_alone(seed_graphs):
    """Two descriptions of one unlinked speaker would give it two names together, one each alone."""
    graphs = [copy(g) for g in seed_graphs[:2]]
    speaker = rdf.unlinked_speaker_iri("Jurgen Muller")
    for g, name in zip(graphs, ("Jurgen Muller", "Jürgen Müller")):
        g.add((speaker, RDF.type, SCHEMA.Person))
        g.add((speaker, SCHEMA.name, Literal(name)))
        g.add((speaker, KB.unlinked, Literal(True)))
        g.add((first_claim(g), KB.coSpeaker, speaker))
    together, alone = validate._independent(graphs)
    assert together == [] and alone == [0, 1]
    assert validate.validate_graphs(graphs) == [[], []]


def test_a_document_pointing_into_another_documents_nodes_is_validated_alone(seed_graphs):
    """A claim whose post is another document's post: a kb:Post together, nothing alone."""
    graphs = [copy(g) for g in seed_graphs[:2]]
    other_post = next(graphs[1].subjects(RDF.type, KB.Post))
    graphs[0].set((first_claim(graphs[0]), SCHEMA.appearance, other_post))
    verdicts = validate.validate_graphs(graphs)
    assert verdicts[0] == validate.validate_graph(graphs[0])
    assert any("schema:appearance" in v for v in verdicts[0])
    assert verdicts[1] == []


def test_chunks_keep_the_order_and_group_small_files(tmp_path):
    files = []
    for n, size in enumerate((10, 10, 500, 10, 10, 10)):
        path = tmp_path / f"{n}.txt"
        path.write_text("x" * size)
        files.append(path)
    batches = pipeline.chunks(files, max_bytes=100, max_files=2)
    assert [p for batch in batches for p in batch] == [str(p) for p in files]
    assert [len(b) for b in batches] == [2, 1, 2, 1]


def dataset(store_dir) -> dict:
    with open_store(store_dir, read_only=True) as store:
        return {iri: store.graph(iri) for iri in store.documents()}


def test_parallel_ingest_gives_the_store_of_the_serial_one(tmp_path, monkeypatch):
    """Worker processes (one chunk per file here) write the same graphs as one process."""
    monkeypatch.setattr(pipeline, "POOL_MIN_FILES", 1)
    monkeypatch.setattr(pipeline, "CHUNK_BYTES", 1)  # every file a chunk of its own
    with EmbeddedStore.open(tmp_path / "serial") as store:
        serial = pipeline.ingest(SEEDS[:3], store, progress=False, jobs=1)
    with EmbeddedStore.open(tmp_path / "parallel") as store:
        parallel = pipeline.ingest(SEEDS[:3], store, progress=False, jobs=2)
    assert serial.ok and parallel.ok
    assert parallel.documents == serial.documents == [p.name for p in SEEDS[:3]]
    assert parallel.claims == serial.claims > 0 and parallel.posts == serial.posts > 0
    one, two = dataset(tmp_path / "serial"), dataset(tmp_path / "parallel")
    assert sorted(one) == sorted(two) and len(one) == 3
    assert all(isomorphic(one[iri], two[iri]) for iri in one)


def test_a_failing_file_in_a_chunk_does_not_stop_the_others(tmp_path, store_dir):
    folder = tmp_path / "in"
    folder.mkdir()
    for path in SEEDS[:3]:
        shutil.copy(path, folder / path.name)
    (folder / "001a_binary.txt").write_bytes(b"\x00\x01garbage")
    (folder / "001b_empty.txt").write_bytes(b"")
    files = sorted(folder.iterdir())
    assert len(pipeline.chunks(files)) == 1  # all of them in one pySHACL call
    with open_store(store_dir) as store:
        report = pipeline.ingest([folder], store, progress=False, jobs=1)
    assert report.documents == [p.name for p in SEEDS[:3]]
    assert len(report.failures) == 2
    assert "001a_binary.txt: binary file" in report.failures[0]
    assert "001b_empty.txt: empty file" in report.failures[1]
    assert sorted(dataset(store_dir)) == sorted(str(rdf.document_iri(p.name)) for p in SEEDS[:3])


def test_the_index_an_ingest_writes_is_the_one_reindex_rebuilds(tmp_path, monkeypatch):
    """Workers send the index only the triples it reads: the rows are those kb reindex makes from the store."""
    monkeypatch.setattr(pipeline, "POOL_MIN_FILES", 1)
    with EmbeddedStore.open(tmp_path / "store") as store:
        report = pipeline.ingest(SEEDS, store, progress=False, jobs=2)
        assert report.ok
        written = store.search_index().rows()
        assert len(written) == report.claims
        store.reindex()
        assert store.search_index().rows() == written
        assert store.index_differences() == []


def test_document_triples_are_the_document_graph(seed_graphs):
    """What an ingest on turbo writes without an rdflib graph is the graph, triple for triple, once each."""
    for path, graph in zip(SEEDS, seed_graphs):
        doc = read_document(path)
        triples = rdf.document_triples(doc, extract_claims(doc))
        assert len(triples) == len(set(triples)) == len(graph)
        assert set(triples) == set(graph)


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_ingest_on_turbo_writes_the_store_and_index_of_one_on_pyshacl(tmp_path, monkeypatch, jobs):
    """On turbo no rdflib graph is built: the same graphs, the same search rows, the same report."""
    pytest.importorskip("pyshacl_turbo")
    monkeypatch.setattr(pipeline, "POOL_MIN_FILES", 1)
    stores, rows, reports = {}, {}, {}
    for engine in ("pyshacl", "turbo"):
        monkeypatch.setenv("KB_SHACL_ENGINE", engine)
        with EmbeddedStore.open(tmp_path / engine) as store:
            reports[engine] = pipeline.ingest(SEEDS, store, progress=False, jobs=jobs)
            rows[engine] = store.search_index().rows()
        stores[engine] = dataset(tmp_path / engine)
    assert reports["turbo"].ok and reports["pyshacl"].ok
    assert reports["turbo"].documents == reports["pyshacl"].documents
    assert reports["turbo"].claims == reports["pyshacl"].claims == len(rows["turbo"]) > 0
    assert rows["turbo"] == rows["pyshacl"]
    assert sorted(stores["turbo"]) == sorted(stores["pyshacl"]) and len(stores["turbo"]) == len(SEEDS)
    assert all(isomorphic(stores["turbo"][iri], stores["pyshacl"][iri]) for iri in stores["turbo"])


def test_an_ingest_that_flushes_after_every_document_writes_the_same_store(tmp_path, monkeypatch):
    """Flushing the store's writes to disk between documents (to bound an ingest's memory) changes nothing stored."""
    stores = {}
    for name, every in (("default", pipeline.FLUSH_TRIPLES), ("each", 1)):
        monkeypatch.setattr(pipeline, "FLUSH_TRIPLES", every)
        with EmbeddedStore.open(tmp_path / name) as store:
            assert pipeline.ingest(SEEDS, store, progress=False, jobs=1).ok
            assert store.index_differences() == []
        stores[name] = dataset(tmp_path / name)
    assert sorted(stores["each"]) == sorted(stores["default"]) and len(stores["each"]) == len(SEEDS)
    assert all(isomorphic(stores["each"][iri], stores["default"][iri]) for iri in stores["each"])


def test_validate_store_in_worker_processes_finds_what_one_process_finds(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "VALIDATE_BATCH", 2)  # three batches for two workers
    with EmbeddedStore.open(tmp_path / "store") as store:
        assert pipeline.ingest(SEEDS, store, progress=False, jobs=1).ok
        doc = store.documents()[0]
        graph = store.graph(doc)
        claim = first_claim(graph)
        graph.set((claim, KB.confidence, Literal("high")))  # a violation, written past the checks
        store.update(f"DROP GRAPH <{doc}>")
        store.replace_document(doc, graph)
    with open_store(tmp_path / "store", read_only=True) as store:
        one = pipeline.check_store(store, jobs=1)
        two = pipeline.check_store(store, jobs=2)
    assert one.problems == two.problems and len(one.problems) == 1
    assert one.problems[0].startswith(f"{doc}: ") and "kb:confidence" in one.problems[0]
    assert (one.documents, one.claims, one.triples) == (two.documents, two.claims, two.triples)
    assert one.documents == len(SEEDS) and one.claims > 0
