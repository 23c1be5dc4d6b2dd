"""Named queries on the store we ship: headers, parameters bound as typed terms, answers, formats."""
from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS, XSD

from conftest import KB, SCHEMA, C, build_document, iri
from kb import config, queries
from kb.errors import QueryError
from kb.queries import load_query, render, run
from kb.store import check_query

CLAIMS_COLUMNS = ["claim", "speaker", "speakerName", "date", "topic", "topicLabel", "quote", "kind", "document"]
LAVROV = str(iri("speaker", "sergey-lavrov"))


def rows(store, name, **values):
    return queries.as_dicts(run(store, load_query(name), values))


# ---------------------------------------------------------------- the files

@pytest.mark.parametrize("name", queries.query_names())
def test_every_query_file_parses_and_says_what_it_does(name):
    q = load_query(name)
    check_query(q.text)
    assert q.summary
    assert all(p.type in queries.TYPES for p in q.params)
    assert set(q.hidden) <= {p.name for p in q.params}


def test_the_queries_the_commands_need_exist():
    assert {"claims", "claims-by-speaker", "claims-by-topic", "speakers", "topics", "timeline",
            "stats", "export-claims"} <= set(queries.query_names())


def test_the_header_gives_the_parameters():
    q = load_query("claims-by-speaker")
    assert [(p.name, p.type, p.optional) for p in q.params] == [
        ("speaker", "IRI", False), ("from", "xsd:date", True), ("to", "xsd:date", True),
        ("limit", "xsd:integer", True)]
    assert (q.param("limit").low, q.param("limit").high) == (1, 10000)
    assert q.hidden == ("from", "to")


def test_a_query_file_by_path(tmp_path, filled_store):
    path = tmp_path / "mine.rq"
    path.write_text("#+ summary: Documents.\n#+ params: name (xsd:string)\n"
                    "PREFIX kb: <https://w3id.org/kb/ns#>\n"
                    "SELECT ?doc ?name WHERE { ?doc kb:fileName ?name }\n", encoding="utf-8")
    q = load_query(str(path))
    assert (q.name, q.summary) == ("mine", "Documents.")
    assert queries.as_dicts(run(filled_store, q, {"name": "002_zakharova.txt"})) == [
        {"doc": str(iri("document", "002_zakharova.txt")), "name": "002_zakharova.txt"}]


@pytest.mark.parametrize("name,message", [
    ("no-such-query", "unknown query 'no-such-query' (known: "),
    ("missing.rq", "missing.rq: cannot read the query"),
])
def test_unknown_queries(name, message):
    with pytest.raises(QueryError) as err:
        load_query(name)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_queries_come_from_the_configured_folder(tmp_path, monkeypatch):
    (tmp_path / "only.rq").write_text("#+ summary: x\nASK {}\n", encoding="utf-8")
    monkeypatch.setenv("KB_QUERIES", str(tmp_path))
    assert config.queries_dir() == tmp_path
    assert queries.query_names() == ["only"]


# ---------------------------------------------------------------- the claims contract

def test_claims_has_the_contract_columns_one_row_per_claim_and_topic(filled_store):
    result = run(filled_store, load_query("claims"))
    assert result.variables == CLAIMS_COLUMNS
    got = queries.as_dicts(result)
    assert [(r["claim"].rsplit("/", 1)[-1], r["topicLabel"]) for r in got] == [
        ("001_lavrov.txt#claim-0", "New START"),
        ("001_lavrov.txt#claim-1", "Istanbul talks"),
        ("001_lavrov.txt#claim-1", "Ukraine settlement"),
        ("001_lavrov.txt#claim-2", ""),
        ("002_zakharova.txt#claim-0", "UN reform"),
        ("002_zakharova.txt#claim-1", ""),
    ]
    first = got[0]
    assert first == {
        "claim": str(iri("document", "001_lavrov.txt")) + "#claim-0",
        "speaker": LAVROV, "speakerName": "Sergey Lavrov", "date": "2025-05-28",
        "topic": str(iri("topic", "new-start")), "topicLabel": "New START",
        "quote": "The New START treaty expires in February", "kind": "direct",
        "document": str(iri("document", "001_lavrov.txt")),
    }
    assert [r["date"] for r in got] == ["2025-05-28", "2025-05", "2025-05", "", "2025-06-02", "2024"]
    assert [r["kind"] for r in got][1] == "indirect"
    assert all(r["document"].endswith(r["claim"].split("#")[0].rsplit("/", 1)[-1]) for r in got)


