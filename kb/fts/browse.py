"""Browsing from the side index: what the pages list, count and order, read off its ordered
indexes and the counts kept in step with its rows (``Browsing``, a part of ``SearchIndex``).

Browsing a million claims by SPARQL sorts or counts all of a speaker's or a
topic's claims per page, so the rows carry each claim's date (STR of
kb:statedOn, compared as SPARQL compares it) and offset, with ordered indexes
per speaker, per topic and by date, and counts per speaker, per topic, per
topic and speaker, per speaker, topic and month, and the totals.  The pages
(kb.web.pages) read lists, counts and orders here and fetch only the details
of a page's claims from the store.  A view's data formats (every claim of a
speaker or topic, up to ten thousand) read each claim's row here as well
(``Listing``): its text, document, offset and kind are kept, and whether the
claim is plain (``Row.plain``), so that its row here is the row the view's
query gives.  Orders are the named queries' own (a claim's date, then its
document, offset and IRI), so a page is the same from either.
"""
from __future__ import annotations

from typing import Iterable, NamedTuple

SUMMED = "*"  # in a timeline, the series that are not kept, summed (never an IRI)


class Listing(NamedTuple):
    """The claims of a list with what a view's row shows of each (``speaker_claims(details=True)``),
    one tuple per claim as SQLite gives it, no Python object made per claim: kb.web.data.view_rows
    makes ten thousand rows from them.  A claim's tuple is:

    claim, date (STR(kb:statedOn), '' when none), words (its schema:text when plain), start (its
    kb:startOffset as text, '' when none), document (its prov:wasDerivedFrom when plain), kind (its
    kb:kind's IRI or None), speaker (a key of ``speakers``, None for none), plain (1 when
    Row.plain, else 0), topics (a key of ``topics``; '' when not asked for)."""

    rows: list[tuple]
    speakers: dict[int, str]  # the speaker cell of a row -> the speaker's IRI
    topics: dict[str, str]  # the topics cell of a row -> their IRIs, sorted, joined by spaces


# a Listing's row, but for its topics (x.topics, or '' when not asked for)
_LISTED = ("x.claim, x.date, x.words, COALESCE(CAST(x.start AS TEXT), ''), COALESCE(x.document, c.graph), "
           "x.kind_term, c.speaker, x.plain")


