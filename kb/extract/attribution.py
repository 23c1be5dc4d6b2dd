"""Attribution in running text: which words belong to whom, and how we know.

A speaker (a name, a pronoun, a role, the participants of a readout)
followed by a reporting verb from ontology/lexicon.ttl, quotations with the
attribution before or after them, 'according to X, …', a clause before
'…, the Kremlin said'.  Each rule yields ``Found`` records: offsets of the
words, the speaker, the cue, and the part of the sentence that framed them
(for dating).  Statement blocks (titles, labels, signatures) are in blocks.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..lexicon import Lexicon, Verb
from ..model import SpeakerRef
from .mentions import Mention, Resolver, find_names, find_sides
from .text import quotes, strip_span

_PARTICIPLE_TAIL = re.compile(r"^\s*,\s*(?P<verb>\w+ing)\s+(?:that\s+)?")
_UNKNOWN_ORG = re.compile(
    r"(?:(?<=\s)|^)(?P<np>(?:the\s+)?(?:[A-Z][\w’'\-]+\s+){0,4}"
    r"(?:Ministry|Institute|Office|Council|Committee|Agency|Service|Centre|Center|Foundation|Commission|Embassy|"
    r"[Dd]elegation|Mission|Department|Organi[sz]ation|Union|Bank|Court|Parliament|Duma|Government|Secretariat|"
    r"Administration|Staff|Command)"
    r"(?:\s+(?:of|for|on)\s+(?:the\s+)?(?:[A-Z][\w’'\-]+\s*){1,5})?)\s*$"
)
_UNKNOWN_PERSON = re.compile(r"(?:(?<=\s)|^)(?P<np>[A-Z][a-z’'\-]+(?:\s+[A-Z][a-z’'\-]+){1,2})\s*$")
_LEAD_QUOTE = re.compile(r"[^\w“«\"]*([“«\"])")
_SPACE = re.compile(r"\s")
# How far before a verb or a subject the rules look for the words that go with
# it (a subject's noun phrase, a verb before an inverted subject, a connective):
# far more than those words take, and it keeps each look bounded on a long line.
NEAR = 300


def _near_start(text: str, floor: int, end: int) -> int:
    """Where to start looking back from ``end``: ``floor``, or a word start at most NEAR before."""
    if end - floor <= NEAR:
        return floor
    m = _SPACE.search(text, end - NEAR, end)
    return m.end() if m else end - NEAR


def _rstrip_at(text: str, start: int, end: int, chars: str = "") -> int:
    """``end`` moved back over whitespace and ``chars``."""
    while end > start and (text[end - 1].isspace() or text[end - 1] in chars):
        end -= 1
    return end


@dataclass
class Found:
    start: int
    end: int
    speaker: SpeakerRef
    kind: str  # 'direct' | 'indirect'
    cue: str
    cue_type: str
    framing: str = ""  # the words around the claim that may date it
    line_start: int = 0  # start of the paragraph the claim is in
    co_speakers: tuple[SpeakerRef, ...] = ()
    reported_by: str | None = None
    resolved_by: str = "name"
    in_block: bool = False


def _patterns(lexicon: Lexicon):
    """The lexicon's verbs, adverbs and outlets as regular expressions, compiled once."""
    cached = lexicon._cache.get("attribution")
    if cached:
        return cached
    adverbs = "|".join(re.escape(a) for a in lexicon.adverbs)
    verbs = "|".join(re.escape(v.form) for v in lexicon.verbs)
    outlets = "|".join(re.escape(o) for o in lexicon.outlets)
    after_subject = re.compile(
        rf"(?:\s*,\s*(?:who|which|speaking|writing|for (?:his|her|its|their) part|in turn|meanwhile|however|in (?:his|her|a) [a-z]+)\b[^,]{{0,100}},)?\s*(?:(?:{adverbs})\s+){{0,3}}(?P<verb>{verbs})(?![\w\-])",
        re.IGNORECASE,
    )
    before_subject = re.compile(rf"(?P<verb>{verbs})\s+$", re.IGNORECASE)
    verb_anywhere = re.compile(rf"\s(?P<verb>{verbs})(?![\w\-])")
    reporter_tail = re.compile(
        rf",?\s*(?:(?P<a>(?:the\s+)?(?:[\w\-]+\s+){{0,3}}?(?:{outlets})(?:\s+[\w\-]+){{0,3}}?)\s+(?:reports?|reported)"
        rf"|according to\s+(?P<b>(?:the\s+)?(?:{outlets})[^,.;]*)"
        rf"|as quoted by\s+(?P<c>[^,.;]+)|as cited by\s+(?P<d>[^,.;]+)"
        rf"|according to\s+(?P<e>(?:a|an|the|his|her|its)\s+(?:[\w\-]+\s+){{0,2}}?(?:spokesperson|spokesman|spokeswoman|statement|source|official|press service|readout|transcript)s?))\s*[.!]?\s*$",
    )
    lexicon._cache["attribution"] = (after_subject, before_subject, verb_anywhere, reporter_tail)
    return lexicon._cache["attribution"]


