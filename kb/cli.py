"""The ``kb`` command line: thin click commands, each calling a plain function.

Errors a user can act on (``KbError``, ``OSError``) and unexpected ones alike
are printed as one line, ``kb: error: …``, with exit status 1; usage errors
keep click's own message and status 2.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys

import click

from . import config, evaluate as scoring, pipeline, queries
from .errors import KbError
from .remote import is_remote
from .store import FORMATS as EXPORT_FORMATS, EmbeddedStore, one_line, open_store


def _fail(message: str) -> None:
    click.echo(f"kb: error: {one_line(message)}", err=True)
    sys.exit(1)


class KbGroup(click.Group):
    """Turns every error of a command into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # `kb query … | head`: the reader has gone, say nothing
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except KbError as exc:
            _fail(str(exc))
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            _fail(f"{where}{exc.strerror or exc}")
        except Exception as exc:  # a bug: still one line, never a traceback
            _fail(f"unexpected {type(exc).__name__}: {exc}")


store_option = click.option(
    "--store", "store_dir", metavar="DIR|URL", default=config.default_store,
    show_default="$KB_STORE, else .kb/store",
    help="The store: a directory (the embedded store), or a SPARQL server as sparql+http(s)://HOST/PATH/.")


shacl_engine_option = click.option(
    "--shacl-engine", metavar="pyshacl|turbo", default=None, show_default="$KB_SHACL_ENGINE, else pyshacl",
    help="The SHACL engine that validates: pySHACL (the reference) or turbo (the package pyshacl-turbo, faster).")


def _reader(store_dir: str):
    return open_store(store_dir, read_only=True)


def _use_shacl_engine(name: str | None) -> None:
    """--shacl-engine over $KB_SHACL_ENGINE (worker processes get it too), checked before any work."""
    from .validate import engine

    if name is not None:
        os.environ["KB_SHACL_ENGINE"] = name
    engine()


