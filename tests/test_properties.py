"""Property-based tests: the reader and the extractor on random text.

The text is a random mix of real fragments of the seeds, quotation marks,
speaker names and aliases from ontology/speakers.ttl, reporting verbs from
ontology/lexicon.ttl, dates (impossible ones too), emoji, Telegram chrome and
control characters.  Whatever comes in: no exception but a one-line
InputError, every claim's words are its post's text at its offsets, and every
document graph conforms to the shapes.

Under CI (``CI`` set) the examples are derandomized, so that a run is
repeatable; elsewhere each run tries new ones.  Every bug found is pinned by a
case in ``test_regressions`` (or a test of its own below it).
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.errors import InputError
from kb.extract import extract_claims
from kb.lexicon import load_lexicon
from kb.rdf import document_graph
from kb.readers import read_document
from kb.validate import validate_graph

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

settings.register_profile("kb", deadline=None, database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("kb-ci", parent=settings.get_profile("kb"), derandomize=True)
PROFILE = "kb-ci" if os.environ.get("CI") else "kb"


def _seed_fragments() -> list[str]:
    """Lines of the seeds, and pieces of them cut at spaces and punctuation."""
    out = []
    for path in sorted(SEEDS.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line.strip():
                out.append(line)
                out.extend(p for p in re.split(r"(?<=[,.;:!?])\s+", line) if len(p) > 3)
    return sorted(set(out))


LEXICON = load_lexicon()
FRAGMENTS = _seed_fragments()
NAMES = sorted({n for sp in LEXICON.speakers.values() for n in (sp.name, *sp.aliases, *sp.roles)})
VERBS = sorted({v.form for v in LEXICON.verbs})
QUOTES = list("“”«»\"'‘’„")
EMOJI = ["🎙", "📢", "💬", "✍️", "🔥", "❤3", "👍 12", "🇷🇺", "🤝", "📍", "😀", "⚡️", "\u200d", "\ufe0f"]
CHROME = ["Forwarded from Russian MFA 🇷🇺", "Read in full", "📖 Read in full", "VIEW IN TELEGRAM", "Media is too big",
          "#UNGA80", "<...>", "***", "Question:", "💬 Sergey Lavrov:", "Sergey Lavrov:", "🔹 Russian Defence Ministry"]
CONTROL = ["\t", "\r", "\r\n", "\x0b", "\x0c", "\x07", "\x1b", "\x7f", "\u2028", "\u2029", "\u200b", "\ufeff", "\xa0"]
DATES = ["2025-05-29", "2025-02-30", "2031-06-03", "0000-00-00", "May 29, 2025", "February 30, 2025", "29 мая 2025 года",
         "30 февраля 2025", "on Wednesday", "last Monday", "In February", "в сентябре", "September 17", "9999-12-31",
         "date 2025-05-29", "Mayıs 29, 2025 - 20:36", "MOSCOW, June 3, 2025 (Reuters) - "]
WORDS = ["said", "that", "the", "minister", "he", "she", "they", "according to", "told RIA Novosti", "TASS reports",
         "the Parties", "the Kremlin", ",", ".", ":", "and", "who", "also", "on UN reform", "New START"]

pieces = st.one_of(
    st.sampled_from(FRAGMENTS), st.sampled_from(NAMES), st.sampled_from(VERBS), st.sampled_from(QUOTES),
    st.sampled_from(EMOJI), st.sampled_from(CHROME), st.sampled_from(CONTROL), st.sampled_from(DATES),
    st.sampled_from(WORDS), st.text(max_size=8),
)
separators = st.sampled_from([" ", " ", " ", "", "\n", "\n\n", ", ", ". "])
texts = st.lists(st.tuples(pieces, separators), min_size=1, max_size=40).map(
    lambda parts: "".join(p + s for p, s in parts))


def check(text: str, validate: bool) -> None:
    """The invariants, on ``text`` written as UTF-8 and read back as `kb ingest` reads it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.txt"
        path.write_text(text, encoding="utf-8", newline="")
        try:
            doc = read_document(path)
        except InputError as exc:  # only what a user can act on, in one line
            assert "\n" not in str(exc) and str(exc).startswith(f"{path}: ")
            assert "empty" in exc.reason or "binary" in exc.reason, exc.reason
            return
    assert doc.text == text.replace("\r\n", "\n").removeprefix("\ufeff")
    for post in doc.posts:
        for line in ([post.header] if post.header else []) + list(post.lines):
            assert doc.text[line.start:line.end] == line.text
    claims = extract_claims(doc, LEXICON)
    for c in claims:
        post = doc.posts[c.post_index]
        assert c.words and doc.text[c.start:c.end] == c.words
        assert post.start <= c.start < c.end <= post.end
        assert c.words == c.words.strip()
        if c.date:
            assert re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", c.date.value), c.date
    if validate:
        assert validate_graph(document_graph(doc, claims)) == []


@settings(settings.get_profile(PROFILE), max_examples=150)
@given(texts)
def test_reader_and_extractor_invariants(text):
    check(text, validate=False)


@settings(settings.get_profile(PROFILE), max_examples=20)
@given(texts)
def test_every_graph_conforms(text):
    check(text, validate=True)


@settings(settings.get_profile(PROFILE), max_examples=30)
@given(st.lists(st.sampled_from(FRAGMENTS + CHROME), min_size=2, max_size=12),
       st.integers(min_value=1, max_value=3))
def test_dumps_with_repeated_posts(lines, times):
    """A dump-like text whose posts are printed twice (as Telegram exports do), and then again."""
    body = "\n".join(lines)
    check("\n".join([f"{body}\n{body}\n❤3"] * times) + "\n", validate=False)


# ---------------------------------------------------------------- regressions

@pytest.mark.parametrize("text", [
    # found by hypothesis: a clause ending in ', \t,' kept its tab ('positions, \t')
    "Lavrov accused the UN Secretariat of aligning too closely with Western positions, \t, ",
    "“We are ready to talk, \t”, Peskov said.",
    "“ \tWe are ready to talk,” Peskov said.",
    # found while timing long lines: a run of spaces in a head line made the date-line pattern cubic
    "x" + " " * 3000 + "y said that z\n",
    # and a name repeated thousands of times: its title words were looked for over the whole line
    "Lavrov " * 2000 + "\n",
])
def test_regressions(text):
    check(text, validate=True)


def test_an_everyday_word_is_no_month():
    """Found by random filler text: 'in met' was read as June (a month in another language)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "met.txt"
        path.write_text("date 2025-05-29 Title\n\nLavrov said in met that the talks were useful.\n"
                        "The delegations met 12 times, Peskov said.\n", encoding="utf-8")
        doc = read_document(path)
    claims = extract_claims(doc, LEXICON)
    assert [(c.speaker.name, c.date.value, c.date.method) for c in claims] == [
        ("Sergey Lavrov", "2025-05-29", "published"), ("Dmitry Peskov", "2025-05-29", "published")]
