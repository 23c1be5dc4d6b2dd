"""``kb serve``: the web app under waitress, a production WSGI server with several threads.

The store is opened read-only once first, so that a missing store is one
clear error rather than a failing first request, and a side index the pages
cannot read (missing, of another version, interrupted) is said on stderr,
with the command that mends it; the query workers start before the server
listens and stop with it.

waitress itself refuses what never reaches the app: a request line and
headers longer than ``max_header_size`` bytes (431), a body announced
longer than the app's MAX_CONTENT_LENGTH (413, before the body is read),
malformed request lines, headers and Content-Length (400).
"""
from __future__ import annotations

import gc
import signal
import sys

from .. import queries
from ..store import open_store
from . import create_app, sparql


MAX_HEADER_SIZE = 64 * 1024  # bytes: a GET of a query of MAX_QUERY_LENGTH characters, percent-encoded, fits


def serve(store_dir, host: str = "127.0.0.1", port: int = 8000, threads: int = 8,
          max_header_size: int = MAX_HEADER_SIZE, **settings) -> None:
    """Serve the app until interrupted; ``settings`` are create_app's (QUERY_TIMEOUT, MAX_ROWS...)."""
    from waitress import serve as waitress_serve

    store = open_store(store_dir, read_only=True)  # a StoreError here if there is no store (or no server)
    try:
        problem = queries.index_problem(store)
    finally:
        store.close()
    if problem is not None:  # the pages still answer, from the store alone: say why they may be slow
        print(f"kb serve: {problem}; until then the pages answer by SPARQL alone, which is slow on a "
              "large store", file=sys.stderr, flush=True)
    app = create_app({"KB_STORE": str(store_dir), **settings})
    with app.app_context():
        pool = sparql.pool()
    # what the app holds from its start (modules, the ontology) is left out of the cyclic collector's
    # full passes, which the tens of thousands of rows of a big export set off: p95 of the busiest
    # exports at 1M claims 165 -> 148 ms (bench/RESULTS.md, "Whole-view exports from the side index")
    gc.freeze()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        waitress_serve(app, host=host, port=port, threads=threads, ident="kb",
                       max_request_header_size=max_header_size,
                       max_request_body_size=app.config["MAX_CONTENT_LENGTH"])
    finally:
        pool.close()
