"""Fuzzing the HTTP surface from its OpenAPI description (kb/web/openapi.json) with schemathesis.

The app runs in-process (WSGI) on a store holding the seeds; schemathesis
generates requests for every operation the description holds, valid ones
and invalid ones, and checks each answer: never a 5xx, a status, a media
type, headers and (for JSON) a body that the description allows.  The
description is kept honest: every route of the app is described, or
excluded here with the reason.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)
from schemathesis.checks import not_a_server_error

from kb.web import create_app
from live_server import seed_store

ROOT = Path(__file__).resolve().parent.parent
DESCRIPTION = json.loads((ROOT / "kb" / "web" / "openapi.json").read_text(encoding="utf-8"))
EXAMPLES = 12  # per operation and mode: the whole run stays well under a minute
# routes the description leaves out on purpose, each with why
NOT_DESCRIBED = {
    "/static/{filename}": "files (the stylesheet, scripts)",
    "/sparql/ui": "an HTML page only; its answers are the endpoint's, described at /sparql",
    "/topics.{ext}": "RDF of the topic scheme (Linked Data), not a JSON view",
    "/document/{name}/post/{index}": "RDF of a post (Linked Data) and its generic HTML page, no JSON view",
    "/export.{ext}": "the whole store as RDF",
    "/speaker/{key}/claims.{ext}": "a speaker's claims as RDF",
    "/topic/{key}/claims.{ext}": "a topic's claims as RDF",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory, new_store):
    app = create_app({"KB_STORE": str(seed_store(new_store("fuzz"))),
                      "TESTING": True, "QUERY_WORKERS": 1, "QUERY_TIMEOUT": 5})
    yield app
    pool = app.extensions.get("kb_query_pool")
    if pool is not None:
        pool.close()


SCHEMA = schemathesis.openapi.from_dict(DESCRIPTION)
OPERATIONS = [(method, path) for path, item in DESCRIPTION["paths"].items() for method in item
              if method in ("get", "post")]
# valid requests for each operation, and invalid ones for each that takes any input
RUNS = [(m, p, mode) for m, p in OPERATIONS for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if mode == GenerationMode.POSITIVE or DESCRIPTION["paths"][p][m].get("parameters")
        or DESCRIPTION["paths"][p][m].get("requestBody")]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


# schemathesis's pytest loader for a schema made by a fixture (from_fixture) fails under pytest 9
# (it sets Function._nodeid), and a schema loaded at import would need the store at collection:
# so each operation's strategy drives a hypothesis test here, against the app in-process
@pytest.mark.parametrize("method, path, mode", RUNS, ids=[f"{m.upper()} {p} {mode}" for m, p, mode in RUNS])
def test_no_5xx_and_every_answer_as_described(app, method, path, mode):
    operation = SCHEMA[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case):
        response = case.call(app=app)
        # invalid requests may be answered in any way but a 5xx; valid ones as described
        case.validate_response(response, checks=CHECKS if mode == GenerationMode.POSITIVE else [not_a_server_error])

    fuzz()


def _paths(rule: str) -> set[str]:
    """The OpenAPI paths of a Flask rule, parameters as {}; an any(…) segment stands for each of its values."""
    choices = re.search(r"(?<=/)<any\(([^)]*)\):\w+>(?=/|$)", rule)
    if choices:
        return {p for value in choices.group(1).split(",") for p in _paths(rule.replace(choices.group(0), value.strip()))}
    return {shape(re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule))}


def shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_route_is_described_or_deliberately_left_out(app):
    described = {shape(p): methods for p, methods in DESCRIPTION["paths"].items()}
    left_out = {shape(p) for p in NOT_DESCRIBED}
    routes = set()
    for rule in app.url_map.iter_rules():
        for path in _paths(rule.rule):
            routes.add(path)
            assert path in described or path in left_out, f"{rule.rule} is neither described nor left out"
            if path in described:  # and every method it answers
                methods = {m.lower() for m in rule.methods} - {"head"} - ({"options"} if path != "/sparql" else set())
                assert methods <= set(described[path]), (path, methods)
    assert set(described) <= routes  # nothing described that is not served
    assert left_out <= routes  # nor left out that is not a route
    assert not set(described) & left_out
