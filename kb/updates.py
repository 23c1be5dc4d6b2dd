"""SPARQL Update through SHACL: the write path of ``kb serve --allow-update``.

An update is checked (it must parse; LOAD and SERVICE are refused, they
fetch from the network), then tried on an in-memory copy of the store; every
graph it changes is validated with the shapes (kb.validate) and only when
all of them conform is the update run on the store itself, in one
transaction; then the search index (kb.fts) replaces the rows of the graphs
it changed.  The store is opened for writing only for that time, so
``kb ingest`` can write it between updates; while it does, an update is
refused as busy.

``run_update`` does all this in a child process with a time-out: pySHACL
flips a process-wide rdflib setting while it runs, which must not happen
inside the threads of the web server, and a runaway update can be stopped.
Copying the store for each update is fine for a store of this size (tens of
thousands of triples), not for millions.
"""
from __future__ import annotations

import io
import multiprocessing
import re
from dataclasses import dataclass
from typing import Iterable

from .errors import KbError, QueryError, StoreError, ValidationError


@dataclass
class UpdateResult:
    status: int  # 200, or the HTTP status of the refusal
    message: str


def _names(node) -> Iterable[str]:
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(node, CompValue):
        yield node.name
        for value in node.values():
            yield from _names(value)
    elif isinstance(node, (list, tuple)) or type(node).__name__ == "ParseResults":
        for value in node:
            yield from _names(value)


def check_update(sparql: str) -> None:
    """Parse ``sparql`` as an update; refuse LOAD and SERVICE."""
    from rdflib.plugins.sparql.parser import parseUpdate

    from .store import PARSER_LOCK, one_line

    try:
        with PARSER_LOCK:  # the same parser as queries': not thread-safe (rdflib#1282)
            parsed = parseUpdate(sparql)
    except Exception as exc:  # pyparsing's ParseException, and whatever else the grammar raises
        raise QueryError(f"not a valid SPARQL update: {one_line(exc)}") from None
    names = set(_names(parsed))
    if "Load" in names:
        raise QueryError("LOAD is not allowed: updates write the local store only")
    if "ServiceGraphPattern" in names:
        raise QueryError("SERVICE is not allowed: updates run on the local store only")


_IRI = re.compile(r"<[^<>\"{}|^`\\\s]*>")
_STRING = re.compile(r"\"\"\"(?:[^\\]|\\.)*?\"\"\"|'\'\'(?:[^\\]|\\.)*?'\'\'|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'")
_WORD = re.compile(r"[A-Za-z_]+")


def _top_level_wheres(sparql: str) -> list[int]:
    """Offsets of each WHERE keyword outside braces, strings, IRIs and comments
    that opens the pattern of a DELETE/INSERT operation ('DELETE WHERE' takes none)."""
    out, depth, i, last = [], 0, 0, ""
    while i < len(sparql):
        c = sparql[i]
        m = _STRING.match(sparql, i) if c in "\"'" else _IRI.match(sparql, i) if c == "<" else None
        if m:
            i = m.end()
            continue
        if c == "#":
            end = sparql.find("\n", i)
            i = len(sparql) if end == -1 else end
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and (c.isalpha() or c == "_") and (i == 0 or not (sparql[i - 1].isalnum() or sparql[i - 1] in "_:")):
            word = _WORD.match(sparql, i).group(0)
            if word.upper() == "WHERE" and last != "DELETE":
                out.append(i)
            last = word.upper()
            i += len(word)
            continue
        i += 1
    return out


