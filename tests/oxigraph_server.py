"""Oxigraph's own SPARQL server (the PyPI package ``oxigraph``) on a free loopback port, for the tests
that run on a store on a SPARQL server: tests/test_remote_store.py and the whole suite under
``pytest --backend=remote`` (tests/conftest.py)."""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from live_server import free_port

START_TIMEOUT = 30  # seconds for the server to answer its first request


def oxigraph_command() -> str:
    beside = Path(sys.executable).parent / "oxigraph"
    found = str(beside) if beside.exists() else shutil.which("oxigraph")
    assert found, "the oxigraph server (PyPI package 'oxigraph', a test dependency) is not installed"
    return found


@contextlib.contextmanager
def oxigraph_server(location: Path | None = None):
    """``oxigraph serve`` on a free loopback port, its default graph the union of its graphs (as kb's
    own store); on disk at ``location``, else in memory.  Yields the store URL (``sparql+http://…/``)."""
    port = free_port()
    command = [oxigraph_command(), "serve", "--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    if location is not None:
        command += ["--location", str(location)]
    log = tempfile.TemporaryFile()  # never a pipe: one nobody reads stops the server once it is full
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                urllib.request.urlopen(url + "query?query=ASK%7B%7D", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"oxigraph serve did not start: {log.read()!r}")
                time.sleep(0.05)
        yield "sparql+" + url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def drop_all(store_url: str) -> None:
    """Empty the server's dataset (every named graph and the default graph)."""
    base = store_url[len("sparql+"):]
    request = urllib.request.Request(base + "update", data=b"DROP ALL",
                                     headers={"Content-Type": "application/sparql-update"})
    urllib.request.urlopen(request, timeout=60).close()
