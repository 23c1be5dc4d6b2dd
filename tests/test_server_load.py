"""`kb serve` under many clients at once answers every request, in full.

A small version of bench/load_test.py: 10 clients for 5 seconds against a
real server on the seeds, each sending a mix of browsing pages (home,
speakers, a speaker with filters, topics, a topic, a claim, a document,
search) and named SPARQL queries from queries/.  Every answer must be a 200
whose body is all there (the length announced, a whole HTML page, SPARQL
results that parse).  No timing is asserted: bench/RESULTS.md has the
latencies at full size.
"""
from __future__ import annotations

import pytest

from kb import config
from live_server import LoadPlan, load_targets, run_load, running_server, seed_store

CLIENTS = 10
SECONDS = 5


@pytest.fixture(scope="module")
def server(tmp_path_factory, new_store):
    store_dir = seed_store(new_store("load"))
    with running_server(store_dir) as endpoint:
        yield endpoint.rsplit("/", 1)[0]


def test_many_clients_get_every_answer_in_full(server):
    """end_to_end"""
    plan = LoadPlan(load_targets(server, config.base_iri()), config.base_iri(), config.queries_dir())
    result = run_load(server, plan, CLIENTS, SECONDS, seed=6, every_kind=True)
    assert not result.errors, result.errors[:5]
    assert set(result.latencies) == set(plan.kinds)
    assert result.requests >= len(plan.kinds)


def test_an_incomplete_answer_is_caught():
    """The check the load relies on finds a cut body, a cut page, an error status and bad JSON."""
    from live_server import complete

    page = b"<!doctype html><html><body>x</body></html>\n"
    assert complete("ui:home", 200, {"Content-Length": str(len(page))}, page) is None
    assert complete("ui:home", 200, {"Content-Length": str(len(page) + 5)}, page)
    assert complete("ui:home", 200, {}, page[:20])
    assert complete("ui:home", 503, {}, page)
    assert complete("sparql:stats", 200, {}, b'{"head": {"vars": []}, "results": {"bindings": []}}') is None
    assert complete("sparql:stats", 200, {}, b'{"head": {"vars": []}, "results": {"bind')
