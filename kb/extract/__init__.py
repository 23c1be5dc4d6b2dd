"""Extraction: from a Document's posts to claims.

``extract_claims(doc)`` is a pure function of the document and the lexicon
in ontology/: who said what (attribution.py), on which topics (topics.py),
on what date (dates.py).  Every claim's words are an exact substring of the
document: ``doc.text[c.start:c.end] == c.words``.
"""
from __future__ import annotations

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


def extract_claims(doc: Document, lexicon: Lexicon | None = None) -> list[Claim]:
    lexicon = lexicon or load_lexicon()
    post_dates = date_posts(doc)
    claims: list[Claim] = []
    for post, pdate in zip(doc.posts, post_dates):
        claims.extend(post_claims(doc, post, pdate, lexicon))
    return claims


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


def date_posts(doc: Document) -> list[DateFound | None]:
    """The date of each post: stated, or with its year inferred from its neighbours.

    Channel dumps run in time order; a post that gives only day and month
    takes the year that fits between the latest earlier date and the earliest
    later one.  A post with no date of its own gets none.
    """
    if doc.kind == "article":
        if doc.published:
            return [DateFound(doc.published, "published", doc.published_evidence or "")] * len(doc.posts)
        return [None] * len(doc.posts)
    stated = [_stated_date(doc, p) for p in doc.posts]
    out: list[DateFound | None] = []
    for i, (full, partial) in enumerate(stated):
        if full:
            out.append(full)
            continue
        if partial:
            mo, day, words = partial
            before = max((x.value for x in out if x and len(x.value) == 10), default=None)
            later = [f.value for f, _ in stated[i + 1:] if f and len(f.value) == 10]
            after = min(later, default=None)
            if before and after and after < before:
                after = None
            y = d.infer_year(mo, day, before, after)
            out.append(DateFound(d.iso(y, mo, day), "inferred", f"{words} (year from neighbouring posts)") if y else None)
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
        while j + 1 < len(lines) and re.search(r"[,;:\w]$", doc.text[start:end]) \
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


def post_claims(doc: Document, post: Post, pdate: DateFound | None, lexicon: Lexicon) -> list[Claim]:
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
    own = {id(f): _own_date(doc, f, anchor) for f in found if not f.in_block}  # each sentence dated once
    return [_claim(doc, post, f, pdate, found, own, established, lexicon) for f in _dedupe(found)]


def _dedupe(found: list[Found]) -> list[Found]:
    seen, out = set(), []
    for f in sorted(found, key=lambda f: (f.start, f.end)):
        if (f.start, f.end) in seen or f.end <= f.start:
            continue
        seen.add((f.start, f.end))
        out.append(f)
    return out


def _claim_date(f: Found, pdate: DateFound | None, found: list[Found],
                own: dict[int, DateFound | None]) -> DateFound | None:
    """A block's paragraphs take the post's date; a sentence its own words' date,
    else the same speaker's nearest statement in the post that has one, else the post's."""
    if f.in_block:
        return pdate
    if own[id(f)]:
        return own[id(f)]
    dated = [(abs(g.start - f.start), g) for g in found
             if g is not f and not g.in_block and g.speaker == f.speaker and own[id(g)]]
    if dated:
        near = own[id(min(dated, key=lambda x: x[0])[1])]
        return DateFound(near.value, "inferred", f"{near.evidence} (the speaker's statement nearby)")
    return pdate


def _own_date(doc: Document, f: Found, anchor: str | None) -> DateFound | None:
    framing = DATELINE.sub("", f.framing)  # the dateline dates the report, not the statement
    found = d.relative_date(framing, anchor) if framing else None
    if found:
        return found
    # a date that opens the paragraph: 'On July 19, the UNSC held a debate … Vershinin stressed'
    if f.line_start < f.start:
        return d.relative_date(DATELINE.sub("", doc.text[f.line_start:f.start]), anchor)
    return None


def _established(doc: Document, post: Post, lexicon: Lexicon) -> set[str]:
    """Topics the post names explicitly somewhere: its title or its body."""
    lines = ([post.header] if post.header else []) + list(post.lines)
    return set(explicit_topics("\n".join(ln.text for ln in lines), lexicon))


def _lead_in(doc: Document, f: Found) -> str:
    """The words of the sentence before the claim: 'Commenting on UN reform, the minister said that'."""
    if f.in_block or f.line_start >= f.start:
        return ""
    parts = sentences(doc.text, f.line_start, f.start)
    return doc.text[parts[-1][0]:f.start] if parts else ""


def _claim(doc: Document, post: Post, f: Found, pdate: DateFound | None, found: list[Found],
           own: dict[int, DateFound | None], established: set[str], lexicon: Lexicon) -> Claim:
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
        date=_claim_date(f, pdate, found, own),
        topics=assign(words, established, lexicon, framing=_lead_in(doc, f)),
        co_speakers=f.co_speakers,
        reported_by=f.reported_by or post.forwarded_from,
        language=post.language,
        confidence=round(max(0.1, confidence), 2),
        evidence={"resolved_by": f.resolved_by},
    )