@click.group(cls=KbGroup)
def main() -> None:
    """kb: who said what, when, on which topic."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@store_option
@click.option("--progress/--no-progress", default=True, help="A progress bar on a terminal.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=pipeline.DEFAULT_JOBS, show_default=True,
              help="Worker processes that read, extract and validate (a small batch runs in one).")
@shacl_engine_option
def ingest(paths, store_dir, progress, jobs, shacl_engine) -> None:
    """Read, extract, validate and store the files named and those under the folders named."""
    _use_shacl_engine(shacl_engine)
    with open_store(store_dir) as store:
        report = pipeline.ingest(paths, store, progress=progress, jobs=jobs)
    for failure in report.failures:
        click.echo(f"kb: error: {failure}", err=True)
    if not report.documents and not report.failures:
        _fail(f"no files to ingest in {', '.join(paths)}")
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--graph", "graph_iri", metavar="IRI",
              help="Load the file into this named graph (else: the default graph, or the quads' own graphs).")
@store_option
def load(file, graph_iri, store_dir) -> None:
    """Load an RDF file (Turtle, N-Triples, TriG, N-Quads, JSON-LD) as it is, validated with SHACL."""
    with open_store(store_dir) as store:
        graphs = pipeline.load(file, store, graph_iri)
    click.echo(f"loaded {sum(graphs.values())} triple(s) into {len(graphs)} graph(s)")


@main.command()
@store_option
@click.option("--progress/--no-progress", default=True, help="A progress bar on a terminal.")
@click.option("--check", is_flag=True, help="Only say how the index differs from the store (exit status 1 if it does).")
def reindex(store_dir, progress, check) -> None:
    """Rebuild the full-text search index from the store, document by document."""
    if check and not is_remote(store_dir):
        with _reader(store_dir) as store:
            differences = store.index_differences()
        for line in differences:
            click.echo(line)
        click.echo(f"{len(differences)} difference(s) between the search index and the store")
        sys.exit(1 if differences else 0)
    _reader(store_dir).close()  # no store there: say so, rather than make an empty one
    if is_remote(store_dir):
        _fail("the full-text index is kept by the embedded store only: a SPARQL server indexes its own text")
    with EmbeddedStore.open(store_dir) as store:
        report = store.reindex(progress=progress)
    for failure in report.failures:
        click.echo(f"kb: error: {failure}", err=True)
    click.echo(report.summary())
    if report.failures:
        sys.exit(1)


@main.command()
@store_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on (loopback only by default).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--query-timeout", default=10.0, show_default=True, type=click.FloatRange(min=0.1),
              metavar="SECONDS", help="Stop a query that runs longer.")
@click.option("--max-rows", default=10_000, show_default=True, type=click.IntRange(min=1),
              help="Rows (or triples) at most in an answer.")
@click.option("--max-query-length", default=20_000, show_default=True, type=click.IntRange(min=1),
              help="Characters at most in a query.")
@click.option("--max-header-size", default=64 * 1024, show_default=True, type=click.IntRange(min=1024),
              metavar="BYTES", help="Bytes at most in a request line and its headers (else 431).")
@click.option("--max-body-size", default=64 * 1024, show_default=True, type=click.IntRange(min=1024),
              metavar="BYTES", help="Bytes at most in a request body (else 413, unread).")
@click.option("--query-memory", default=2048, show_default=True, type=click.IntRange(min=64), metavar="MB",
              help="Heap at most of a query worker; a query that needs more is stopped (503).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes that run queries.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Threads of the HTTP server.")
@click.option("--allow-update", is_flag=True,
              help="Accept SPARQL Update from requests carrying the token (validated with SHACL).")
@click.option("--update-token-env", default="KB_UPDATE_TOKEN", show_default=True, metavar="VAR",
              help="The environment variable that holds the update token.")
def serve(store_dir, host, port, query_timeout, max_rows, max_query_length, max_header_size, max_body_size,
          query_memory, workers, threads, allow_update, update_token_env) -> None:
    """Serve the store over HTTP: a SPARQL 1.1 endpoint at /sparql, read-only by default."""
    from .web.server import serve as run_server

    token = os.environ.get(update_token_env, "").strip() if allow_update else None
    if allow_update and not token:
        _fail(f"--allow-update needs a token in the environment variable {update_token_env}")
    run_server(store_dir, host=host, port=port, threads=threads, max_header_size=max_header_size,
               QUERY_TIMEOUT=query_timeout, MAX_ROWS=max_rows, MAX_QUERY_LENGTH=max_query_length,
               MAX_CONTENT_LENGTH=max_body_size, QUERY_WORKERS=workers, QUERY_MEMORY=query_memory * 2 ** 20,
               ALLOW_UPDATE=allow_update, UPDATE_TOKEN=token)


@main.command()
@store_option
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=pipeline.DEFAULT_JOBS, show_default=True,
              help="Worker processes that read and validate the document graphs.")
@click.option("--progress/--no-progress", default=True, help="A progress bar on a terminal.")
@click.option("--timing", is_flag=True, help="Say on stderr how long it took, per 100,000 claims.")
@shacl_engine_option
def validate(store_dir, jobs, progress, timing, shacl_engine) -> None:
    """Check every document graph in the store against the SHACL shapes."""
    _use_shacl_engine(shacl_engine)
    with _reader(store_dir) as store:
        verdict = pipeline.check_store(store, jobs=jobs, progress=progress)
    for problem in verdict.problems:
        click.echo(problem)
    click.echo(f"{verdict.documents} document graph(s), {len(verdict.problems)} violation(s)")
    if timing:
        per, cpu = verdict.per_100k_claims(), verdict.per_100k_claims(verdict.cpu_seconds)
        rate = f", {per:.1f} s per 100,000 claims ({cpu:.1f} s of CPU)" if per is not None else ""
        click.echo(f"validated {verdict.claims} claim(s) in {verdict.documents} graph(s), "
                   f"{verdict.triples} triples, in {verdict.seconds:.1f} s{rate}", err=True)
    if verdict.problems:
        sys.exit(1)


@main.command()
@click.argument("name", metavar="NAME|FILE")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter of the query (repeat for more).")
@click.option("--format", "fmt", type=click.Choice(queries.FORMATS), default="table", show_default=True)
@click.option("--index/--no-index", "use_index", default=True, show_default=True,
              help="Take the lists and counts the query names in its '#+ index' header from the store's "
                   "side index when it is up to date; --no-index runs the query as it is written.")
@store_option
def query(name, params, fmt, use_index, store_dir) -> None:
    """Run a named query (queries/NAME.rq) or a query file."""
    named = queries.load_query(name)
    values = queries.parse_assignments(params)
    with _reader(store_dir) as store:
        result = queries.run(store, named, values, use_index=use_index)
    click.echo(queries.render(result, fmt), nl=False)


@main.command(name="queries")
def list_queries() -> None:
    """List the named queries with their parameters."""
    for name in queries.query_names():
        q = queries.load_query(name)
        params = ", ".join(p.name + ("?" if p.optional else "") for p in q.params)
        click.echo(f"{name}{f' ({params})' if params else ''}: {q.summary}")


@contextlib.contextmanager
def _output(path: str | None):
    if path is None or path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
    else:
        with open(path, "wb") as fh:
            yield fh


@main.command()
@click.option("--format", "fmt", type=click.Choice(list(EXPORT_FORMATS)), default="turtle", show_default=True)
@click.option("--speaker", metavar="KEY_OR_IRI", help="Only the claims of this speaker.")
@click.option("--topic", metavar="KEY_OR_IRI", help="Only the claims on this topic.")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of standard output.")
@store_option
def export(fmt, speaker, topic, output, store_dir) -> None:
    """Write the store (or the claims of a speaker or on a topic) as RDF."""
    with _reader(store_dir) as store, _output(output) as fh:
        queries.export(store, fh, fmt, speaker=speaker, topic=topic)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@store_option
def stats(as_json, store_dir) -> None:
    """Documents, posts and claims in the store; claims per speaker and per topic."""
    with _reader(store_dir) as store:
        figures = queries.stats(store)
    if as_json:
        click.echo(json.dumps(figures, indent=1, ensure_ascii=False))
        return
    for key, value in figures.items():
        if isinstance(value, dict):
            click.echo(f"{key.replace('_', ' ')}:")
            width = max((len(k) for k in value), default=0)
            for label, count in value.items():
                click.echo(f"  {label.ljust(width)}  {count:>5}")
        else:
            click.echo(f"{key}: {value}")


@main.command(name="evaluate")
@click.argument("gold", metavar="GOLD.json")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@store_option
def evaluate_command(gold, as_json, store_dir) -> None:
    """Score the claims in the store against a gold annotation."""
    gold_docs = scoring.load_gold(gold)  # a bad gold file is reported before the store is opened
    with _reader(store_dir) as store:
        rows = queries.as_dicts(queries.run(store, queries.load_query("claims")))
    result = scoring.score(gold_docs, scoring.predictions(rows))
    if as_json:
        click.echo(json.dumps(result, indent=1, ensure_ascii=False))
    else:
        click.echo(scoring.report(result), nl=False)
