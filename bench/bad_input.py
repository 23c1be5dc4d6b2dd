"""Time the reader and the extractor on hostile input: long lines, many quotes, big files.

    python bench/bad_input.py [MEGABYTES [CASE...]]

Writes each case to a temporary folder, reads it with the size limit raised
to fit (KB_MAX_DOCUMENT_BYTES), extracts its claims, builds and validates
its graph, and prints one Markdown table row per case: seconds to read, to
extract, to build and validate, and the claims found.  CASE words pick the
cases whose names hold them.  The line of real sentences is a tenth of the
size: every sentence is a claim, and 5 MB of them is 130,000 claims.  A 50 MB file is also
read with the default limit, to show that it is refused at once.  The
first case pays for dateparser's warm-up (a few seconds).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.errors import InputError  # noqa: E402
from kb.extract import extract_claims  # noqa: E402
from kb.lexicon import load_lexicon  # noqa: E402
from kb.rdf import document_graph  # noqa: E402
from kb.readers import MAX_DOCUMENT_BYTES_ENV, read_document  # noqa: E402
from kb.validate import validate_graph  # noqa: E402

HEAD = "date 2025-05-29 Headline\n\n“We are ready to talk to anyone,” Peskov said. "
TAIL = " Lavrov said that the talks were useful.\n"


def cases(size: int) -> dict[str, str]:
    def line(unit: str) -> str:
        return HEAD + unit * (size // len(unit.encode("utf-8"))) + TAIL
    seed = (ROOT / "seeds" / "004_f767a744d13e2798.txt").read_text(encoding="utf-8")
    return {
        "one line of spaces": line(" "),
        "one line of one word": line("a"),
        "one line of emoji": line("😀"),
        "one line of words": line("word "),
        "one line of '“' (all unclosed)": line("“"),
        "one line of 'Lavrov, who '": line("Lavrov, who "),
        "one line of 'said '": line("said "),
        "one line of real sentences (a tenth)": HEAD + "Peskov said that talks were possible. " * (size // 380) + TAIL,
        "10,000 quotation marks": HEAD + '"' * 10_000 + TAIL,
        "seed 004, every post three times": "\n".join([seed.rstrip("\n")] * 3) + "\n",
    }


def run(path: Path, lexicon) -> tuple[float, float, float, int]:
    t0 = time.perf_counter()
    doc = read_document(path)
    t1 = time.perf_counter()
    claims = extract_claims(doc, lexicon)
    t2 = time.perf_counter()
    violations = validate_graph(document_graph(doc, claims))
    t3 = time.perf_counter()
    assert not violations, violations[:3]
    return t1 - t0, t2 - t1, t3 - t2, len(claims)


def main() -> None:
    size = int(float(sys.argv[1] if len(sys.argv) > 1 else "5") * 1_000_000)
    chosen = sys.argv[2:]
    lexicon = load_lexicon()
    print(f"| case ({size / 1e6:g} MB lines) | read | extract | graph + SHACL | claims |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        os.environ[MAX_DOCUMENT_BYTES_ENV] = str(size + 1_000_000)
        for name, text in cases(size).items():
            if chosen and not any(word in name for word in chosen):
                continue
            path = Path(folder) / "case.txt"
            path.write_text(text, encoding="utf-8")
            read, extract, validate, claims = run(path, lexicon)
            print(f"| {name} | {read:.2f} s | {extract:.2f} s | {validate:.2f} s | {claims:,} |", flush=True)
        del os.environ[MAX_DOCUMENT_BYTES_ENV]
        big = Path(folder) / "big.txt"
        with big.open("w", encoding="utf-8") as f:
            while f.tell() < 50_000_000:
                f.write(cases(1000)["seed 004, every post three times"])
        t0 = time.perf_counter()
        try:
            read_document(big)
            outcome = "read"
        except InputError as exc:
            outcome = exc.reason
        print(f"| 50 MB file, default limit | {time.perf_counter() - t0:.2f} s | | | {outcome} |")


if __name__ == "__main__":
    main()
