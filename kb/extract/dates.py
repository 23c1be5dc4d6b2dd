"""Dates in text: finding them, reading them in any language, resolving them.

A date found in a post may lack its year ('On January 10', '26 сентября');
the year is then inferred from the neighbouring posts, which in a channel
dump follow each other in time.  Relative expressions ('on Wednesday',
'in February') are resolved against the document's own date.  Nothing is
ever made up: when the text does not determine a date, there is none.
"""
from __future__ import annotations

import datetime as dt
import re
import warnings
from functools import lru_cache

from ..model import DateFound

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WORD = r"[^\W\d_]{3,}\.?"
# 'September 17, 2025', 'September 26', '19 September 2025', '26 сентября 2025 года', '2025-09-12'
_CANDIDATES = [
    re.compile(r"\b(?P<iso>(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2}))\b"),
    re.compile(rf"(?<!\w)(?P<mon>{_WORD})\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{{4}}))?(?!\d)"),
    re.compile(rf"(?<!\d)(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon>{_WORD})(?:,?\s+(?P<year>\d{{4}}))?(?!\w)"),
]
_MONTH_ONLY = re.compile(rf"\b(?:in|In|В|в)\s+(?P<mon>{_WORD})(?:\s+(?P<year>\d{{4}}))?\b")
_WEEKDAY = re.compile(
    r"\b(?P<rel>(?:earlier |later )?(?:on |this |last |next )?)(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b",
    re.IGNORECASE,
)


# Everyday English words that name a month in some other language dateparser
# knows ('met' is June in one, 'set' and 'out' September and October in
# Portuguese): in 'the delegations met 12 times' or 'in set terms' they are no month.
NOT_MONTHS = frozenset({"met", "set", "out", "ago", "mar", "die", "man", "sun", "sat", "wed", "may", "jan", "ian"})


@lru_cache(maxsize=4096)
def month_number(word: str) -> int | None:
    """The month a word names, in any language dateparser knows, else None.

    A word in lower case that is an everyday English word is none ('met'):
    'May' is a month, 'may' is not."""
    import dateparser

    word = word.rstrip(".")
    if len(word) < 3 or word.lower() in WEEKDAYS or word in NOT_MONTHS:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = dateparser.parse(
            f"15 {word} 2001", settings={"STRICT_PARSING": True, "PREFER_DAY_OF_MONTH": "first"}
        )
    if parsed is None or parsed.year != 2001 or parsed.day != 15:
        return None
    return parsed.month


def find_dates(text: str, start: int = 0, end: int | None = None):
    """Yield (start, end, year|None, month, day) for each full or yearless date."""
    end = len(text) if end is None else end
    seen: list[tuple[int, int]] = []
    for rx in _CANDIDATES:
        for m in rx.finditer(text, start, end):
            if any(a < m.end() and m.start() < b for a, b in seen):
                continue
            if "iso" in rx.groupindex and m.group("iso"):
                y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
            else:
                mo = month_number(m["mon"])
                if mo is None:
                    continue
                d = int(m["day"])
                y = int(m["year"]) if m["year"] else None
            if not valid(y or 2000, mo, d):
                continue
            seen.append((m.start(), m.end()))
            yield m.start(), m.end(), y, mo, d


def valid(y: int, m: int, d: int) -> bool:
    try:
        dt.date(y, m, d)
        return True
    except ValueError:
        return False


def first_date(text: str, start: int = 0, end: int | None = None):
    found = sorted(find_dates(text, start, end))
    return found[0] if found else None


def infer_year(month: int, day: int, before: str | None, after: str | None) -> int | None:
    """The year that puts month-day between two neighbouring dates (ISO strings)."""
    lo = dt.date.fromisoformat(before) if before and len(before) == 10 else None
    hi = dt.date.fromisoformat(after) if after and len(after) == 10 else None
    if lo is None and hi is None:
        return None
    years = range((lo or hi).year - 1, (hi or lo).year + 2)
    fits = [y for y in years if valid(y, month, day)
            and (lo is None or dt.date(y, month, day) >= lo)
            and (hi is None or dt.date(y, month, day) <= hi)]
    if not fits:
        return None
    return fits[0] if lo is not None else fits[-1]


def iso(y: int, m: int, d: int | None = None) -> str:
    return f"{y:04d}-{m:02d}" + (f"-{d:02d}" if d else "")


def relative_date(phrase_text: str, anchor: str | None) -> DateFound | None:
    """'on Wednesday', 'In February', 'On July 9' in a sentence's framing, resolved
    against ``anchor`` (an ISO date: the document's or the post's)."""
    if not anchor or len(anchor) < 10:
        anchor_date = None
    else:
        anchor_date = dt.date.fromisoformat(anchor[:10])
    hit = first_date(phrase_text)
    if hit:
        s, e, y, mo, d = hit
        words = phrase_text[s:e]
        if y:
            return DateFound(iso(y, mo, d), "stated", words)
        if anchor_date:
            y = anchor_date.year if (mo, d) <= (anchor_date.month, anchor_date.day) else anchor_date.year - 1
            return DateFound(iso(y, mo, d), "resolved", words)
        return None
    m = _WEEKDAY.search(phrase_text)
    if m and anchor_date:
        target = WEEKDAYS.index(m["wd"].lower())
        rel = m["rel"].lower()
        delta = (anchor_date.weekday() - target) % 7
        if "next" in rel:
            day = anchor_date + dt.timedelta(days=(target - anchor_date.weekday()) % 7 or 7)
        else:
            if delta == 0 and "last" in rel:
                delta = 7
            day = anchor_date - dt.timedelta(days=delta)
        return DateFound(day.isoformat(), "resolved", m.group(0).strip())
    m = _MONTH_ONLY.search(phrase_text)
    if m:
        mo = month_number(m["mon"])
        if mo:
            if m["year"]:
                return DateFound(iso(int(m["year"]), mo), "stated", m.group(0))
            if anchor_date:
                y = anchor_date.year if mo <= anchor_date.month else anchor_date.year - 1
                return DateFound(iso(y, mo), "resolved", m.group(0))
    return None
