"""Cold start: how long `kb serve` on the seeds takes to answer its first page.

    python bench/coldstart.py [RUNS] [--json]

Ingests the seeds into a temporary store once, then RUNS times starts
`kb serve` on a free loopback port and measures the time from starting the
process to the first 200 answer of the home page, and of /sparql (an ASK).
The target (issue 5) is under 3 seconds.
"""
from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KB = [sys.executable, "-c", "from kb.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_answer(store: Path, path: str) -> float:
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([*KB, "serve", "--store", str(store),
                                "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                    response.read()
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                if process.poll() is not None:
                    raise SystemExit("kb serve exited before answering")
                time.sleep(0.02)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--json"]
    runs = int(args[0]) if args else 5
    figures = {"runs": runs}
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        subprocess.run([*KB, "ingest", str(ROOT / "seeds"), "--store", str(store)],
                       check=True, stdout=subprocess.DEVNULL)
        for label, path in (("home page", "/"), ("SPARQL ASK", "/sparql?query=ASK%7B%7D")):
            times = [first_answer(store, path) for _ in range(runs)]
            figures[label] = {"median_s": statistics.median(times), "max_s": max(times)}
            if "--json" not in sys.argv:
                print(f"{label}: first answer after median {statistics.median(times):.2f} s, "
                      f"max {max(times):.2f} s over {runs} starts (target < 3 s)")
    if "--json" in sys.argv:
        print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
