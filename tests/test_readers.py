"""Reading files: decoding, post segmentation against the gold, article facts, errors.

The gold segmentation is tests/data/gold/seeds-posts.json (see the seeds'
NOTES, "Segmentation judgement calls"); the seeds are read from seeds/.
"""
from __future__ import annotations

import hashlib
import json
import socket
from collections import Counter
from pathlib import Path

import pytest

from kb import readers
from kb.errors import InputError
from kb.readers import iter_files, read_document

TESTS = Path(__file__).parent
SEEDS = TESTS.parent / "seeds"
GOLD = json.loads((TESTS / "data" / "gold" / "seeds-posts.json").read_text(encoding="utf-8"))
NOISE = ("Forwarded from", "Read in full", "READ IN FULL", "📖 Read in full", "🎥 Watch", "Media is too big",
         "VIEW IN TELEGRAM", "Please open Telegram to view this post")

_docs: dict[str, object] = {}


def doc(name: str):
    """Each seed is read once per test session."""
    if name not in _docs:
        _docs[name] = read_document(SEEDS / name)
    return _docs[name]


def seed(prefix: str) -> str:
    return next(p.name for p in SEEDS.iterdir() if p.name.startswith(prefix))


# ---------------------------------------------------------------- segmentation against the gold

@pytest.mark.parametrize("name, count", sorted(Counter(g["file"] for g in GOLD).items()))
def test_number_of_posts(name, count):
    assert len(doc(name).posts) == count


@pytest.mark.parametrize("gold", GOLD, ids=[f"{g['file'][:3]}-{g['index']}" for g in GOLD])
def test_post_matches_gold(gold):
    post = doc(gold["file"]).posts[gold["index"]]
    got = {k: getattr(post, k) for k in ("start_line", "end_line", "dup_start_line", "duplicated_body",
                                         "forwarded_from", "language")}
    assert got == {k: gold[k] for k in got}
    assert post.index == gold["index"]


@pytest.mark.parametrize("gold", GOLD, ids=[f"{g['file'][:3]}-{g['index']}" for g in GOLD])
def test_post_offsets_and_lines_point_into_the_text(gold):
    d = doc(gold["file"])
    post = d.posts[gold["index"]]
    file_lines = d.text.split("\n")
    assert d.text[post.start:post.end].split("\n")[0] == gold["first_line"] == file_lines[post.start_line - 1]
    assert d.text[post.start:post.end].split("\n")[-1] == gold["last_line"] == file_lines[post.end_line - 1]
    kept = list(post.lines) + ([post.header] if post.header else [])
    assert post.lines, "every seed post has body lines"
    for line in kept:
        assert d.text[line.start:line.end] == line.text
        begins = sum(len(ln) + 1 for ln in file_lines[:line.number - 1])  # the line's own number
        assert begins <= line.start <= line.end <= begins + len(file_lines[line.number - 1])
        assert post.start_line <= line.number <= post.end_line
        assert line.text.strip(), "empty lines are dropped"
        assert not line.text.strip().startswith(NOISE)
        if post.dup_start_line:  # the first copy only
            assert line.number < post.dup_start_line
    numbers = [ln.number for ln in post.lines]
    assert numbers == sorted(set(numbers))


def test_second_copy_lines_are_not_body_lines():
    d = doc(seed("001"))
    post = d.posts[0]
    assert [ln.number for ln in post.lines] == list(range(2, 18))  # 19-34 repeat them, 18 is 'Read in full'


def test_partial_copies_keep_the_whole_first_copy():
    mod = doc(seed("001")).posts[2]
    assert (mod.forwarded_from, mod.dup_start_line) == ("MoD Russia", 95)
    assert [ln.number for ln in mod.lines] == [91, 92, 93, 94]  # the ⚡️ line is body: it carries a claim
    assert mod.header is None
    diplomats_day = doc(seed("004")).posts[9]
    assert diplomats_day.header.number == 155
    assert [ln.number for ln in diplomats_day.lines] == list(range(156, 166))


@pytest.mark.parametrize("prefix, index, header_line", [
    ("001", 0, 1),  # 🎙, not repeated in the copy
    ("001", 1, 36),  # 📢
    ("001", 3, None),  # the 📸 line is repeated: it is body
    ("001", 5, 187),  # 🎶🎼 #OTD
    ("001", 6, None),  # leading '#UNGA80', then a repeated body
    ("004", 0, 4),  # after 'Forwarded from' / 'Media is too big' / 'VIEW IN TELEGRAM'
    ("004", 8, 145),  # ✍️ with no 'Forwarded from' before it
])
def test_headers(prefix, index, header_line):
    post = doc(seed(prefix)).posts[index]
    assert (post.header.number if post.header else None) == header_line
    assert post.header not in post.lines


def test_media_placeholders_belong_to_the_post_after_forwarded_from():
    post = doc(seed("004")).posts[6]
    assert (post.start_line, post.header.number, post.lines[0].text) == (107, 110, "📍Moscow, December 28, 2023")


@pytest.mark.parametrize("prefix, index, tags", [
    ("001", 0, ("GlobalMajority", "UNCharter", "Crimea")),
    ("001", 5, ("OTD", "Shostakovich", "Victory80")),
    ("001", 6, ("UNGA80", "RussiaUSA")),
    ("001", 10, ("ГАООН80", "РоссияСингапур")),
    ("004", 4, ("CIS", "Moldova", "SouthernCaucasus", "RussiaKyrgyzstan", "MiddleEast", "Ukraine")),
])
def test_hashtags(prefix, index, tags):
    post = doc(seed(prefix)).posts[index]
    assert post.hashtags == tags
    assert not any(ln.text.strip().startswith("#Moldova") for ln in post.lines)  # tag-only lines are dropped


