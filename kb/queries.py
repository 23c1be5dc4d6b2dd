"""Named SPARQL queries: queries/*.rq, their parameters and the formats of their answers.

A query file is plain SPARQL under a header of ``#+ `` comments (as grlc
reads them)::

    #+ summary: The claims of one speaker.
    #+ params: speaker (IRI), from (xsd:date, optional), limit (xsd:integer 1..10000, optional)
    #+ hidden: from

Parameter types: ``IRI`` (an absolute IRI, or for ``speaker``, ``topic`` and
``document`` a local key such as ``sergey-lavrov`` or a file name),
``xsd:date`` (YYYY-MM-DD), ``xsd:integer`` (clamped to the range given, if
any), ``xsd:string``.  Values are bound as typed terms, never pasted into
the query text.  ``limit`` and ``offset`` are not bound: they page the rows.
Oxigraph binds only projected variables, so a parameter that is only a
filter has to be projected too; ``hidden`` names the columns left out of
the answer for that reason.

A query may name a list the store's side index keeps (kb.fts), with the
variable(s) it gives values to: ``#+ index: speaker-claims ?claim`` (the
claims of a speaker, on a topic, between two dates, in the query's order),
``topic-claims ?claim``, ``topic-counts ?topic ?counted``,
``speaker-counts ?speaker ?claims`` (the counts kept at ingest).  When the
index is up to date, ``run`` puts the index's answer in the query as a
VALUES block: in place of the line ``# INDEX`` (a list of claims: only
those are sorted and described, the page's, or all of them a chunk at a
time) or of the lines from ``# INDEX BEGIN`` to ``# INDEX END`` (the
counting the counts stand for).  The rows are the same either way
(tests/test_browse_index.py); without the index, or with ``use_index``
False, the query runs as it is written, as any SPARQL client runs it.
"""
from __future__ import annotations

import datetime as dt
import functools
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping
from xml.sax.saxutils import escape, quoteattr

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD

from . import config
from .errors import QueryError
from .store import SelectResult, to_ox, write_graph

FORMATS = ("table", "csv", "tsv", "json", "xml", "turtle", "nt", "nq", "trig", "jsonld", "rdfxml")
# a graph answer's formats (kb.store.WRITE_FORMATS, written by pyoxigraph): table, json and xml as Turtle, JSON-LD, RDF/XML
GRAPH_FORMATS = {"table": "turtle", "json": "jsonld", "xml": "rdfxml",
                 **{f: f for f in ("turtle", "nt", "nq", "trig", "jsonld", "rdfxml")}}
PAGING = ("limit", "offset")
TABLE_CELL = 60  # characters shown per cell in a table
PAGE_MARK = re.compile(r"^[ \t]*# PAGE[ \t]*$", re.MULTILINE)  # where a query wants its LIMIT/OFFSET
INDEX_LINE = re.compile(r"^([ \t]*)# INDEX[ \t]*$", re.MULTILINE)  # where the index's claims go
INDEX_REGION = re.compile(r"^([ \t]*)# INDEX BEGIN[ \t]*$.*?^[ \t]*# INDEX END[ \t]*$", re.MULTILINE | re.DOTALL)
INDEX_LISTS = ("speaker-claims", "topic-claims", "topic-counts", "speaker-counts")  # kept by kb.fts
INDEX_CHUNK = 200  # claims per query when many claims of a view are listed (50 to 2,000: 157 to 221 us a claim at 1M)

_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_KEY = re.compile(r"[\w][\w.-]*")
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PARAM = re.compile(r"\s*([A-Za-z_][\w-]*)\s*\(([^)]*)\)\s*(?:,|$)")
_RANGE = re.compile(r"(-?\d+)\.\.(-?\d+)")
_INDEX = re.compile(r"([a-z][a-z-]*)((?:\s+\?[A-Za-z_]\w*)+)")
TYPES = ("IRI", "xsd:date", "xsd:integer", "xsd:string")
MINTED = {"speaker": "speaker_iri", "topic": "topic_iri", "document": "document_iri"}  # key -> IRI, by kb.rdf


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    optional: bool = False
    low: int | None = None  # xsd:integer only
    high: int | None = None


@dataclass(frozen=True)
class NamedQuery:
    name: str
    path: Path
    text: str
    summary: str
    params: tuple[Param, ...] = ()
    hidden: tuple[str, ...] = ()
    index: tuple[str, tuple[str, ...]] | None = None  # (a list of INDEX_LISTS, the variables it fills)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        takes = ", ".join(p.name for p in self.params) or "no parameters"
        raise QueryError(f"query '{self.name}' has no parameter '{name}' (it takes: {takes})")


