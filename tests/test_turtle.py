"""kb.turtle: Turtle written from statements of plain strings parses to exactly those statements."""
from __future__ import annotations

import io

import pyoxigraph as ox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.store import write_statements, write_triples
from kb.turtle import quoted, turtle_text

XSD = "http://www.w3.org/2001/XMLSchema#"
PREFIXES = {"schema": "https://schema.org/", "kb": "https://w3id.org/kb/ns#", "xsd": XSD,
            "kbc": "https://example.org/claim/", "kbd": "https://example.org/claim/doc/"}


def parsed(text: str) -> set[ox.Triple]:
    return {quad.triple for quad in ox.parse(text.encode(), ox.RdfFormat.TURTLE)}


def as_terms(statements) -> set[ox.Triple]:
    """The statements as pyoxigraph triples, made as kb.store.write_statements makes them."""
    def obj(o, datatype):
        if datatype is None:
            return ox.NamedNode(o)
        return ox.Literal(o, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(o)
    return {ox.Triple(ox.NamedNode(s), ox.NamedNode(p), obj(o, d)) for s, p, o, d in statements}


def test_a_views_statements_in_the_shape_pyoxigraph_writes():
    statements = [
        ("https://example.org/claim/c1", "https://schema.org/text", 'He said "no"\nand left', ""),
        ("https://example.org/claim/c1", "https://w3id.org/kb/ns#statedOn", "2024-05-01", XSD + "date"),
        ("https://example.org/claim/c1", "https://schema.org/about", "https://example.org/topic/a", None),
        ("https://example.org/claim/c1", "https://schema.org/about", "https://example.org/topic/b", None),
        ("https://example.org/claim/c1", "https://w3id.org/kb/ns#startOffset", "120", XSD + "integer"),
        ("https://example.org/claim/c1", "https://schema.org/text", 'He said "no"\nand left', ""),  # again
        ("https://example.org/claim/doc/c2", "https://schema.org/author", "http://www.wikidata.org/entity/Q7747", None),
    ]
    text = turtle_text(statements, PREFIXES)
    assert text == (
        "@prefix schema: <https://schema.org/> .\n"
        "@prefix kb: <https://w3id.org/kb/ns#> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        "@prefix kbc: <https://example.org/claim/> .\n"
        "@prefix kbd: <https://example.org/claim/doc/> .\n"
        "\n"
        'kbc:c1 schema:text "He said \\"no\\"\\nand left" ;\n'
        '\tkb:statedOn "2024-05-01"^^xsd:date ;\n'
        "\tschema:about <https://example.org/topic/a> , <https://example.org/topic/b> ;\n"
        "\tkb:startOffset 120 .\n"
        "kbd:c2 schema:author <http://www.wikidata.org/entity/Q7747> .\n")  # the longest namespace wins
    assert parsed(text) == as_terms(statements)
    # pyoxigraph's own writing of the same triples says the same
    out = io.BytesIO()
    write_triples(dict.fromkeys(ox.Triple(*t) for t in [
        (ox.NamedNode(s), ox.NamedNode(p), next(iter(as_terms([(s, p, o, d)]))).object)
        for s, p, o, d in statements]), out, "turtle", PREFIXES)
    assert parsed(out.getvalue().decode()) == parsed(text)


def test_local_names_that_need_escapes_are_written_whole():
    statements = [(f"https://example.org/claim/{local}", "https://schema.org/name", local, "")
                  for local in ["a.", "-a", "a%20b", "a#b", "a~b", "a:b", "a/b", "ü", "a.b", "_a", "1"]]
    text = turtle_text(statements, PREFIXES)
    for local in ["a.", "-a", "a%20b", "a#b", "a~b", "a:b", "a/b", "ü"]:
        assert f"<https://example.org/claim/{local}>" in text
    for local in ["a.b", "_a", "1"]:
        assert f"kbc:{local} " in text
    assert parsed(text) == as_terms(statements)


def test_integers_that_are_not_turtle_integers_keep_their_datatype():
    statements = [("https://example.org/s", "https://example.org/p", value, XSD + "integer")
                  for value in ["12", "-3", "+4", "1.0", "x", ""]]
    text = turtle_text(statements, {"xsd": XSD})
    assert " 12 , -3 , +4 , " in text and '"1.0"^^xsd:integer' in text and '""^^xsd:integer' in text
    assert parsed(text) == as_terms(statements)


def test_nothing_but_the_prefixes_and_no_prefixes_at_all():
    assert turtle_text([], {"schema": "https://schema.org/"}) == "@prefix schema: <https://schema.org/> .\n"
    assert turtle_text([("https://e.org/s", "https://e.org/p", "o", "")]) == '<https://e.org/s> <https://e.org/p> "o" .\n'


@pytest.mark.parametrize("iri", ["https://example.org/a b", "https://example.org/<a>", "not an iri", "",
                                 'https://example.org/"', "https://example.org/a\\b"])
def test_an_iri_turtle_cannot_carry_is_refused_as_pyoxigraph_refuses_it(iri):
    with pytest.raises(ValueError):
        ox.NamedNode(iri)
    as_datatype = [("https://e.org/s", "https://e.org/p", "o", iri)] if iri else []  # '': a plain string
    for statement in [(iri, "https://e.org/p", "o", ""), ("https://e.org/s", "https://e.org/p", iri, None),
                      *as_datatype]:
        with pytest.raises(ValueError):
            turtle_text([statement])


def test_quoted_strings_are_those_of_n_triples():
    for value in ['a"b', "a\\b", "line\nline\r", "tab\tbell\x07\x08\x0c\x7f\x00", "ünï\u2028😀", ""]:
        assert quoted(value) == str(ox.Literal(value))


def test_write_statements_writes_turtle_this_way_and_other_formats_by_pyoxigraph():
    statements = [("https://example.org/claim/c1", "https://schema.org/text", "words", ""),
                  ("https://example.org/claim/c1", "https://w3id.org/kb/ns#startOffset", "5", XSD + "integer")]
    out = io.BytesIO()
    write_statements(statements, out, "turtle", PREFIXES)
    assert out.getvalue().decode() == turtle_text(statements, PREFIXES)
    out = io.BytesIO()
    write_statements(statements, out, "nt")
    assert {q.triple for q in ox.parse(out.getvalue(), ox.RdfFormat.N_TRIPLES)} == as_terms(statements)


iris = st.builds(lambda space, local: space + local,
                 st.sampled_from(list(PREFIXES.values()) + ["http://www.wikidata.org/entity/", "urn:x:"]),
                 st.text(st.one_of(st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                                 blacklist_characters='<>"{}|^`\\'),
                                   st.sampled_from("üéжß☃·")), max_size=8))
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
statements = st.lists(st.tuples(
    iris, st.sampled_from(["https://schema.org/text", "https://schema.org/about", "https://w3id.org/kb/ns#x"]),
    st.one_of(st.tuples(texts, st.sampled_from(["", XSD + "date", XSD + "integer", "urn:x:dt"])),
              st.tuples(st.from_regex(r"[+-]?[0-9]{1,5}", fullmatch=True), st.just(XSD + "integer")),
              st.tuples(iris, st.none()))).map(lambda t: (t[0], t[1], *t[2])), max_size=25)


@settings(max_examples=300, deadline=None)
@given(statements)
def test_any_statements_parse_back_to_themselves(given_statements):
    try:
        expected = as_terms(given_statements)
    except ValueError:  # an IRI pyoxigraph refuses (a code point no IRI may hold): refused here too
        with pytest.raises(ValueError):
            turtle_text(given_statements, PREFIXES)
        return
    assert parsed(turtle_text(given_statements, PREFIXES)) == expected