# ---------------------------------------------------------------- documents

@pytest.mark.parametrize("prefix, kind, title, published, evidence", [
    ("000", "article", "Moscow Signals Openness to Dialogue as Lavrov Prepares UN Reform Talks", "2025-09-12",
     "2025-09-12"),
    ("001", "telegram", None, None, None),
    ("002", "article", "‘Door Not Shut’ to Russia-Ukraine Peace Talks – Kremlin", None, None),
    ("003", "article", "Russia proposes date for next talks with Ukraine", "2025-05-29", "Mayıs 29, 2025"),
    ("004", "telegram", None, None, None),
])
def test_document_facts(prefix, kind, title, published, evidence):
    d = doc(seed(prefix))
    assert (d.kind, d.title, d.published, d.published_evidence) == (kind, title, published, evidence)
    assert d.name == seed(prefix) and d.sha256 == hashlib.sha256(d.text.encode("utf-8")).hexdigest()
    assert d.text == (SEEDS / d.name).read_text(encoding="utf-8")
    if evidence:
        assert evidence in d.text


def test_article_body_leaves_out_title_date_and_masthead():
    numbers = {p: [ln.number for ln in doc(seed(p)).posts[0].lines] for p in ("000", "002", "003")}
    assert numbers["000"][0] == 3 and 1 not in numbers["000"]
    assert numbers["002"][0] == 5  # 'Support The Moscow Times!' and the title are not body
    assert not {1, 3, 4, 5} & set(numbers["003"])  # title, date line, counters, repeated title
    assert doc(seed("000")).posts[0].header.text == doc(seed("000")).title


def test_language_needs_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    readers._detector.cache_clear()
    assert [p.language for p in read_document(SEEDS / seed("001")).posts] == ["en"] + ["ru"] + ["en"] * 8 + ["ru"]


# ---------------------------------------------------------------- other shapes of input

def test_undoubled_posts_split_at_titles_and_reactions(tmp_path):
    text = ("🎙 Foreign Minister Sergey Lavrov's remarks (Moscow, May 1, 2026)\n"
            "We will keep working with our partners.\n"
            "Read in full\n"
            "🇷🇺🇨🇳 On May 2, the Ministers spoke over the phone.\n"
            "They discussed bilateral trade.\n"
            "❤3\n"
            "📢 A notice for citizens abroad\n"
            "Please carry your passport.\n")
    path = tmp_path / "dump.txt"
    path.write_text(text, encoding="utf-8")
    d = read_document(path)
    assert d.kind == "telegram"
    assert [(p.start_line, p.end_line, p.dup_start_line) for p in d.posts] == [(1, 3, None), (4, 6, None), (7, 8, None)]
    assert [p.header.number if p.header else None for p in d.posts] == [1, None, 7]


def test_crlf_and_utf8_bom(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbfSome headline\r\n\r\nPeskov said talks were possible.\r\n")
    d = read_document(path)
    assert d.text == "Some headline\n\nPeskov said talks were possible.\n"
    assert (d.kind, d.title, d.posts[0].lines[0].number) == ("article", "Some headline", 3)


def test_utf16_with_bom(tmp_path):
    path = tmp_path / "u16.txt"
    path.write_bytes("Заголовок статьи\n\nПесков заявил, что переговоры возможны.\n".encode("utf-16"))
    d = read_document(path)
    assert d.title == "Заголовок статьи" and d.posts[0].language == "ru"


def test_cp1251_russian(tmp_path):
    path = tmp_path / "cp.txt"
    path.write_bytes("Важная информация\n\nНапоминаем, что в Сингапуре действуют строгие законы.\n".encode("cp1251"))
    d = read_document(path)
    assert d.posts[0].lines[0].text == "Напоминаем, что в Сингапуре действуют строгие законы."


def one_line_error(path) -> InputError:
    with pytest.raises(InputError) as info:
        read_document(path)
    assert "\n" not in str(info.value) and str(info.value).startswith(str(path))
    return info.value


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"  \n\n\t\n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("Un café crème, s'il vous plaît.\n".encode("latin-1"), "not UTF-8"),
])
def test_unreadable_content(tmp_path, data, reason):
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    assert reason in one_line_error(path).reason


def test_missing_path_and_directory(tmp_path):
    assert "no such file" in one_line_error(tmp_path / "nope.txt").reason
    assert "directory" in one_line_error(tmp_path).reason


def test_iter_files_walks_folders_sorted_and_skips_hidden(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for rel in ("b/2.txt", "a.txt", ".hidden.txt", ".git/x.txt", "b/1.txt"):
        (tmp_path / rel).write_text("x", encoding="utf-8")
    (tmp_path / "b" / "loop").symlink_to(tmp_path, target_is_directory=True)
    got = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])]
    assert got == ["a.txt", "b/1.txt", "b/2.txt"]
    assert list(iter_files([tmp_path / "a.txt", tmp_path / "missing"])) == [tmp_path / "a.txt", tmp_path / "missing"]


def test_iter_files_on_the_seeds_folder():
    assert [p.name for p in iter_files([SEEDS])] == sorted(p.name for p in SEEDS.iterdir())