def test_claims_are_in_document_order_by_offset(store, ontology):
    from conftest import C, build_document
    store.set_ontology(ontology)
    doc, g = build_document("x.txt", [C("dmitry-peskov", "second", start=500), C("dmitry-peskov", "first", start=20),
                                      C("dmitry-peskov", "third", start=1000)])
    store.replace_document(doc, g)
    assert [r["quote"] for r in rows(store, "claims")] == ["first", "second", "third"]


def test_a_speaker_named_in_two_graphs_gives_one_row(filled_store):
    """The default graph is the union of the graphs: a triple held twice must not double a claim."""
    doc = iri("document", "001_lavrov.txt")
    g = filled_store.graph(doc)
    g.add((URIRef(LAVROV), SCHEMA.name, Literal("Sergey Lavrov")))
    filled_store.replace_document(doc, g)
    assert len(rows(filled_store, "claims")) == 6


# ---------------------------------------------------------------- parameters

def test_claims_by_speaker(filled_store):
    got = rows(filled_store, "claims-by-speaker", speaker=LAVROV)
    assert {r["speakerName"] for r in got} == {"Sergey Lavrov"}
    assert [r["date"] for r in got] == ["2024", "2025-05", "2025-05", "2025-05-28"]
    assert list(got[0]) == CLAIMS_COLUMNS  # from and to are hidden


def test_speaker_and_topic_keys_are_expanded(filled_store):
    """Needs kb.rdf (speaker_iri, topic_iri)."""
    assert rows(filled_store, "claims-by-speaker", speaker="sergey-lavrov") == \
        rows(filled_store, "claims-by-speaker", speaker=LAVROV)
    assert len(rows(filled_store, "claims-by-topic", topic="un-reform")) == 1


@pytest.mark.parametrize("since,until,dates", [
    ("2025-05-10", None, ["2025-05", "2025-05", "2025-05-28"]),  # a month overlapping the range is in
    ("2025-05-29", None, ["2025-05", "2025-05"]),
    ("2025-06-01", None, []),
    (None, "2024-12-31", ["2024"]),
    (None, "2025-05-01", ["2024", "2025-05", "2025-05"]),
    ("2024-01-01", "2024-12-31", ["2024"]),
])
def test_claims_between_dates(filled_store, since, until, dates):
    values = {"speaker": LAVROV, **({"from": since} if since else {}), **({"to": until} if until else {})}
    assert [r["date"] for r in rows(filled_store, "claims-by-speaker", **values)] == dates


def test_an_undated_claim_is_in_no_range(filled_store):
    peskov = str(iri("speaker", "dmitry-peskov"))
    assert len(rows(filled_store, "claims-by-speaker", speaker=peskov)) == 1
    assert rows(filled_store, "claims-by-speaker", speaker=peskov, **{"from": "1900-01-01"}) == []


def test_claims_by_topic_gives_only_that_topic(filled_store):
    got = rows(filled_store, "claims-by-topic", topic=str(iri("topic", "istanbul-talks")))
    assert [(r["quote"][:14], r["topicLabel"]) for r in got] == [("We are ready f", "Istanbul talks")]
    assert rows(filled_store, "claims-by-topic", topic=str(iri("topic", "sanctions"))) == []


@pytest.mark.parametrize("evil", ['"} UNION { ?s ?p ?o', '") || true || ("', "' } ; DROP ALL ; #", "\\u0022 }"])
def test_string_parameters_are_bound_not_pasted(filled_store, evil):
    assert rows(filled_store, "search", text=evil) == []
    assert len(rows(filled_store, "search", text="reform")) == 1


@pytest.mark.parametrize("value", ['"} UNION { ?s ?p ?o', "<x:a> } UNION {", "http://a b", "sergey lavrov", ""])
def test_iri_parameters_must_be_iris_or_keys(filled_store, value):
    with pytest.raises(QueryError, match="parameter speaker: not an absolute IRI"):
        run(filled_store, load_query("claims-by-speaker"), {"speaker": value})