# ---------------------------------------------------------------- loading

def query_names() -> list[str]:
    return sorted(p.stem for p in config.queries_dir().glob("*.rq"))


def load_query(name_or_file: str) -> NamedQuery:
    """A query by name (queries/NAME.rq) or from a file path."""
    path = Path(name_or_file)
    if _NAME.fullmatch(name_or_file):
        path = config.queries_dir() / f"{name_or_file}.rq"
        if not path.is_file():
            known = ", ".join(query_names())
            raise QueryError(f"unknown query '{name_or_file}' (known: {known})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise QueryError(f"{name_or_file}: cannot read the query: {reason}") from None
    return parse_query_file(text, path)


def parse_query_file(text: str, path: Path) -> NamedQuery:
    header: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#+"):
            key, _, value = line[2:].partition(":")
            header[key.strip().lower()] = value.strip()
    where = path.name
    params = tuple(_parse_params(header.get("params", ""), where))
    hidden = tuple(h.strip() for h in header.get("hidden", "").split(",") if h.strip())
    return NamedQuery(path.stem, path, text, header.get("summary", ""), params, hidden,
                      _parse_index(header.get("index"), text, where))


def _parse_index(spec: str | None, text: str, where: str) -> tuple[str, tuple[str, ...]] | None:
    if not spec:
        return None
    m = _INDEX.fullmatch(spec)
    if not m or m.group(1) not in INDEX_LISTS:
        raise QueryError(f"{where}: the index header must be one of {', '.join(INDEX_LISTS)} "
                         f"and the variable(s) it fills, e.g. '#+ index: topic-claims ?claim': got {spec!r}")
    name, variables = m.group(1), tuple(v.lstrip("?") for v in m.group(2).split())
    if len(variables) != (1 if name.endswith("-claims") else 2):
        raise QueryError(f"{where}: the index list {name} fills {1 if name.endswith('-claims') else 2} variable(s)")
    if not (INDEX_REGION.search(text) if name.endswith("-counts") else INDEX_LINE.search(text)):
        mark = "lines '# INDEX BEGIN' and '# INDEX END'" if name.endswith("-counts") else "line '# INDEX'"
        raise QueryError(f"{where}: the query names the index list {name} but has no {mark}")
    return name, variables


def _parse_params(spec: str, where: str) -> Iterable[Param]:
    pos = 0
    while pos < len(spec):
        m = _PARAM.match(spec, pos)
        if not m:
            raise QueryError(f"{where}: cannot read the params header at {spec[pos:]!r}")
        name, details = m.group(1), [d.strip() for d in m.group(2).split(",")]
        kind, *flags = details
        bounds = _RANGE.search(kind)
        kind = _RANGE.sub("", kind).strip()
        if kind not in TYPES:
            raise QueryError(f"{where}: parameter {name} has unknown type {kind!r} (one of {', '.join(TYPES)})")
        low, high = (int(bounds.group(1)), int(bounds.group(2))) if bounds else (None, None)
        yield Param(name, kind, "optional" in flags, low, high)
        pos = m.end()


# ---------------------------------------------------------------- binding

def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """``['speaker=sergey-lavrov', …]`` as a dict; one value per parameter."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise QueryError(f"--param {pair!r}: expected NAME=VALUE")
        if name in out:
            raise QueryError(f"--param {name} given twice: one value per parameter")
        out[name] = value
    return out


def bind(query: NamedQuery, values: Mapping[str, str]) -> tuple[dict, dict]:
    """(bindings of typed terms, paging) for the raw ``values`` given on the command line."""
    bindings, paging = {}, {}
    for name, raw in values.items():
        param = query.param(name)
        term = _typed(param, raw)
        if name in PAGING:
            paging[name] = int(term)
        else:
            bindings[name] = term
    missing = [p.name for p in query.params if not p.optional and p.name not in values]
    if missing:
        raise QueryError(f"query '{query.name}' needs --param {missing[0]}=VALUE")
    return bindings, paging


def _typed(param: Param, raw: str):
    value = raw.strip()
    if param.type == "IRI":
        return URIRef(_iri(param.name, value))
    if param.type == "xsd:date":
        try:
            if not _DATE.fullmatch(value):
                raise ValueError
            dt.date.fromisoformat(value)
        except ValueError:
            raise QueryError(f"parameter {param.name}: not a date (YYYY-MM-DD): {raw!r}") from None
        return Literal(value, datatype=XSD.date)
    if param.type == "xsd:integer":
        try:
            number = int(value)
        except ValueError:
            raise QueryError(f"parameter {param.name}: not an integer: {raw!r}") from None
        if param.low is not None:
            number = min(max(number, param.low), param.high)
        return Literal(number)
    return Literal(raw)


def _iri(name: str, value: str) -> str:
    """An absolute IRI as given, or a speaker/topic/document key expanded by kb.rdf."""
    if _IRI.fullmatch(value):
        return value
    if ":" in value or name not in MINTED or not _KEY.fullmatch(value):
        raise QueryError(f"parameter {name}: not an absolute IRI: {value!r}")
    from . import rdf  # here, not at the top: most commands never mint an IRI

    return str(getattr(rdf, MINTED[name])(value))


def run(store, query: NamedQuery, values: Mapping[str, str] | None = None, use_index: bool = True):
    """Run a named query on the store: a SelectResult (hidden columns removed, paged), a Graph or a bool.

    ``limit``/``offset`` are written as LIMIT/OFFSET in place of the query's "# PAGE" line when it
    has one (the sub-select that sorts, so only the page is described further); else the rows are
    cut here.  With ``use_index`` and an up-to-date side index, the lists and counts the query
    names in its "#+ index" header come from the index (see the module's docstring).
    """
    bindings, paging = bind(query, values or {})
    index = side_index(store) if use_index and query.index else None
    if index is not None and query.index[0].endswith("-claims"):
        result, paged = _listed(store, index, query, bindings, paging), True
    else:
        text = query.text
        paged = bool(paging) and bool(PAGE_MARK.search(text))
        if paged:
            text = PAGE_MARK.sub(page_clause(paging.get("limit"), paging.get("offset", 0)), text, count=1)
        if index is not None:
            result = _counted(store, index, query, text, bindings)
        else:
            result = store.query(text, bindings)
    if not isinstance(result, SelectResult):
        return result
    if not paged:
        rows = result.rows[paging.get("offset", 0):]
        result = SelectResult(result.variables, rows[:paging["limit"]] if "limit" in paging else rows)
    return visible(query, result)


def visible(query: NamedQuery, result: SelectResult) -> SelectResult:
    """The answer without the query's hidden columns (parameters projected only to be bound)."""
    keep = [i for i, v in enumerate(result.variables) if v not in query.hidden]
    return SelectResult([result.variables[i] for i in keep], [tuple(r[i] for i in keep) for r in result.rows])


def page_clause(limit: int | None, offset: int = 0) -> str:
    """'LIMIT n OFFSET m' of two integers (the only text kb writes into a query for its paging)."""
    clause = f"LIMIT {int(limit)}" if limit is not None else ""
    return f"{clause} OFFSET {int(offset)}".strip() if offset else clause


def side_index(store):
    """The store's side index (kb.fts) when it is up to date with the store, else None: a store
    on a SPARQL server keeps none; a missing, interrupted or older index is not trusted."""
    return _side_index(store)[0]


def index_problem(store) -> str | None:
    """Why the store's side index is not read (``side_index`` None), as one line that says what
    to run; None when it is read, and for a store on a SPARQL server, which keeps none."""
    return _side_index(store)[1]


def _side_index(store) -> tuple:
    import sqlite3

    from . import fts

    opener = getattr(store, "search_index", None)
    if opener is None:
        return None, None
    try:
        index = opener()
    except fts.IndexMissing as exc:
        return None, exc.reason
    except sqlite3.Error as exc:
        return None, f"cannot read the search index ({exc}): run `kb reindex`"
    if not isinstance(index, fts.SearchIndex):
        return None, None
    problem = index.problem()
    return (None, problem) if problem is not None else (index, None)


def _listed(store, index, query: NamedQuery, bindings: dict, paging: dict) -> SelectResult:
    """The query on the claims the index lists for it (the page's, or all of them)."""
    iris = index_claims(index, query, bindings, paging.get("limit"), paging.get("offset", 0))
    return run_listed(store, query, bindings, iris)


def index_claims(index, query: NamedQuery, bindings: dict, limit: int | None = None, offset: int = 0,
                 details: bool = False, topics: bool = True) -> list:
    """The IRIs of the claims the side index lists for a query that names a list of claims
    ("#+ index: speaker-claims ?claim"), its parameters bound to ``bindings``, in the query's order
    (``details``: a kb.fts.Listing of the claims in place of their IRIs, with topics when ``topics``)."""
    name = query.index[0]
    given = {k: str(v) for k, v in bindings.items()}
    listing = {"limit": limit, "offset": offset, "details": details, "topics": topics}
    if name == "speaker-claims":
        return index.speaker_claims(given["speaker"], given.get("topic"), given.get("from"), given.get("to"),
                                    **listing)
    return index.topic_claims(given["topic"], given.get("from"), given.get("to"), **listing)


def run_listed(store, query: NamedQuery, bindings: dict, iris: list[str], strings: bool = False) -> SelectResult:
    """The query's rows for the claims ``iris`` (listed by the index, in the query's order): the query
    itself with the claims, INDEX_CHUNK at a time, as a VALUES block in place of its "# INDEX" line.
    Each chunk's rows are the query's own rows of those claims, sorted by the query; the chunks
    follow the list.  One block of every claim would not do: Oxigraph answered a block of over a
    thousand IRIs many times slower than the same IRIs in chunks.  ``strings`` as for the store's query."""
    variable = query.index[1][0]
    text = INDEX_LINE.sub(lambda m: f"{m.group(1)}VALUES ?{variable} {{ }}  # LIST", query.text, count=1)
    if not iris:  # asked of the store with an empty VALUES block, Oxigraph may read every claim to find none
        return SelectResult(list(_columns(text)), [])
    chunks = [iris[i:i + INDEX_CHUNK] for i in range(0, len(iris), INDEX_CHUNK)]
    results = [store.query_listed(text, variable, [URIRef(i) for i in chunk], bindings, strings) for chunk in chunks]
    return SelectResult(results[0].variables, [row for r in results for row in r.rows])


def visible_columns(query: NamedQuery) -> list[str]:
    """The columns of a SELECT query's rows as the pages show them: its hidden ones left out."""
    return [c for c in _columns(query.text) if c not in query.hidden]


@functools.lru_cache(maxsize=64)
def _columns(text: str) -> tuple[str, ...]:
    """The columns of a SELECT query, as a store answers them: asked of an empty in-memory store."""
    import pyoxigraph as ox

    from .store import check_query

    check_query(text)
    return tuple(v.value for v in ox.Store().query(text).variables)


def _counted(store, index, query: NamedQuery, text: str, bindings: dict) -> SelectResult:
    """The query with the counts the index keeps in place of (each of) its "# INDEX BEGIN" … "# INDEX END" lines."""
    name, variables = query.index
    counts = index.topic_counts() if name == "topic-counts" else index.speaker_counts()
    listed = INDEX_REGION.sub(lambda m: f"{m.group(1)}VALUES (?{variables[0]} ?{variables[1]}) {{ }}  # LIST", text)
    return store.query_listed(listed, variables, [(URIRef(iri), Literal(n)) for iri, n in sorted(counts.items())],
                              bindings)


# ---------------------------------------------------------------- formats

def plain(term) -> str:
    """A term as one CSV cell: the IRI, the lexical form, '' when unbound."""
    return "" if term is None else str(term)


def as_dicts(result: SelectResult) -> list[dict[str, str]]:
    """Rows as {column: plain value}, exactly as the CSV format writes them."""
    return [dict(zip(result.variables, map(plain, row))) for row in result.rows]


def render(result, fmt: str = "table") -> str:
    """A query answer in one of FORMATS (a graph: Turtle, JSON-LD or RDF/XML)."""
    if fmt not in FORMATS:
        raise QueryError(f"unknown format {fmt!r} (one of: {', '.join(FORMATS)})")
    if isinstance(result, Graph):
        if fmt not in GRAPH_FORMATS:
            raise QueryError("this query answers with a graph: use --format table (Turtle), json (JSON-LD), xml (RDF/XML), "
                             "turtle, nt, nq, trig, jsonld or rdfxml")
        out = io.BytesIO()
        write_graph(result, out, GRAPH_FORMATS[fmt], prefixes())  # a query's answer: without rdflib terms
        return out.getvalue().decode("utf-8")
    if fmt not in ("table", "csv", "tsv", "json", "xml"):
        raise QueryError(f"this query answers with rows, not a graph: --format {fmt} is for CONSTRUCT and DESCRIBE")
    if isinstance(result, bool):
        return _boolean(result, fmt)
    return {"table": _table, "csv": _csv, "tsv": _tsv, "json": _json, "xml": _xml}[fmt](result)


def _table(result: SelectResult) -> str:
    def cell(term) -> str:
        text = " ".join(plain(term).split())
        return text if len(text) <= TABLE_CELL else text[:TABLE_CELL - 1] + "…"

    rows = [[cell(t) for t in row] for row in result.rows]
    widths = [max([len(v)] + [len(r[i]) for r in rows]) for i, v in enumerate(result.variables)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(result.variables, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"


def _csv(result: SelectResult) -> str:
    return csv_text(result.variables, ([plain(t) for t in row] for row in result.rows))


def csv_text(columns: list[str], rows: Iterable[list[str]]) -> str:
    """CSV (RFC 4180, lines ended by LF) of rows of strings: a field with a comma, a quote, CR or LF
    quoted, its quotes doubled.  What csv.writer writes (it leaves a lone CR unquoted), written
    here because csv.writer took 150 ms for ten thousand rows of Cyrillic claims, this 25 ms:
    ``kb query --format csv`` and the pages' CSV (kb.web.data) are written by it."""
    def field(value: str) -> str:
        if '"' in value:
            return '"' + value.replace('"', '""') + '"'
        if "," in value or "\n" in value or "\r" in value or (value == "" and len(columns) == 1):
            return '"' + value + '"'
        return value

    lines = [",".join(map(field, columns))]
    lines += [",".join(map(field, row)) for row in rows]
    return "\n".join(lines) + "\n"


def _tsv(result: SelectResult) -> str:
    """SPARQL 1.1 TSV: ``?var`` headers, terms in N-Triples syntax (newlines and tabs escaped)."""
    lines = ["\t".join("?" + v for v in result.variables)]
    lines += ["\t".join("" if t is None else str(to_ox(t)) for t in row) for row in result.rows]
    return "\n".join(lines) + "\n"


def _json_term(term) -> dict:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    out = {"type": "literal", "value": str(term)}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype:
        out["datatype"] = str(term.datatype)
    return out


def _json(result: SelectResult) -> str:
    bindings = [{v: _json_term(t) for v, t in zip(result.variables, row) if t is not None}
                for row in result.rows]
    doc = {"head": {"vars": result.variables}, "results": {"bindings": bindings}}
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def _xml_term(term) -> str:
    if isinstance(term, URIRef):
        return f"<uri>{escape(str(term))}</uri>"
    if isinstance(term, BNode):
        return f"<bnode>{escape(str(term))}</bnode>"
    if term.language:
        return f"<literal xml:lang={quoteattr(term.language)}>{escape(str(term))}</literal>"
    if term.datatype:
        return f"<literal datatype={quoteattr(str(term.datatype))}>{escape(str(term))}</literal>"
    return f"<literal>{escape(str(term))}</literal>"


_XML_HEAD = '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n'


def _xml(result: SelectResult) -> str:
    parts = [_XML_HEAD, "<head>\n"]
    parts += [f"<variable name={quoteattr(v)}/>\n" for v in result.variables]
    parts.append("</head>\n<results>\n")
    for row in result.rows:
        parts.append("<result>\n")
        parts += [f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>\n"
                  for v, t in zip(result.variables, row) if t is not None]
        parts.append("</result>\n")
    parts.append("</results>\n</sparql>\n")
    return "".join(parts)


def _boolean(value: bool, fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": value}) + "\n"
    if fmt == "xml":
        return f"{_XML_HEAD}<head/>\n<boolean>{str(value).lower()}</boolean>\n</sparql>\n"
    return f"{str(value).lower()}\n"


# ---------------------------------------------------------------- export and stats

def prefixes() -> dict[str, str]:
    """The prefixes declared in ontology/kb.ttl, for Turtle and TriG output (the file read once per
    version of it: reading it took longer than writing a small answer)."""
    path = config.ontology_dir() / "kb.ttl"
    return dict(_prefixes(path, path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=4)
def _prefixes(path: Path, version: int) -> tuple:
    g = Graph(bind_namespaces="none")
    g.parse(path, format="turtle")
    return tuple((prefix, str(ns)) for prefix, ns in g.namespaces())


def export(store, fileobj, fmt: str = "turtle", speaker: str | None = None,
           topic: str | None = None) -> None:
    """Write the store, or the claims of a speaker and/or on a topic, to a binary file object."""
    if speaker is None and topic is None:
        store.dump(fileobj, fmt, prefixes=prefixes())
        return
    values = {k: v for k, v in (("speaker", speaker), ("topic", topic)) if v is not None}
    write_graph(run(store, load_query("export-claims"), values), fileobj, fmt, prefixes())


def stats(store) -> dict:
    """Totals, claims per speaker and claims per topic (speakers and topics with claims only)."""
    totals = as_dicts(run(store, load_query("stats")))
    speakers = as_dicts(run(store, load_query("speakers")))
    topics = as_dicts(run(store, load_query("topics")))
    return {
        **store.stats(),
        **{k: int(v or 0) for k, v in (totals[0] if totals else {}).items()},
        "claims_per_speaker": {(s["name"] or s["speaker"]): int(s["claims"]) for s in speakers if s["claims"] != "0"},
        "claims_per_topic": {(t["label"] or t["topic"]): int(t["claims"]) for t in topics if t["claims"] != "0"},
    }