class Browsing:
    """The browsing reads of a ``SearchIndex``: a part of it."""

    def _id(self, iri: str) -> int | None:
        found = self._db.execute("SELECT id FROM terms WHERE iri = ?", (str(iri),)).fetchone()
        return found[0] if found else None

    def totals(self) -> dict[str, str]:
        """The home page's totals (queries/stats.rq and date-range.rq): documents, posts, claims,
        speakers and topics quoted, first and last date ('' when no claim has one)."""
        db = self._db
        with self._transaction():
            kept = dict(db.execute("SELECT key, value FROM totals"))
            speakers = db.execute("SELECT COUNT(*) FROM speaker_counts WHERE claims > 0").fetchone()[0]
            topics = db.execute("SELECT COUNT(*) FROM topic_counts WHERE claims > 0").fetchone()[0]
            first = db.execute("SELECT MIN(date) FROM claims WHERE date > ''").fetchone()[0]
            last = db.execute("SELECT MAX(date) FROM claims").fetchone()[0]
        return {"documents": str(kept.get("documents", 0)), "posts": str(kept.get("posts", 0)),
                "claims": str(kept.get("claims", 0)), "speakers": str(speakers), "topics": str(topics),
                "first": first or "", "last": (last or "") if first else ""}

    def speaker_counts(self) -> dict[str, int]:
        """{speaker IRI: claims} of every speaker with a claim."""
        return dict(self._db.execute("SELECT t.iri, k.claims FROM speaker_counts k "
                                     "CROSS JOIN terms t ON t.id = k.speaker WHERE k.claims > 0"))

    def topic_counts(self) -> dict[str, int]:
        """{topic IRI: claims} of every topic with a claim."""
        return dict(self._db.execute("SELECT t.iri, k.claims FROM topic_counts k "
                                     "CROSS JOIN terms t ON t.id = k.topic WHERE k.claims > 0"))

    def speaker_months(self, speaker: str, keep: Iterable[str | None] | None = None) -> list[tuple[str, str | None, int]]:
        """(month, topic IRI or None for claims without a topic, claims) of one speaker's claims
        dated to a month or a day (queries/speaker-timeline.rq), by month.  With ``keep`` (topic
        IRIs, None for no topic) the other topics' claims are summed per month under SUMMED."""
        found = self._id(speaker)
        if found is None:
            return []
        if keep is None:
            return list(self._db.execute(
                "SELECT k.month, t.iri, k.claims FROM month_counts k LEFT JOIN terms t ON t.id = k.topic "
                "WHERE k.speaker = ? AND k.claims > 0 ORDER BY k.month, t.iri", (found,)))
        keep = list(keep)
        ids = {self._id(t) for t in keep if t is not None} - {None}
        if None in keep:
            ids.add(0)  # month_counts' topic of the claims without one
        out = []
        for month, topic, iri, n in self._db.execute(
                "SELECT k.month, k.topic, t.iri, SUM(k.claims) FROM (SELECT month, CASE WHEN topic IN "
                f"({','.join('?' * len(ids))}) THEN topic ELSE -1 END AS topic, claims FROM month_counts "
                "WHERE speaker = ? AND claims > 0) k LEFT JOIN terms t ON t.id = k.topic "
                "GROUP BY k.month, k.topic ORDER BY k.month, t.iri", [*ids, found]):
            out.append((month, SUMMED if topic == -1 else iri, n))
        return out

    def speaker_topics(self, speaker: str) -> list[tuple[str | None, int]]:
        """(topic IRI or None for no topic, claims) of one speaker's claims dated to a month or a
        day: the totals of ``speaker_months`` per topic."""
        found = self._id(speaker)
        if found is None:
            return []
        return list(self._db.execute(
            "SELECT t.iri, SUM(k.claims) FROM month_counts k LEFT JOIN terms t ON t.id = k.topic "
            "WHERE k.speaker = ? AND k.claims > 0 GROUP BY k.topic ORDER BY t.iri", (found,)))

    @staticmethod
    def _dates(column: str, since: str | None, until: str | None) -> tuple[str, list]:
        """The SQL of the named queries' date filter on ``column``: a date matches ``since`` on as
        many characters as it has (a month matches from its first day), and no date matches none."""
        sql, params = "", []
        if since:  # the first test bounds the range on the index, the second is the query's own
            sql += f" AND {column} >= ? AND {column} >= substr(?, 1, length({column}))"
            params += [since[:4], since]
        if until:
            sql += f" AND {column} > '' AND {column} <= ?"
            params.append(until)
        return sql, params

    def topic_speakers(self, topic: str, since: str | None = None,
                       until: str | None = None) -> list[tuple[str, str | None, int]]:
        """(speaker IRI, label, claims) of the speakers with claims on one topic, between two dates
        (queries/topic-speakers.rq), in no order."""
        found = self._id(topic)
        if found is None:
            return []
        if since or until:
            where, params = self._dates("date", since, until)
            counted = ("SELECT speaker, COUNT(*) AS claims FROM claim_topics "
                       f"WHERE topic = ? AND speaker IS NOT NULL{where} GROUP BY speaker")
        else:
            counted, params = "SELECT speaker, claims FROM topic_speaker_counts WHERE topic = ? AND claims > 0", []
        return list(self._db.execute(f"SELECT t.iri, t.label, k.claims FROM ({counted}) k "
                                     "CROSS JOIN terms t ON t.id = k.speaker", [found, *params]))

    def topic_months(self, topic: str, since: str | None = None, until: str | None = None,
                     keep: Iterable[str] | None = None) -> list[tuple[str, str, int]]:
        """(month, speaker IRI, claims) of one topic's claims with a speaker, dated to a month or a
        day, between two dates (queries/topic-timeline.rq), by month.  With ``keep`` (speaker IRIs)
        the other speakers' claims are summed per month under SUMMED (a chart's 'others')."""
        found = self._id(topic)
        if found is None:
            return []
        if keep is not None:
            ids = {self._id(s) for s in keep} - {None}
            return [(month, iri or SUMMED, n) for month, iri, n in self._db.execute(
                "SELECT k.month, t.iri, SUM(k.claims) FROM (SELECT month, CASE WHEN speaker IN "
                f"({','.join('?' * len(ids))}) THEN speaker END AS speaker, claims FROM ({self._months_of(since, until)})) k "
                "LEFT JOIN terms t ON t.id = k.speaker GROUP BY k.month, k.speaker ORDER BY k.month, t.iri",
                [*ids, found, *self._dates("date", since, until)[1]])]
        return list(self._db.execute(f"SELECT k.month, t.iri, k.claims FROM ({self._months_of(since, until)}) k "
                                     "CROSS JOIN terms t ON t.id = k.speaker ORDER BY k.month, t.iri",
                                     [found, *self._dates("date", since, until)[1]]))

    def _months_of(self, since: str | None, until: str | None) -> str:
        """The SQL of (month, speaker id, claims) of one topic (its id the first parameter, the dates'
        parameters after it): the kept counts, or with dates a count of the topic's claims between them."""
        if since or until:
            where, _ = self._dates("date", since, until)
            return ("SELECT substr(date, 1, 7) AS month, speaker, COUNT(*) AS claims FROM claim_topics "
                    f"WHERE topic = ? AND speaker IS NOT NULL AND length(date) >= 7{where} GROUP BY 1, 2")
        return "SELECT month, speaker, claims FROM month_counts WHERE topic = ? AND speaker != 0 AND claims > 0"

    def _page(self, table: str, where: str, params: list, newest_first: bool, limit: int | None, offset: int,
              details: bool = False, topics: bool = True) -> list:
        """The claims of ``table`` ('claims c' or 'claim_topics t') that ``where`` keeps, ordered by
        date (newest first or oldest first), document graph, offset and claim IRI, from ``offset`` on.

        The table's ordered index holds (date, graph, start) and, after them, the claim's id; the
        ids of one document were given in the order of its claims' offsets and IRIs (``row_order``),
        so within one date, graph and offset they are in the order of the IRIs, and the index
        gives the whole order: the claims before the page are skipped in the index alone, and
        only the page's are read."""
        a = table[-1]  # the table's alias
        date = f"{a}.date DESC" if newest_first else f"{a}.date"
        limit = -1 if limit is None else max(int(limit), 0)
        what = (_LISTED + ", " + ("x.topics" if topics else "''")) if details else "x.claim"
        outer = "c.date DESC" if newest_first else "c.date"
        found = self._db.execute(
            f"SELECT {what} FROM (SELECT {a}.id AS id FROM {table} WHERE {where} "
            f"ORDER BY {date}, {a}.graph, {a}.start, {a}.id LIMIT ? OFFSET ?) p "
            "CROSS JOIN claims c ON c.id = p.id CROSS JOIN claim_text x ON x.id = c.id "
            f"ORDER BY {outer}, c.graph, c.start, c.id",
            [*params, limit, max(int(offset), 0)]).fetchall()
        return [iri for (iri,) in found] if not details else found

    def _listing(self, found: list[tuple]) -> Listing:
        # the terms named, looked up once each: hundreds of speakers, a few hundred sets of topics
        speakers = {i for i in {row[6] for row in found} if i is not None}
        sets = {row[8] for row in found}
        numbers = {int(n) for cell in sets for n in cell.split()}
        iris = {i: iri for i, (iri, _) in self._terms(speakers | numbers).items()}
        return Listing(found, {i: iris[i] for i in speakers},
                       {cell: " ".join(sorted(iris[int(n)] for n in cell.split())) for cell in sets})

    def speaker_claims(self, speaker: str, topic: str | None = None, since: str | None = None,
                       until: str | None = None, limit: int | None = 25, offset: int = 0,
                       details: bool = False, topics: bool = True) -> list:
        """The IRIs of one speaker's claims (on one topic), newest first, undated last
        (queries/speaker-claims.rq, speaker-topic-claims.rq); ``limit`` None: all from ``offset``.
        ``details``: a ``Listing`` of the claims in place of their IRIs (without topics unless ``topics``)."""
        found, on = self._id(speaker), self._id(topic) if topic else None
        if found is None or (topic and on is None):
            return self._listing([]) if details else []
        if topic:
            dates, params = self._dates("t.date", since, until)
            listed = self._page("claim_topics t", f"t.topic = ? AND t.speaker = ?{dates}", [on, found, *params],
                                True, limit, offset, details, topics)
        else:
            dates, params = self._dates("c.date", since, until)
            listed = self._page("claims c", f"c.speaker = ?{dates}", [found, *params], True, limit, offset,
                                details, topics)
        return self._listing(listed) if details else listed

    def topic_claims(self, topic: str, since: str | None = None, until: str | None = None,
                     limit: int | None = 25, offset: int = 0, details: bool = False,
                     topics: bool = True) -> list:
        """The IRIs of one topic's claims, oldest first, undated last (queries/topic-claims.rq);
        ``details``: a ``Listing`` of the claims in place of their IRIs (without topics unless ``topics``)."""
        found = self._id(topic)
        if found is None:
            return self._listing([]) if details else []
        offset = max(int(offset), 0)
        source = "claim_topics t"
        dates, params = self._dates("t.date", since, until)
        with self._transaction():
            out = self._page(source, f"t.topic = ? AND t.date > ''{dates}", [found, *params], False,
                             limit, offset, details, topics)
            if not (since or until or (limit is not None and len(out) >= limit)):
                dated = self._db.execute("SELECT COUNT(*) FROM claim_topics WHERE topic = ? AND date > ''",
                                         (found,)).fetchone()[0]
                rest = None if limit is None else limit - len(out)
                out += self._page(source, "t.topic = ? AND t.date = ''", [found], False, rest,
                                  max(offset - dated, 0), details, topics)
        return self._listing(out) if details else out

    def latest_claims(self, limit: int = 10) -> list[str]:
        """The IRIs of the latest dated claims with a speaker, newest first (queries/latest-claims.rq)."""
        return self._page("claims c", "c.date > '' AND c.speaker IS NOT NULL", [], True, limit, 0)
