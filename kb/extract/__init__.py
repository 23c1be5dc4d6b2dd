"""Extraction: from a Document's posts to claims.

``extract_claims(doc)`` is a pure function of the document, the lexicon in
ontology/ and the day it runs: who said what (attribution.py), on which
topics (topics.py), on what date (dates.py).  Every claim's words are an
exact substring of the document: ``doc.text[c.start:c.end] == c.words``.
No statement is dated after the day it is read, nor after the date of the
document or post that reports it: such a date is not taken (the claim has
the post's date, or none).  Every rule looks back a bounded distance, so
that time grows linearly with the text, whatever the text.
"""
from __future__ import annotations

import bisect
import datetime as dt
import re

from ..lexicon import Lexicon, load_lexicon
from ..readers import DATELINE
from ..model import Claim, DateFound, Document, Post, SpeakerRef
from . import dates as d
from .attribution import Found, SentenceRules
from .blocks import header_speaker, is_formality, is_question, is_structural, label_speaker, signature_speaker
from .mentions import Resolver, find_names
from .text import sentences, strip_span
from .topics import assign, explicit_topics, tracked_topics

CONFIDENCE = {"label": 0.95, "header": 0.9, "signature": 0.85, "verb": 0.8, "according-to": 0.8, "readout": 0.7}
# How far back from a claim the paragraph is read for its lead-in and for a
# date that opens it: far more than a real paragraph, and it keeps the work
# per claim bounded on a paragraph of megabytes.
LOOKBACK = 1000


def extract_claims(doc: Document, lexicon: Lexicon | None = None, today: dt.date | None = None) -> list[Claim]:
    """The claims of every post; ``today`` (default: the day it runs) is the latest date a claim may have."""
    lexicon = lexicon or load_lexicon()
    latest = (today or dt.date.today()).isoformat()
    post_dates = date_posts(doc, latest)
    claims: list[Claim] = []
    for post, pdate in zip(doc.posts, post_dates):
        claims.extend(post_claims(doc, post, pdate, lexicon, latest))
    return claims


def after(value: str, latest: str | None) -> bool:
    """An ISO date (or month, or year) later than ``latest`` (an ISO date): not yet said."""
    return latest is not None and value > latest[:len(value)]


# ---------------------------------------------------------------- dates of posts

def _stated_date(doc: Document, post: Post):
    """(DateFound | None, (month, day) | None): the first date in the title or first line."""
    places = ([post.header] if post.header else []) + list(post.lines[:1])
    for line in places:
        hit = d.first_date(doc.text, line.start, line.end)
        if hit:
            s, e, y, mo, day = hit
            words = doc.text[s:e]
            if y:
                return d.DateFound(d.iso(y, mo, day), "stated", words), None
            return None, (mo, day, words)
    return None, None


def date_posts(doc: Document, latest: str | None = None) -> list[DateFound | None]:
    """The date of each post: stated, or with its year inferred from its neighbours.

    Channel dumps run in time order; a post that gives only day and month
    takes the year that fits between the latest earlier date and the earliest
    later one.  A post with no date of its own gets none, and so does a post
    whose date is later than ``latest`` (the day of reading): that date is a
    slip of the pen or an announcement, not the day the post was written.
    """
    if doc.kind == "article":
        if doc.published:
            return [DateFound(doc.published, "published", doc.published_evidence or "")] * len(doc.posts)
        return [None] * len(doc.posts)
    stated = [_stated_date(doc, p) for p in doc.posts]
    stated = [(None, partial) if full and after(full.value, latest) else (full, partial) for full, partial in stated]
    out: list[DateFound | None] = []
    for i, (full, partial) in enumerate(stated):
        if full:
            out.append(full)
            continue
        if partial:
            mo, day, words = partial
            before = max((x.value for x in out if x and len(x.value) == 10), default=None)
            later = [f.value for f, _ in stated[i + 1:] if f and len(f.value) == 10]
            later_date = min(later, default=None)
            if before and later_date and later_date < before:
                later_date = None
            y = d.infer_year(mo, day, before, later_date)
            value = d.iso(y, mo, day) if y else None
            out.append(DateFound(value, "inferred", f"{words} (year from neighbouring posts)")
                       if value and not after(value, latest) else None)
            continue
        out.append(None)
    return out


# ---------------------------------------------------------------- claims of a post