@pytest.mark.parametrize("value", ["2025-13-01", "yesterday", "2025-5-1", '2025-01-01"}'])
def test_date_parameters_must_be_dates(filled_store, value):
    with pytest.raises(QueryError, match="parameter from: not a date"):
        run(filled_store, load_query("claims-by-speaker"), {"speaker": LAVROV, "from": value})


@pytest.mark.parametrize("limit,expected", [("2", 2), ("0", 1), ("-5", 1), ("999999999", 4)])
def test_integers_are_clamped(filled_store, limit, expected):
    assert len(rows(filled_store, "claims-by-speaker", speaker=LAVROV, limit=limit)) == expected


def test_bad_parameters(filled_store):
    q = load_query("claims-by-speaker")
    with pytest.raises(QueryError, match="has no parameter 'who' \\(it takes: speaker, from, to, limit\\)"):
        run(filled_store, q, {"who": LAVROV})
    with pytest.raises(QueryError, match="needs --param speaker=VALUE"):
        run(filled_store, q, {})
    with pytest.raises(QueryError, match="not an integer"):
        run(filled_store, q, {"speaker": LAVROV, "limit": "ten"})
    with pytest.raises(QueryError, match="given twice"):
        queries.parse_assignments(["speaker=a", "speaker=b"])
    with pytest.raises(QueryError, match="expected NAME=VALUE"):
        queries.parse_assignments(["speaker"])
    assert queries.parse_assignments(["text=a=b", "x= y "]) == {"text": "a=b", "x": " y "}


# ---------------------------------------------------------------- the other queries

def test_speakers_topics_timeline_stats(filled_store):
    speakers = {r["name"]: int(r["claims"]) for r in rows(filled_store, "speakers")}
    assert speakers["Sergey Lavrov"] == 3 and speakers["Vladimir Putin"] == 0
    topics = {r["label"]: int(r["claims"]) for r in rows(filled_store, "topics")}
    assert topics["New START"] == 1 and topics["Sanctions"] == 0
    assert [(r["month"], r["topicLabel"], r["claims"]) for r in rows(filled_store, "timeline")] == [
        ("2025-05", "Istanbul talks", "1"), ("2025-05", "New START", "1"),
        ("2025-05", "Ukraine settlement", "1"), ("2025-06", "UN reform", "1")]
    assert rows(filled_store, "stats") == [
        {"documents": "2", "posts": "2", "claims": "5", "speakers": "3", "topics": "4"}]


def test_stats_sum_it_up(filled_store):
    figures = queries.stats(filled_store)
    assert (figures["documents"], figures["posts"], figures["claims"]) == (2, 2, 5)
    assert figures["claims_per_speaker"] == {"Sergey Lavrov": 3, "Dmitry Peskov": 1, "Maria Zakharova": 1}
    assert figures["claims_per_topic"] == {"Istanbul talks": 1, "New START": 1, "UN reform": 1,
                                           "Ukraine settlement": 1}


def claims_in(graph: Graph) -> set[str]:
    return {str(c).rsplit("/", 1)[-1] for c in graph.subjects(RDF.type, SCHEMA.Claim)}


@pytest.mark.parametrize("speaker,topic,claims", [
    ("sergey-lavrov", None, {"001_lavrov.txt#claim-0", "001_lavrov.txt#claim-1", "002_zakharova.txt#claim-1"}),
    (None, "istanbul-talks", {"001_lavrov.txt#claim-1"}),
    ("sergey-lavrov", "new-start", {"001_lavrov.txt#claim-0"}),
    ("maria-zakharova", "new-start", set()),
])
def test_export_claims_of_a_speaker_or_topic(filled_store, speaker, topic, claims):
    values = {k: str(iri(k, v)) for k, v in (("speaker", speaker), ("topic", topic)) if v}
    graph = run(filled_store, load_query("export-claims"), values)
    assert claims_in(graph) == claims
    for claim in graph.subjects(RDF.type, SCHEMA.Claim):  # with every triple of the claim, and its assignments
        stored = filled_store.graph(str(claim).split("#")[0])  # the claim's document graph
        assert set(stored.predicate_objects(claim)) <= set(graph.predicate_objects(claim))
        for assignment in stored.objects(claim, KB.topicAssignment):
            assert set(stored.predicate_objects(assignment)) == set(graph.predicate_objects(assignment))
    assert all(isinstance(t, URIRef) for t in graph.subjects(RDF.type, SKOS.Concept))


