"""A real ``kb serve`` in a subprocess, on a free loopback port, for the endpoint tests."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

START_TIMEOUT = 30  # seconds for the server to answer its first request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed_store(store_dir):
    """A store at ``store_dir`` holding the repository's seeds."""
    from kb import config, pipeline
    from kb.store import EmbeddedStore

    with EmbeddedStore.open(store_dir) as store:
        report = pipeline.ingest([config.seeds_dir()], store, progress=False)
    assert report.ok and report.claims > 0
    return store_dir


@contextlib.contextmanager
def running_server(store_dir, *options: str, env: dict | None = None):
    """Start ``kb serve --store store_dir OPTIONS`` (``env`` added to the environment) and yield
    the endpoint's URL (…/sparql)."""
    port = free_port()
    command = [sys.executable, "-c", "from kb.cli import main; main()", "serve",
               "--store", str(store_dir), "--port", str(port), *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}/sparql"
    try:
        _wait(process, url)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _wait(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kb serve stopped: {process.stdout.read().decode(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"kb serve did not answer at {url} within {START_TIMEOUT} s")