def _readout_participants(doc: Document, post: Post, lexicon: Lexicon) -> tuple[SpeakerRef, ...]:
    """A meeting readout names two or more people in its first line, or one
    person and a meeting ('held talks', 'встреча'): the participants, host first."""
    first = post.header or (post.lines[0] if post.lines else None)
    if first is None:
        return ()
    people: list[SpeakerRef] = []
    for m in find_names(doc.text, first.start, first.end, lexicon):
        if m.speaker.kind == "Person" and m.speaker not in people:
            people.append(m.speaker)
    low = first.text.lower()
    meeting = any(w.lower() in low for w in lexicon.meeting_words)
    return tuple(people) if len(people) >= 2 or (people and meeting) else ()


def _paragraphs(doc: Document, post: Post):
    """Body lines, a line broken mid-sentence joined with the next one."""
    lines = list(post.lines)
    i = 0
    while i < len(lines):
        start, end = lines[i].start, lines[i].end
        j = i
        while j + 1 < len(lines) and re.match(r"[,;:\w]", doc.text[end - 1]) \
                and re.match(r"\s*[a-zа-яё]", lines[j + 1].text):
            j += 1
            end = lines[j].end
        yield i, j, start, end
        i = j + 1


def _block_claims(doc: Document, s: int, e: int, speaker: SpeakerRef, cue: str, cue_type: str,
                  lexicon: Lexicon) -> list[Found]:
    """One claim per paragraph, split where a tracked topic starts or stops."""
    text = doc.text
    if is_structural(text[s:e]):
        return []
    s, e = strip_span(text, s, e)
    if e <= s or is_structural(text[s:e]) or is_formality(text[s:e], lexicon):
        return []
    groups: list[list[int]] = []
    last: frozenset[str] | None = None
    for a, b in sentences(text, s, e):
        t = tracked_topics(text[a:b], lexicon)
        # a sentence that refers back to the topic before it ('this treaty') stays with it
        if groups and not t and last and _continues(text[a:b], last, lexicon):
            t = last
        if groups and t == last:
            groups[-1][1] = b
        else:
            groups.append([a, b])
            last = t
    if len(groups) > 1 and len({tracked_topics(text[a:b], lexicon) for a, b in groups}) == 1:
        groups = [[s, e]]
    out = []
    for a, b in groups:
        a, b = strip_span(text, a, b)
        if b > a and not is_structural(text[a:b]):
            out.append(Found(a, b, speaker, "direct", cue, cue_type, in_block=True, line_start=s))
    return out


def _continues(sentence: str, topics: frozenset[str], lexicon: Lexicon) -> bool:
    return any(p.search(sentence) for k in topics for p in lexicon.topics[k].context)


def post_claims(doc: Document, post: Post, pdate: DateFound | None, lexicon: Lexicon,
                latest: str | None = None) -> list[Claim]:
    text = doc.text
    resolver = Resolver(lexicon)
    if post.header:
        resolver.saw(find_names(text, post.header.start, post.header.end, lexicon))
    rules = SentenceRules(text, lexicon, resolver, readout=_readout_participants(doc, post, lexicon))
    block = header_speaker(post.header.text, lexicon) if (post.header and doc.kind == "telegram") else None
    speaker, cue, cue_type = (block[0], post.header.text.strip(), "header") if block else (None, "", "")
    signed_until, signer = -1, None
    for i, line in enumerate(post.lines):
        sig = signature_speaker(line.text, lexicon)
        if sig:
            signed_until, signer = i, sig
    found: list[Found] = []
    for i, j, start, end in _paragraphs(doc, post):
        line = post.lines[i]
        if i == signed_until:
            continue
        if i < signed_until:
            found += _block_claims(doc, start, end, signer, post.lines[signed_until].text.strip(), "signature", lexicon)
            continue
        if is_question(line.text):
            speaker = None  # the answer's label names the next speaker
            continue
        lab = label_speaker(line.text, lexicon)
        words_start = start
        if lab:
            who, off = lab
            words_start = line.start + off
            if who:
                speaker, cue, cue_type = who, line.text[:off].strip(), "label"
        if speaker:
            found += _block_claims(doc, words_start, end, speaker, cue, cue_type, lexicon)
            continue
        for a, b in sentences(text, start, end):
            found += rules.claims(a, b, start)
    established = _established(doc, post, lexicon)
    anchor = doc.published or (pdate.value if pdate else None)
    # a statement is made before it is reported: no later than the document's or the post's date
    bound = anchor if anchor and not after(anchor, latest) else latest
    own = {id(f): _own_date(doc, f, anchor, bound) for f in found if not f.in_block}  # each sentence dated once
    dated = _dated_by_speaker(found, own)
    return [_claim(doc, post, f, pdate, own, dated, established, lexicon) for f in _dedupe(found)]