# ---------------------------------------------------------------- formats

@pytest.fixture
def answer(filled_store):
    return run(filled_store, load_query("claims"))


def test_csv_is_plain_values(answer):
    got = list(csv.DictReader(io.StringIO(render(answer, "csv"))))
    assert got == queries.as_dicts(answer)
    assert got[4]["quote"] == "The UN needs reform\nof the Security Council"


def test_tsv_is_sparql_tsv(answer):
    lines = render(answer, "tsv").splitlines()
    assert lines[0] == "\t".join("?" + c for c in CLAIMS_COLUMNS)
    assert len(lines) == 7  # the newline inside a quote is escaped
    cells = lines[1].split("\t")
    assert cells[0].startswith("<https://") and cells[3] == '"2025-05-28"'
    assert lines[4].split("\t")[4] == ""  # no topic: an empty cell


def test_json_is_sparql_json(answer):
    doc = json.loads(render(answer, "json"))
    assert doc["head"]["vars"] == CLAIMS_COLUMNS
    first = doc["results"]["bindings"][0]
    assert first["speaker"] == {"type": "uri", "value": LAVROV}
    assert first["quote"] == {"type": "literal", "value": "The New START treaty expires in February"}
    assert "topic" not in doc["results"]["bindings"][3]  # unbound


def test_json_keeps_datatypes_and_languages(filled_store):
    result = filled_store.query('SELECT ?n ?l WHERE { BIND(3 AS ?n) BIND("Лавров"@ru AS ?l) }')
    (binding,) = json.loads(render(result, "json"))["results"]["bindings"]
    assert binding == {"n": {"type": "literal", "value": "3", "datatype": str(XSD.integer)},
                       "l": {"type": "literal", "value": "Лавров", "xml:lang": "ru"}}


def test_xml_is_sparql_xml(answer):
    ns = {"r": "http://www.w3.org/2005/sparql-results#"}
    root = ET.fromstring(render(answer, "xml"))
    assert [v.get("name") for v in root.findall("r:head/r:variable", ns)] == CLAIMS_COLUMNS
    results = root.findall("r:results/r:result", ns)
    assert len(results) == 6
    quote = results[1].find("r:binding[@name='quote']/r:literal", ns).text
    assert quote == 'We are ready for talks in Istanbul, he said "again"'


def test_table_is_aligned(answer):
    lines = render(answer, "table").splitlines()
    assert lines[0].split() == CLAIMS_COLUMNS
    assert lines[-1] == "(6 rows)"
    starts = [lines[0].index(c) for c in ("speakerName", "quote")]
    assert all(line[s - 2:s] == "  " for line in lines[2:-1] for s in starts)


def test_graphs_and_booleans_have_formats_too(filled_store):
    graph = run(filled_store, load_query("export-claims"), {"topic": str(iri("topic", "un-reform"))})
    assert len(Graph().parse(data=render(graph, "table"), format="turtle")) == len(graph)
    with pytest.raises(QueryError, match="answers with a graph"):
        render(graph, "csv")
    assert render(filled_store.query("ASK { ?s ?p ?o }"), "json") == '{"head": {}, "boolean": true}\n'
    assert render(False, "table") == "false\n"
    with pytest.raises(QueryError, match="unknown format"):
        render(graph, "yaml")


# ---------------------------------------------------------------- the topic page's queries

TOPIC_DOC = [  # on one topic: dated to a day, a month, a year, undated; two speakers
    C("sergey-lavrov", "third", "2025-03-02", topics=("new-start",), start=300),
    C("maria-zakharova", "undated", None, topics=("new-start",), start=400),
    C("sergey-lavrov", "first", "2024", topics=("new-start",), start=100),
    C("dmitry-peskov", "second", "2025-03", topics=("new-start", "sanctions"), start=200),
    C("sergey-lavrov", "fourth", "2025-04-30", topics=("new-start",), start=0),
    C("sergey-lavrov", "off topic", "2025-04-30", topics=("sanctions",), start=500),
]
NEW_START = str(iri("topic", "new-start"))


@pytest.fixture
def topic_store(store, ontology):
    store.set_ontology(ontology)
    doc, g = build_document("topic.txt", TOPIC_DOC)
    g.add((URIRef(LAVROV), SCHEMA.name, Literal("Sergey Lavrov")))  # named in two graphs: must not double
    store.replace_document(doc, g)
    return store


