"""The update's dataset from the protocol's using-graph-uri / using-named-graph-uri."""
from __future__ import annotations

import pytest
from rdflib.plugins.sparql.parser import parseUpdate

from kb.errors import QueryError
from kb.updates import with_dataset

UPDATE = """PREFIX dc: <http://purl.org/dc/terms/>
# WHERE { in a comment
INSERT { GRAPH <http://example.org/g> { ?s dc:title "a } WHERE { " } } WHERE { ?s a ?o } ;
DELETE WHERE { ?s dc:creator ?o }"""


def test_using_clauses_go_before_the_where_of_each_operation():
    out = with_dataset(UPDATE, ["http://example.org/d1"], ["http://example.org/d2"])
    ops = parseUpdate(out).request
    assert [str(u.default or u.named) for u in ops[0].using] == ["http://example.org/d1", "http://example.org/d2"]
    assert "using" not in ops[1]  # DELETE WHERE takes no dataset
    assert '"a } WHERE { "' in out  # strings are not touched


def test_no_parameters_leave_the_update_as_it_is():
    assert with_dataset(UPDATE, [], []) == UPDATE


def test_an_update_with_its_own_dataset_and_the_parameters_is_an_error():
    with pytest.raises(QueryError, match="one or the other"):
        with_dataset("WITH <http://example.org/g> INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }", ["http://example.org/a"], [])


@pytest.mark.parametrize("iri", ["http://example.org/a> } ; DROP ALL ; #", "not an iri"])
def test_a_parameter_that_is_not_an_iri_is_refused(iri):
    with pytest.raises(QueryError):
        with_dataset("INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }", [iri], [])