def with_dataset(sparql: str, using: list[str], using_named: list[str]) -> str:
    """The update with the protocol's using-graph-uri / using-named-graph-uri
    as USING / USING NAMED clauses of each DELETE/INSERT operation.

    The IRIs are checked to be IRIs before they are written; an update that
    names its own dataset (USING, WITH) together with the parameters is an
    error, as the SPARQL 1.1 Protocol says.
    """
    import pyoxigraph as ox
    from rdflib.plugins.sparql.parser import parseUpdate

    if not using and not using_named:
        return sparql
    from .store import PARSER_LOCK

    check_update(sparql)
    with PARSER_LOCK:
        parsed = parseUpdate(sparql)
    for op in parsed.request:
        if "using" in op or "withClause" in op:
            raise QueryError("the update names its dataset (USING or WITH) and the request "
                             "gives using-graph-uri / using-named-graph-uri: give one or the other")
    try:
        iris = [ox.NamedNode(i).value for i in [*using, *using_named]]
    except ValueError as exc:
        raise QueryError(f"using-graph-uri / using-named-graph-uri: not an IRI: {exc}") from None
    clause = " ".join([*(f"USING <{i}>" for i in iris[:len(using)]),
                       *(f"USING NAMED <{i}>" for i in iris[len(using):])]) + " "
    for at in reversed(_top_level_wheres(sparql)):
        sparql = sparql[:at] + clause + sparql[at:]
    check_update(sparql)
    return sparql


def _graphs(store) -> dict:
    """{graph name: set of (s, p, o)} of a pyoxigraph store, the default graph under None."""
    import pyoxigraph as ox

    out: dict = {}
    for quad in store.quads_for_pattern(None, None, None, None):
        name = None if isinstance(quad.graph_name, ox.DefaultGraph) else quad.graph_name
        out.setdefault(name, set()).add((quad.subject, quad.predicate, quad.object))
    return out


def apply_update(store_dir, sparql: str, base_iri: str | None = None) -> list[str]:
    """Validate the update's effect, then run it on the store; the graphs it changed."""
    import pyoxigraph as ox
    from rdflib import Graph

    from .store import EmbeddedStore, from_ox
    from .validate import validate_graph

    check_update(sparql)
    with EmbeddedStore.open(store_dir) as store:
        dump = io.BytesIO()
        store.dump(dump, "nq")
        trial = ox.Store()
        trial.load(dump.getvalue(), format=ox.RdfFormat.N_QUADS)
        before = _graphs(trial)
        try:
            trial.update(sparql, base_iri=base_iri)
        except SyntaxError as exc:
            raise QueryError(f"not a valid SPARQL update: {exc}") from None
        after = _graphs(trial)
        changed = [g for g in set(before) | set(after) if before.get(g) != after.get(g)]
        names = sorted("default graph" if g is None else g.value for g in changed)
        problems = []
        for name in changed:
            graph = Graph()
            for s, p, o in after.get(name, ()):
                graph.add((from_ox(s), from_ox(p), from_ox(o)))
            where = "default graph" if name is None else name.value
            problems += [f"{where}: {v}" for v in validate_graph(graph)]
        if problems:
            raise ValidationError("the update", problems)
        # the changed graphs' rows of the search index are replaced once the store has committed
        store.update(sparql, base_iri=base_iri, changed=[None if g is None else g.value for g in changed])
    return names


def _child(conn, store_dir, sparql: str, base_iri: str | None) -> None:
    try:
        changed = apply_update(store_dir, sparql, base_iri)
        result = UpdateResult(200, f"updated: {len(changed)} graph(s) changed")
    except ValidationError as exc:
        result = UpdateResult(422, str(exc))
    except StoreError as exc:
        busy = "in use" in str(exc)
        result = UpdateResult(503 if busy else 500, str(exc))
    except KbError as exc:
        result = UpdateResult(400, str(exc))
    except Exception as exc:  # noqa: BLE001 - the server must get an answer
        result = UpdateResult(500, f"the update failed: {type(exc).__name__}: {exc}")
    conn.send(result)
    conn.close()


def run_update(store_dir, sparql: str, base_iri: str | None, timeout: float) -> UpdateResult:
    """``apply_update`` in a child process; 503 when it takes longer than ``timeout`` seconds."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(child, str(store_dir), sparql, base_iri), daemon=True)
    process.start()
    child.close()
    try:
        if parent.poll(timeout):
            result = parent.recv()
            process.join(5)
            return result
        return UpdateResult(503, f"the update ran longer than {timeout:g} s and was stopped; nothing was written")
    except EOFError:
        return UpdateResult(500, "the update process failed")
    finally:
        if process.is_alive():
            process.kill()
            process.join(5)
        parent.close()