@pytest.mark.parametrize("since,until,quotes", [
    (None, None, ["first", "second", "third", "fourth", "undated"]),  # oldest first, the undated last
    ("2025-01-01", None, ["second", "third", "fourth"]),
    ("2025-03-15", "2025-12-31", ["second", "fourth"]),  # a month overlapping the range is in
    (None, "2024-12-31", ["first"]),
])
def test_topic_claims_one_row_per_claim_oldest_first(topic_store, since, until, quotes):
    values = {"topic": "new-start", **({"from": since} if since else {}), **({"to": until} if until else {})}
    got = rows(topic_store, "topic-claims", **values)
    assert [r["quote"] for r in got] == quotes
    assert list(got[0]) == ["claim", "date", "speaker", "speakerName", "quote", "kind", "document", "topic"]
    assert {r["claim"] for r in got} == {r["claim"] for r in rows(topic_store, "claims-by-topic", **values)}


@pytest.mark.parametrize("name, values", [("topic-claims", {"topic": NEW_START}),
                                          ("speaker-claims", {"speaker": LAVROV}),
                                          ("speaker-topic-claims", {"speaker": LAVROV, "topic": NEW_START})])
def test_paged_queries_cut_their_pages_where_they_sort(topic_store, name, values):
    """The web pages put LIMIT/OFFSET in place of the "# PAGE" line: the pages together are the whole answer."""
    from kb.web.pages import PAGE_MARK

    query = load_query(name)
    assert len(PAGE_MARK.findall(query.text)) == 1
    bindings, _ = queries.bind(query, values)
    whole = run(topic_store, query, values).rows
    assert len(whole) >= 3
    pages = [topic_store.query(PAGE_MARK.sub(f"LIMIT 2 OFFSET {offset}", query.text), bindings).rows
             for offset in range(0, len(whole) + 2, 2)]
    assert [len(p) for p in pages if p] == [min(2, len(whole) - n) for n in range(0, len(whole), 2)]
    assert [row[0] for page in pages for row in page] == [row[0] for row in whole]  # the claims, in order


def test_topic_speakers_and_timeline_count_by_group(topic_store):
    speakers = [(r["speakerName"], r["claims"]) for r in rows(topic_store, "topic-speakers", topic=NEW_START)]
    assert speakers == [("Sergey Lavrov", "3"), ("Dmitry Peskov", "1"), ("Maria Zakharova", "1")]
    assert [(r["speakerName"], r["claims"]) for r in
            rows(topic_store, "topic-speakers", topic=NEW_START, **{"from": "2025-03-10"})] == [
        ("Dmitry Peskov", "1"), ("Sergey Lavrov", "1")]
    months = [(r["month"], r["speakerName"], r["claims"]) for r in rows(topic_store, "topic-timeline", topic=NEW_START)]
    assert months == [("2025-03", "Dmitry Peskov", "1"), ("2025-03", "Sergey Lavrov", "1"),
                      ("2025-04", "Sergey Lavrov", "1")]  # a year is no month; the undated are left out
    assert [r["month"] for r in rows(topic_store, "topic-timeline", topic=NEW_START, to="2025-03-31")] == \
        ["2025-03", "2025-03"]


def test_topic_labels_one_english_label_per_topic(filled_store):
    got = rows(filled_store, "topic-labels")
    assert len(got) == len({r["topic"] for r in got}) > 5
    assert {r["topic"]: r["label"] for r in got}[NEW_START] == "New START"
    assert list(got[0]) == ["topic", "label"]


def test_latest_claims_are_the_ten_newest(topic_store, ontology):
    more = [C("dmitry-peskov", f"day {n}", f"2026-01-{n:02d}", start=1000 + 10 * n) for n in range(1, 13)]
    more += [C("dmitry-peskov", "same day as the tenth", "2026-01-03", start=5000)]
    doc, g = build_document("more.txt", more)
    topic_store.replace_document(doc, g)
    got = rows(topic_store, "latest-claims")
    assert [r["quote"] for r in got] == [f"day {n}" for n in range(12, 3, -1)] + ["day 3"]
    assert got[0]["speakerName"] == "Dmitry Peskov" and got[0]["date"] == "2026-01-12" and got[0]["kind"] == "direct"