# ---------------------------------------------------------------- running text

@dataclass
class Cue:
    subject: Mention
    verb: Verb | None
    verb_start: int
    verb_end: int
    form: str  # 'verb' | 'according-to' | 'readout-passive'


class SentenceRules:
    """Reporting-verb, quotation and readout rules over one post's running text."""

    def __init__(self, text: str, lexicon: Lexicon, resolver: Resolver, readout: tuple[SpeakerRef, ...] = ()):
        self.text = text
        self.lexicon = lexicon
        self.resolver = resolver
        self.readout = readout  # participants, first is the host; empty when the post is no readout
        self._after_subject, self._before_subject, self._verb_anywhere, self._reporter_tail = _patterns(lexicon)
        self._verb_chars = max((len(v.form) for v in lexicon.verbs), default=0)

    # ---- subjects
    def subjects(self, a: int, b: int) -> list[Mention]:
        text, lex = self.text, self.lexicon
        names = find_names(text, a, b, lex)
        subs: list[Mention] = []
        i = 0
        while i < len(names):
            m = names[i]
            # 'Sergey Lavrov and Wang Yi touched on …': a joint subject
            if i + 1 < len(names) and re.fullmatch(r"\s+and\s+", text[m.end:names[i + 1].name_start]):
                n = names[i + 1]
                subs.append(Mention(m.start, n.end, m.name_start, m.speaker, "joint", (n.speaker,)))
                i += 2
                continue
            subs.append(m)
            i += 1
        refs = self.resolver.references(text, a, b)
        # 'the Kremlin official' is a person, not the organisation named inside it
        subs = [m for m in subs if not (m.speaker.kind == "Organization" and any(
            r.how == "role" and r.start <= m.start and m.end <= r.end for r in refs))]
        spans = [(m.start, m.end) for m in subs]
        for r in refs + find_sides(text, a, b, lex):
            if not any(s <= r.start < e or s < r.end <= e for s, e in spans):
                subs.append(r)
                spans.append((r.start, r.end))
        if self.readout:
            host, co = self.readout[0], self.readout[1:]
            for form in lex.collective:
                for m in re.finditer(rf"(?<!\w){re.escape(form)}(?!\w)", text[a:b], re.IGNORECASE if form[0].islower() else 0):
                    s = a + m.start()
                    if not any(x <= s < y for x, y in spans):
                        subs.append(Mention(s, a + m.end(), s, host, "collective", co))
                        spans.append((s, a + m.end()))
        subs.sort(key=lambda m: m.start)
        return subs

    def cues(self, a: int, b: int) -> list[Cue]:
        text = self.text
        out: list[Cue] = []
        subs = self.subjects(a, b)
        self.resolver.saw(subs)
        for s in subs:
            m = self._after_subject.match(text, s.end, b)
            if m:
                verb = self.lexicon.verb(m["verb"])
                out.append(Cue(s, verb, m.start("verb"), m.end("verb"), "verb"))
                continue
            before = text[max(a, s.start - 30):s.start]
            if re.search(r"(?i)according to\s+$", before):
                out.append(Cue(s, None, s.start - len(re.search(r"(?i)according to\s+$", before).group(0)), s.start, "according-to"))
                continue
            # the verb ends where the spaces before the subject begin
            verb_end = _rstrip_at(text, a, s.start)
            mb = self._before_subject.search(text, max(a, verb_end - self._verb_chars), s.start) if verb_end < s.start else None
            if mb and re.search(r"[”»\"],?\s*$", text[_near_start(text, a, mb.start()):mb.start()]):
                out.append(Cue(s, self.lexicon.verb(mb["verb"]), mb.start(), mb.end(), "inverted"))
        # an unknown organisation or person before a reporting verb
        if not out:
            out.extend(self._unknown_subject_cues(a, b))
        if self.readout:
            for form in self.lexicon.readout_passive:
                if text.startswith(form, a):
                    host = self.readout[0]
                    out.append(Cue(Mention(a, a, a, host, "collective", self.readout[1:]), None, a, a, "readout-passive"))
        out.sort(key=lambda c: c.subject.start)
        for c in out:
            self.resolver.spoke(c.subject)
        return out

    def _unknown_subject_cues(self, a: int, b: int) -> list[Cue]:
        text = self.text
        out = []
        for m in self._verb_anywhere.finditer(text[a:b]):
            vstart = a + m.start("verb")
            head_start = _near_start(text, a, a + m.start())
            head = text[head_start:a + m.start()]
            for rx, kind in ((_UNKNOWN_ORG, "Organization"), (_UNKNOWN_PERSON, "Person")):
                um = rx.search(head)
                if not um:
                    continue
                np = um["np"].strip()
                bare = re.sub(r"^(?i:the)\s+", "", np)
                # a person's name takes no article: 'The Foreign Minister' is a role, not a name
                if kind == "Person" and (bare != np or bare.split()[0] in ("This", "These", "Those", "Our", "Their", "In", "On")):
                    continue
                if self.lexicon.is_outlet(bare):
                    continue
                s = head_start + um.start("np")
                sp = SpeakerRef(name=bare[0].upper() + bare[1:], key=None, kind=kind)
                mention = Mention(s, s + len(um["np"].rstrip()), s, sp, "unknown")
                self.resolver.saw([mention])
                out.append(Cue(mention, self.lexicon.verb(m["verb"]), vstart, vstart + len(m["verb"]), "verb"))
                break
            if out:
                break
        return out

    # ---- claims of one sentence
    def claims(self, a: int, b: int, line_start: int) -> list[Found]:
        text = self.text
        cues = self.cues(a, b)
        out: list[Found] = []
        qs = quotes(text, a, b)
        for i, cue in enumerate(cues):
            nxt = cues[i + 1] if i + 1 < len(cues) else None
            stop = self._clause_stop(nxt.subject.start, a) if nxt else b
            sp, co = cue.subject.speaker, cue.subject.co
            how = cue.subject.how
            ctype = "readout" if how in ("collective",) or cue.form == "readout-passive" else "verb"
            base = dict(speaker=sp, co_speakers=co, resolved_by=how, line_start=line_start)
            # 1. a quotation before the attribution: '“…,” Peskov said'
            lead = _LEAD_QUOTE.match(text, a, cue.subject.start)
            q0 = next((q for q in qs if q[0] >= a and q[1] <= cue.subject.start), None) if lead else None
            if lead and q0 and q0[0] == lead.start(1) and re.fullmatch(r"[,.]?\s*(?:\w+\s+){0,1}", text[q0[1]:min(cue.subject.start, cue.verb_start)]):
                s, e = self._inner(q0)
                out.append(Found(s, e, kind="direct", cue=self._cue_words(cue), cue_type="verb",
                                 framing=text[q0[1]:b], **base))
                tail = text[cue.verb_end:b]
                rep = self._reporter(cue, b)
                pm = _PARTICIPLE_TAIL.match(self._strip_reporter_object(cue, tail))
                if pm:
                    off = cue.verb_end + (len(tail) - len(self._strip_reporter_object(cue, tail))) + pm.end()
                    f = self._clause(off, b, qs, base, f"{pm['verb']}", "verb", framing=text[a:q0[0]])
                    if f:
                        out.append(f)
                if rep:
                    for f in out:
                        f.reported_by = f.reported_by or rep
                continue
            if cue.form == "inverted":
                continue
            # 2. 'according to X, …'
            if cue.form == "according-to":
                if self.lexicon.is_outlet(text[cue.subject.start:cue.subject.end]):
                    continue
                comma = text.find(",", cue.subject.end, b)
                if comma == -1:
                    continue
                f = self._clause(comma + 1, stop, qs, base, "according to", "according-to",
                                 framing=text[a:comma + 1])
                if f:
                    out.append(f)
                continue
            # 3. readout passive: 'Рассмотрены задачи …'
            if cue.form == "readout-passive":
                s, e = strip_span(text, a, b)
                e = e - 1 if text[e - 1] in ".!" else e
                out.append(Found(s, e, kind="indirect", cue=text[a:text.find(" ", a, b)], cue_type="readout", **base))
                continue
            # 4. a clause before the attribution: '…, the Kremlin said Thursday.'
            before = text[a:cue.subject.start]
            if before.rstrip().endswith(",") and cue.verb and cue.verb.complement == "clause" and not quotes(text, a, cue.subject.start):
                rest = text[cue.verb_end:b]
                if re.fullmatch(r"[\s\w’']{0,30}?(?:,.*)?[.!]?\s*", rest) and not re.match(r"\s*(that|:)", rest):
                    s, e = strip_span(text, a, a + len(before.rstrip().rstrip(",")))
                    if e > s:
                        out.append(Found(s, e, kind="indirect", cue=self._cue_words(cue), cue_type="verb",
                                         framing=text[cue.subject.start:b], **base))
                    continue
            # 5. the subject, the verb, then the words: 'Peskov said that …', 'Lavrov accused …'
            f = self._after_verb(cue, stop, qs, base, ctype, a)
            if f:
                out.append(f)
        return out

    def _clause_stop(self, next_subject_start: int, floor: int) -> int:
        """Where a clause ends when another attribution follows in the same sentence."""
        stop = next_subject_start
        near = _near_start(self.text, floor, stop)
        head = self.text[near:stop]
        for c in self.lexicon.connectives:
            m = re.search(rf"[\s,]+{re.escape(c)}\s*$", head)
            if m:
                return near + m.start()
        return _rstrip_at(self.text, floor, stop, ",;")

    def _cue_words(self, cue: Cue) -> str:
        return self.text[cue.verb_start:cue.verb_end] if cue.verb else "according to"

    def _strip_reporter_object(self, cue: Cue, tail: str) -> str:
        """After 'told', drop its object ('told the state-run RIA Novosti news agency')."""
        if cue.verb and cue.verb.lemma == "tell":
            m = re.match(r"^\s+[^,.;:“”\"«»]*?(?=\s+that\b|\s*[,.;:]|$)", tail)
            if m:
                return tail[m.end():]
        return tail

    def _reporter(self, cue: Cue, b: int) -> str | None:
        if cue.verb and cue.verb.lemma == "tell":
            m = re.match(r"^\s+(?:the\s+)?([^,.;:“”\"«»]*?)(?=\s+that\b|\s*[,.;:]|$)", self.text[cue.verb_end:b])
            # 'told RIA Novosti' names who reports it; 'told reporters' only the audience
            if m and m.group(1).strip() and self.lexicon.is_outlet(m.group(1)):
                return m.group(1).strip()
        rm = self._reporter_tail.search(self.text[cue.verb_end:b])
        if rm:
            return next(g for g in rm.groups() if g).strip()
        return None

    def _after_verb(self, cue: Cue, stop: int, qs, base: dict, ctype: str, a: int) -> Found | None:
        text = self.text
        pos = cue.verb_end
        rep = self._reporter(cue, stop)
        tail = text[pos:stop]
        stripped = self._strip_reporter_object(cue, tail)
        pos += len(tail) - len(stripped)
        m = re.match(r"^\s*(?:,\s*)?(?:that\b|:)\s*", text[pos:stop])
        has_that = bool(m)
        if m:
            pos += m.end()
        else:
            # a time word right after the verb: 'said Thursday that'
            m2 = re.match(r"^\s+(?:on\s+)?(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|today|yesterday)\b(?:\s*,?\s*that\b)?\s*", text[pos:stop], re.I)
            if m2:
                pos += m2.end()
                has_that = "that" in m2.group(0)
        framing = text[a:pos]  # includes a time word after the verb: 'said on Tuesday that'
        if cue.verb and cue.verb.complement == "object" and not has_that:
            f = self._clause(cue.verb_start, stop, qs, base, self._cue_words(cue), ctype, framing=framing, reporter=rep)
            if f:
                f.kind = "indirect"
            return f
        return self._clause(pos, stop, qs, base, self._cue_words(cue), ctype, framing=framing, reporter=rep)

    def _clause(self, s: int, e: int, qs, base: dict, cue: str, ctype: str, framing: str = "", reporter: str | None = None) -> Found | None:
        text = self.text
        rm = self._reporter_tail.search(text, s, e)
        if rm:
            reporter = reporter or next(g for g in rm.groups() if g).strip()
            e = rm.start()
        s, e = strip_span(text, s, e)
        e = _rstrip_at(text, s, e, ".,;:")  # 'positions, \t,' ends at 'positions'
        if e - s < 3 or len(re.findall(r"\w+", text[s:e])) < 2:
            return None
        # the whole clause is a quotation: direct speech
        inner = [q for q in qs if q[0] >= s and q[1] <= e + 1]
        outside = text[s:e]
        for q in inner:
            outside = outside.replace(text[q[0]:q[1]], " ")
        # a quotation with at most an article outside it: 'the “discussions are …”'
        if inner and len(re.findall(r"\w+", outside)) <= 1 and len(inner) == 1:
            qs_, qe_ = self._inner(inner[0])
            return Found(qs_, qe_, kind="direct", cue=cue, cue_type=ctype, framing=framing, reported_by=reporter, **base)
        return Found(s, e, kind="indirect", cue=cue, cue_type=ctype, framing=framing, reported_by=reporter, **base)

    def _inner(self, q: tuple[int, int]) -> tuple[int, int]:
        """The words inside a quotation: a trailing comma dropped, a final period kept."""
        s, e = q[0] + 1, q[1] - 1
        while s < e and self.text[s].isspace():
            s += 1
        return s, _rstrip_at(self.text, s, e, ",")