def _dedupe(found: list[Found]) -> list[Found]:
    seen, out = set(), []
    for f in sorted(found, key=lambda f: (f.start, f.end)):
        if (f.start, f.end) in seen or f.end <= f.start:
            continue
        seen.add((f.start, f.end))
        out.append(f)
    return out


def _dated_by_speaker(found: list[Found], own: dict[int, DateFound | None]) -> dict:
    """speaker -> [(start, position in ``found``, date)] of the sentences that have their own date, by start."""
    out: dict = {}
    for n, g in enumerate(found):
        if not g.in_block and own[id(g)]:
            out.setdefault(g.speaker, []).append((g.start, n, own[id(g)]))
    for rows in out.values():
        rows.sort()
    return out


def _claim_date(f: Found, pdate: DateFound | None, own: dict[int, DateFound | None],
                dated: dict) -> DateFound | None:
    """A block's paragraphs take the post's date; a sentence its own words' date,
    else the same speaker's nearest statement in the post that has one, else the post's."""
    if f.in_block:
        return pdate
    if own[id(f)]:
        return own[id(f)]
    rows = dated.get(f.speaker)
    if rows:
        # the nearest; of two as near, the one found first
        i = bisect.bisect_left(rows, (f.start,))
        best = min((abs(r[0] - f.start), r[1], r[2]) for r in
                   _nearest_rows(rows, i, f.start))
        near = best[2]
        return DateFound(near.value, "inferred", f"{near.evidence} (the speaker's statement nearby)")
    return pdate


def _nearest_rows(rows: list, i: int, at: int) -> list:
    """The rows nearest ``at`` on either side of index ``i`` (all of them when several share a start)."""
    out = []
    for step, j in ((-1, i - 1), (1, i)):
        if 0 <= j < len(rows):
            edge = rows[j][0]
            while 0 <= j < len(rows) and rows[j][0] == edge:
                out.append(rows[j])
                j += step
    return out


def _own_date(doc: Document, f: Found, anchor: str | None, bound: str | None = None) -> DateFound | None:
    """The date the sentence's framing gives, unless it is later than ``bound`` (then none)."""
    framing = DATELINE.sub("", f.framing)  # the dateline dates the report, not the statement
    found = d.relative_date(framing, anchor) if framing else None
    # a date that opens the paragraph: 'On July 19, the UNSC held a debate … Vershinin stressed'
    if not found and f.line_start < f.start:
        found = d.relative_date(DATELINE.sub("", doc.text[f.line_start:min(f.start, f.line_start + LOOKBACK)]), anchor)
    return None if found is None or after(found.value, bound) else found


def _established(doc: Document, post: Post, lexicon: Lexicon) -> set[str]:
    """Topics the post names explicitly somewhere: its title or its body."""
    lines = ([post.header] if post.header else []) + list(post.lines)
    return set(explicit_topics("\n".join(ln.text for ln in lines), lexicon))


def _lead_in(doc: Document, f: Found) -> str:
    """The words of the sentence before the claim: 'Commenting on UN reform, the minister said that'."""
    if f.in_block or f.line_start >= f.start:
        return ""
    parts = sentences(doc.text, max(f.line_start, f.start - LOOKBACK), f.start)
    return doc.text[parts[-1][0]:f.start] if parts else ""


def _claim(doc: Document, post: Post, f: Found, pdate: DateFound | None, own: dict[int, DateFound | None],
           dated: dict, established: set[str], lexicon: Lexicon) -> Claim:
    words = doc.text[f.start:f.end]
    confidence = CONFIDENCE.get(f.cue_type, 0.7)
    if f.resolved_by in ("pronoun", "role", "collective", "side"):
        confidence -= 0.1
    if f.speaker.key is None:
        confidence -= 0.1
    return Claim(
        post_index=post.index,
        start=f.start,
        end=f.end,
        words=words,
        speaker=f.speaker,
        kind=f.kind,
        cue=f.cue,
        cue_type=f.cue_type,
        date=_claim_date(f, pdate, own, dated),
        topics=assign(words, established, lexicon, framing=_lead_in(doc, f)),
        co_speakers=f.co_speakers,
        reported_by=f.reported_by or post.forwarded_from,
        language=post.language,
        confidence=round(max(0.1, confidence), 2),
        evidence={"resolved_by": f.resolved_by},
    )
