"""Bad input: every reader and the extractor either give correct claims or one
line naming the file and the reason, and the rest of the batch goes in.

Each case is a real file under tmp_path read by the real reader and
extractor; the batch cases go through ``kb.pipeline.ingest`` into a real
store, and a few through the ``kb ingest`` command.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from kb import pipeline
from kb.cli import main
from kb.errors import InputError
from kb.extract import extract_claims
from kb.rdf import document_graph
from kb.readers import MAX_DOCUMENT_BYTES, MAX_DOCUMENT_BYTES_ENV, iter_files, read_document
from kb.store import EmbeddedStore
from kb.validate import validate_graph

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ARTICLE = SEEDS / "000_49c0c810f21c5879.txt"  # an English article, 9 claims
DUMP = SEEDS / "004_f767a744d13e2798.txt"  # a channel dump, English and Russian, 17 posts
SENTENCE = "“We are ready to talk to anyone,” Peskov said."


def sound(doc, claims, validate: bool = True):
    """The invariants of every claim: its words at its offsets, inside its post; the graph conforms."""
    for c in claims:
        post = doc.posts[c.post_index]
        assert c.words and doc.text[c.start:c.end] == c.words
        assert post.start <= c.start < c.end <= post.end
    if validate:
        assert validate_graph(document_graph(doc, claims)) == []
    return claims


def read_and_extract(path, **kwargs):
    doc = read_document(path)
    return doc, sound(doc, extract_claims(doc, **kwargs))


def one_line_error(path) -> str:
    with pytest.raises(InputError) as info:
        read_document(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return info.value.reason


def summary(claims):
    return [(c.speaker.name, c.words, c.kind, c.date.value if c.date else None) for c in claims]


# ---------------------------------------------------------------- encodings and bytes

def test_empty_and_binary_files(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 40)
    assert "empty" in one_line_error(tmp_path / "empty.txt")
    assert "binary" in one_line_error(tmp_path / "binary.bin")


def test_cp1251_gives_the_same_claims_as_utf8(tmp_path):
    text = "Важная информация\n\nПесков заявил, что переговоры с Киевом возможны.\n"
    (tmp_path / "cp.txt").write_bytes(text.encode("cp1251"))
    (tmp_path / "u8.txt").write_text(text, encoding="utf-8")
    _, cp = read_and_extract(tmp_path / "cp.txt")
    _, u8 = read_and_extract(tmp_path / "u8.txt")
    assert summary(cp) == summary(u8) and [c.speaker.name for c in cp] == ["Dmitry Peskov"]


def test_utf16_with_bom_gives_the_seeds_claims(tmp_path):
    (tmp_path / "u16.txt").write_bytes(ARTICLE.read_text(encoding="utf-8").encode("utf-16"))
    doc, claims = read_and_extract(tmp_path / "u16.txt")
    _, original = read_and_extract(ARTICLE)
    assert doc.text == ARTICLE.read_text(encoding="utf-8")
    assert summary(claims) == summary(original) and len(claims) >= 5


@pytest.mark.parametrize("seed", [ARTICLE, DUMP], ids=["english", "russian"])
def test_invalid_utf8_in_the_middle_of_a_post_names_the_place(tmp_path, seed):
    data = seed.read_bytes()
    middle = data.index(b" ", len(data) // 2)  # a space, so no character is cut in two
    (tmp_path / "broken.txt").write_bytes(data[:middle] + b"\xff\xfe" + data[middle:])
    reason = one_line_error(tmp_path / "broken.txt")
    line = data[:middle].count(b"\n") + 1
    assert reason.startswith("UTF-8 with broken bytes") and f"line {line}," in reason and "ff" in reason


# ---------------------------------------------------------------- size

def test_a_50_mb_file_is_refused_at_once(tmp_path):
    big = tmp_path / "big.txt"
    with big.open("w", encoding="utf-8") as f:
        block = DUMP.read_text(encoding="utf-8")
        while f.tell() < 50_000_000:
            f.write(block)
    reason = one_line_error(big)
    assert reason.startswith(f"too large: more than {MAX_DOCUMENT_BYTES:,} bytes") and MAX_DOCUMENT_BYTES_ENV in reason


def test_the_size_limit_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(MAX_DOCUMENT_BYTES_ENV, "1000")
    assert "more than 1,000 bytes" in one_line_error(ARTICLE)
    monkeypatch.setenv(MAX_DOCUMENT_BYTES_ENV, "1_000_000")
    assert read_document(ARTICLE).posts
    monkeypatch.setenv(MAX_DOCUMENT_BYTES_ENV, "lots")
    with pytest.raises(InputError, match="not a number of bytes"):
        read_document(ARTICLE)


def test_a_single_5_mb_line_is_refused_by_default(tmp_path):
    path = tmp_path / "line.txt"
    path.write_text("date 2025-05-29 Headline\n\n" + SENTENCE + " word" * 1_000_000 + "\n", encoding="utf-8")
    assert one_line_error(path).startswith("too large")


@pytest.mark.parametrize("filler", [" ", "“", "a", "😀", "Lavrov, who ", "said ", ". "],
                         ids=["spaces", "open-quotes", "one-word", "emoji", "subjects", "verbs", "stops"])
def test_a_long_line_is_read_in_linear_time(tmp_path, filler):
    """The rules look back a bounded distance: a line of 200 kB takes a few seconds (it took hours).
    bench/bad_input.py times 5 MB lines."""
    path = tmp_path / "line.txt"
    body = filler * (200_000 // len(filler.encode("utf-8")))
    path.write_text(f"date 2025-05-29 Headline\n\n{SENTENCE} {body} Lavrov said that the talks were useful.\n",
                    encoding="utf-8")
    _, claims = read_and_extract(path)
    got = {(c.speaker.name, c.words) for c in claims}
    assert ("Dmitry Peskov", "We are ready to talk to anyone") in got


# ---------------------------------------------------------------- odd posts

def test_a_post_of_only_emoji(tmp_path):
    path = tmp_path / "dump.txt"
    path.write_text("🔥🔥🇷🇺🤝🇨🇳👍\n🔥🔥🇷🇺🤝🇨🇳👍\n❤5\n"
                    "Sergey Lavrov said that the talks with China were useful.\n"
                    "Sergey Lavrov said that the talks with China were useful.\n👍3\n", encoding="utf-8")
    doc, claims = read_and_extract(path)
    assert doc.kind == "telegram" and len(doc.posts) == 2
    assert [(c.post_index, c.speaker.name, c.words) for c in claims] == [
        (1, "Sergey Lavrov", "the talks with China were useful")]


@pytest.mark.parametrize("marks", ['"' * 10_000, "“" * 10_000, "«" * 10_000, "”" * 10_000, "“«\"»”" * 2_000])
def test_10000_quotation_marks(tmp_path, marks):
    path = tmp_path / "quotes.txt"
    path.write_text(f"date 2025-05-29 Headline\n\nPeskov said {marks}\n\n{SENTENCE}\n", encoding="utf-8")
    _, claims = read_and_extract(path)
    assert ("Dmitry Peskov", "We are ready to talk to anyone", "direct") in {(c.speaker.name, c.words, c.kind)
                                                                            for c in claims}


@pytest.mark.parametrize("line", [
    "“We are ready to talk to anyone, Peskov said.",
    "We are ready to talk to anyone,” Peskov said.",
    "«Мы готовы к переговорам, заявил Песков.",
    "“We are «ready» to talk to anyone,” Peskov said, “and we mean it.",
])
def test_unbalanced_quotes(tmp_path, line):
    path = tmp_path / "unbalanced.txt"
    path.write_text(f"date 2025-05-29 Headline\n\n{line}\n\n{SENTENCE}\n", encoding="utf-8")
    _, claims = read_and_extract(path)
    assert {c.speaker.name for c in claims} == {"Dmitry Peskov"}
    assert claims[-1].words == "We are ready to talk to anyone"


def test_control_characters(tmp_path):
    path = tmp_path / "ctrl.txt"
    path.write_text("date 2025-05-29 Headline\x07\n\n\x0bPeskov said\x1b that talks\u2028were possible.\x0c\n\n"
                    f"\ufeff{SENTENCE}\x7f\n", encoding="utf-8")
    _, claims = read_and_extract(path)
    assert "We are ready to talk to anyone" in [c.words for c in claims]


# ---------------------------------------------------------------- dates

def test_an_impossible_date_line_dates_nothing(tmp_path):
    path = tmp_path / "feb30.txt"
    path.write_text("date 2025-02-30 Lavrov meets Wang Yi\n\nSergey Lavrov said that the talks were useful.\n",
                    encoding="utf-8")
    doc, claims = read_and_extract(path)
    assert doc.published is None
    assert summary(claims) == [("Sergey Lavrov", "the talks were useful", "indirect", None)]


@pytest.mark.parametrize("stated", ["February 30, 2025", "30 февраля 2025 года", "2025-02-30"])
def test_an_impossible_date_in_a_post_is_not_its_date(tmp_path, stated):
    path = tmp_path / "dump.txt"
    title = f"🎙 Foreign Minister Sergey Lavrov's remarks (Moscow, {stated})"
    body = "We will keep working with all our partners in Asia."
    path.write_text(f"{title}\n{body}\nRead in full\n{body}\n❤3\n", encoding="utf-8")
    doc, claims = read_and_extract(path)
    assert doc.kind == "telegram" and claims
    assert all(c.date is None for c in claims)


def test_a_future_date_line_is_not_the_documents_date(tmp_path):
    path = tmp_path / "future.txt"
    next_year = dt.date.today().year + 1
    path.write_text(f"date {next_year}-05-29 Lavrov meets Wang Yi\n\nSergey Lavrov said that the talks were useful.\n",
                    encoding="utf-8")
    doc, claims = read_and_extract(path)
    assert doc.published is None and [c.date for c in claims] == [None]


def test_a_date_after_the_documents_date_is_not_the_statements_date(tmp_path):
    path = tmp_path / "later.txt"
    path.write_text("date 2025-05-29 Lavrov meets Wang Yi\n\n"
                    "On June 3, 2031, Sergey Lavrov said that the talks were useful.\n"
                    "On May 20, 2025, Dmitry Peskov said that the treaty was dead.\n", encoding="utf-8")
    _, claims = read_and_extract(path)
    assert [(c.words, c.date.value, c.date.method) for c in claims] == [
        ("the talks were useful", "2025-05-29", "published"),  # the article's date, not 2031
        ("the treaty was dead", "2025-05-20", "stated"),
    ]


def test_a_post_dated_after_today_is_undated(tmp_path):
    path = tmp_path / "dump.txt"
    body = "We will keep working with all our partners in Asia."
    path.write_text(f"🎙 Foreign Minister Sergey Lavrov's remarks (Moscow, May 1, 2026)\n{body}\nRead in full\n"
                    f"{body}\n❤3\n", encoding="utf-8")
    doc = read_document(path)
    before = sound(doc, extract_claims(doc, today=dt.date(2026, 4, 30)))
    after = sound(doc, extract_claims(doc, today=dt.date(2026, 5, 1)))
    assert [c.date for c in before] == [None]
    assert [(c.date.value, c.date.method) for c in after] == [("2026-05-01", "stated")]


# ---------------------------------------------------------------- repeated posts

def _posts_text(doc, times: int) -> str:
    return "\n".join(doc.text[p.start:p.end] for p in doc.posts for _ in range(times)) + "\n"


def _third_copy_text(doc) -> str:
    lines = doc.text.split("\n")
    out = []
    for p in doc.posts:
        out += lines[p.start_line - 1:p.end_line]
        if p.dup_start_line:  # the body printed once more
            out += lines[p.dup_start_line - 1:p.end_line]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("make", [lambda d: _posts_text(d, 3), lambda d: "\n".join([d.text.rstrip("\n")] * 3) + "\n",
                                  _third_copy_text], ids=["each-post-thrice", "dump-thrice", "body-thrice"])
def test_a_dump_with_every_post_repeated_gives_each_claim_once(tmp_path, make):
    original = read_document(DUMP)
    (tmp_path / "again.txt").write_text(make(original), encoding="utf-8")
    doc, claims = read_and_extract(tmp_path / "again.txt")
    assert len(doc.posts) == len(original.posts)
    assert [doc.posts[i].header.text if doc.posts[i].header else None for i in range(len(doc.posts))] == \
        [p.header.text if p.header else None for p in original.posts]
    assert summary(claims) == summary(extract_claims(original))


# ---------------------------------------------------------------- folders and batches

def test_a_symlink_loop_is_followed_once(tmp_path):
    top = tmp_path / "top"
    (top / "sub").mkdir(parents=True)
    (top / "a.txt").write_text("x", encoding="utf-8")
    (top / "sub" / "b.txt").write_text("x", encoding="utf-8")
    (top / "sub" / "up").symlink_to(top, target_is_directory=True)
    (top / "sub" / "again").symlink_to(top / "sub", target_is_directory=True)
    (top / "self.txt").symlink_to(top / "self.txt")  # a link to itself
    got = sorted(p.relative_to(top).as_posix() for p in iter_files([top]))
    assert got == ["a.txt", "self.txt", "sub/b.txt"]
    assert "symbolic links" in one_line_error(top / "self.txt")


def test_a_file_that_disappears_while_the_folder_is_read(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (folder / name).write_text(f"Headline\n\n{SENTENCE}\n", encoding="utf-8")
    walk = iter_files([folder])
    first = next(walk)
    (folder / "b.txt").unlink()  # gone after the folder was listed, before it is read
    files = [first, *walk]
    assert [p.name for p in files] == ["a.txt", "b.txt", "c.txt"]
    with EmbeddedStore.open(tmp_path / "store") as store:
        report = pipeline.ingest(files, store, progress=False, jobs=1)
    assert report.documents == ["a.txt", "c.txt"] and report.claims == 2
    assert report.failures == [f"{folder / 'b.txt'}: no such file"]


def _bad_folder(root: Path) -> Path:
    folder = root / "batch"
    folder.mkdir()
    (folder / "00-empty.txt").write_bytes(b"")
    (folder / "01-binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    (folder / "02-cp1251.txt").write_bytes("Заголовок\n\nПесков заявил, что переговоры возможны.\n".encode("cp1251"))
    (folder / "03-utf16.txt").write_bytes(ARTICLE.read_text(encoding="utf-8").encode("utf-16"))
    data = DUMP.read_bytes()
    middle = data.index(b" ", len(data) // 2)
    (folder / "04-broken-utf8.txt").write_bytes(data[:middle] + b"\xff" + data[middle:])
    (folder / "05-quotes.txt").write_text(f"Headline\n\nPeskov said {'“' * 10_000}\n\n{SENTENCE}\n", encoding="utf-8")
    (folder / "06-feb30.txt").write_text("date 2025-02-30 Title\n\nLavrov said that the talks were useful.\n",
                                         encoding="utf-8")
    (folder / "07-thrice.txt").write_text(_posts_text(read_document(DUMP), 3), encoding="utf-8")
    (folder / "08-self.txt").symlink_to(folder / "08-self.txt")
    (folder / "09-loop").symlink_to(folder, target_is_directory=True)
    with (folder / "10-big.txt").open("wb") as f:
        f.truncate(MAX_DOCUMENT_BYTES + 1)  # sparse: no disk, but over the limit
    return folder


def test_a_batch_of_bad_files_goes_in_except_the_unreadable(tmp_path):
    folder = _bad_folder(tmp_path)
    with EmbeddedStore.open(tmp_path / "store") as store:
        report = pipeline.ingest([folder], store, progress=False, jobs=1)
        stored = sorted(iri.rsplit("/", 1)[-1] for iri in store.documents())
        assert pipeline.validate_store(store) == []
    assert report.documents == stored == ["02-cp1251.txt", "03-utf16.txt", "05-quotes.txt", "06-feb30.txt",
                                          "07-thrice.txt"]
    failed = {f.split(": ", 1)[0].rsplit(os.sep, 1)[-1]: f for f in report.failures}
    assert sorted(failed) == ["00-empty.txt", "01-binary.txt", "04-broken-utf8.txt", "08-self.txt", "10-big.txt"]
    assert all("\n" not in f and f.startswith(str(folder)) for f in report.failures)
    assert "too large" in failed["10-big.txt"] and "broken bytes" in failed["04-broken-utf8.txt"]


def test_kb_ingest_reports_each_bad_file_in_one_line(tmp_path, runner):
    folder = _bad_folder(tmp_path)
    result = runner.invoke(main, ["ingest", str(folder), "--store", str(tmp_path / "store"), "--jobs", "1"],
                           catch_exceptions=False)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert len(errors) == 5 and all(e.startswith(f"kb: error: {folder}") for e in errors)
    assert "08-self.txt: cannot read: Too many levels of symbolic links" in result.stderr
    assert result.stdout.startswith("ingested 5 document(s)") and "5 file(s) failed" in result.stdout


def test_kb_ingest_with_the_limit_from_the_environment(tmp_path, runner):
    args = ["ingest", str(ARTICLE), "--store", str(tmp_path / "store"), "--jobs", "1"]
    refused = runner.invoke(main, args, env={MAX_DOCUMENT_BYTES_ENV: "1000"}, catch_exceptions=False)
    assert refused.exit_code == 1
    assert refused.stderr == (f"kb: error: {ARTICLE}: too large: more than 1,000 bytes "
                              f"(raise the limit with {MAX_DOCUMENT_BYTES_ENV}=BYTES)\n")
    taken = runner.invoke(main, args, env={MAX_DOCUMENT_BYTES_ENV: "10000"}, catch_exceptions=False)
    assert taken.exit_code == 0, taken.output
    assert taken.stdout.startswith("ingested 1 document(s)")
