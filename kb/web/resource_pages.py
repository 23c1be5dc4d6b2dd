"""The HTML pages of the Linked Data IRIs: a speaker, a topic, the topic scheme, a claim, a document.

kb.web.linked_data resolves the IRI and negotiates; when the answer is HTML,
or when ``?format=json|csv`` (or ``ttl`` with a filter) asks for the data of
a page, it hands over to ``answer(segments, iri, graph)`` with the
resource's description (queries/describe.rq).  The speaker page filters by
``topic``, ``from`` and ``to``, the topic page by ``from`` and ``to``; both
page with ``page`` (the topic page's size with ``size``, clamped), cut in
the SPARQL, and their data formats give every claim of the filtered view.
Every count (a chart, a topic's speakers) is read from the side index's
counts, or else is a GROUP BY in the store: no page loads all the claims of
a speaker or a topic to count or filter them.  With a complete side index
(kb.web.pages.browse_index) the claims of the page are found and ordered
there and only their details come from the store; the data formats give
the named queries' rows.
The RDF of the topic scheme carries each topic's kb:claimCount (the
topics page's Turtle).  Texts from documents are only ever
escaped by Jinja; a claim's words are cut out of its document's text by
kb:startOffset/kb:endOffset and the pieces are escaped separately.
"""
from __future__ import annotations

import calendar

from flask import request
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, SKOS

from .. import fts
from . import charts
from .linked_data import local_url
from .pages import (KB, PAGE_SIZE, MAX_PAGE, SCHEMA, SPEAKER_CLAIM_COLUMNS, TOPIC_CLAIM_COLUMNS, BadRequest,
                    View, bad_request, bound, browse_index, claim_rows, clamp, export_rows, key_of, respond, select,
                    topic_list)

FILTERS = ("topic", "from", "to")
CONTEXT = 400  # characters of the document shown either side of a claim
NO_TOPIC = "no topic"
MAX_PAGE_SIZE = 100  # claims per page at most (?size=)
CHART_SERIES = 8  # speakers drawn as their own series in a topic's chart; the others are summed
OTHERS = "others"


def wants_data(kind: str) -> bool:
    """Whether the request asks for a page's data rather than the resource's RDF."""
    fmt = (request.args.get("format") or "").lower()
    if fmt in ("json", "csv"):
        return True
    return fmt == "ttl" and kind in ("speaker", "topic") and any(request.args.get(f) for f in FILTERS)


def has_page(segments: list[str]) -> bool:
    """Whether ``answer`` renders the HTML of this resource (else the generic Linked Data page does)."""
    return len(segments) <= 2 and segments[0] in PAGES


def answer(segments: list[str], iri: URIRef, graph: Graph):
    page = PAGES.get(segments[0]) if len(segments) <= 2 else None
    if page is None:
        return None
    try:
        return respond(page(iri, graph))
    except BadRequest as exc:
        return bad_request(str(exc))


def _text(graph: Graph, subject, predicate, lang: str | None = "en") -> str:
    values = list(graph.objects(subject, predicate))
    for v in values:
        if isinstance(v, Literal) and v.language in (lang, None):
            return str(v)
    return str(values[0]) if values else ""


def _texts(graph: Graph, subject, predicate) -> list[str]:
    return sorted({str(v) for v in graph.objects(subject, predicate)})


def _linked_names(iri: URIRef, terms: list) -> list[tuple[str, str]]:
    """(IRI, label) of terms ``iri`` links to, labelled by queries/labels.rq."""
    if not terms:
        return []
    labels = _labels(iri)
    return [(str(t), labels.get(str(t)) or key_of(str(t))) for t in terms]


def _filters() -> dict:
    """The filters of the URL; a month (YYYY-MM) stands for its first or its last day."""
    values = {f: (request.args.get(f) or "").strip() for f in FILTERS}
    for f in ("from", "to"):
        month = values[f]
        if len(month) == 7 and month[:4].isdigit() and month[4] == "-" and month[5:].isdigit() \
                and 1 <= int(month[5:]) <= 12:
            last = calendar.monthrange(int(month[:4]), int(month[5:]))[1]
            values[f] = f"{month}-01" if f == "from" else f"{month}-{last:02d}"
    return values


def _topic_labels() -> dict[str, str]:
    """Every topic's label: one row per topic, nothing counted."""
    return {t["topic"]: t["label"] or key_of(t["topic"]) for t in select("topic-labels")}


# ---------------------------------------------------------------- speaker

def speaker_page(iri: URIRef, graph: Graph) -> View:
    filters = _filters()
    values = {"speaker": str(iri), "from": filters["from"], "to": filters["to"]}
    query = "speaker-claims"
    if filters["topic"]:
        values["topic"] = filters["topic"]
        query = "speaker-topic-claims"
    page = clamp(request.args.get("page"), 1, MAX_PAGE, 1)
    labels = _topic_labels()
    if request.args.get("format"):
        rows = export_rows(query, values)
        return View("", key_of(str(iri)), rows=rows, columns=["claim", "date", "quote", "kind", "topics", "document", "speaker"])
    index = browse_index()
    if index is not None:
        given = bound(query, values)
        found = index.speaker_claims(given["speaker"], given.get("topic"), given.get("from"), given.get("to"),
                                     limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        claims = claim_rows(found, SPEAKER_CLAIM_COLUMNS, speaker=given["speaker"])
        # the chart's own series summed in SQL, the others as one (topic_chart's OTHERS)
        counted = index.speaker_topics(str(iri))
        label = lambda t: labels.get(t) if t else NO_TOPIC  # noqa: E731 - as the query's rows are labelled
        totals: dict = {}
        for topic, n in counted:
            totals[label(topic)] = totals.get(label(topic), 0) + n
        kept = chart_series(totals)
        chart = charts.timeline((month, OTHERS if topic == fts.SUMMED else label(topic), n) for month, topic, n
                                in index.speaker_months(str(iri), keep=[t for t, _ in counted if label(t) in kept]))
        topics = {t for t, _ in counted if t}
    else:
        claims = select(query, values, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        months = select("speaker-timeline", {"speaker": str(iri)})
        chart = topic_chart([(m["month"], m["topicLabel"] or (labels.get(m["topic"]) if m["topic"] else NO_TOPIC),
                              int(m["claims"])) for m in months])
        topics = {m["topic"] for m in months if m["topic"]}
    topics = sorted(topics, key=lambda t: labels.get(t, t).lower())
    name = _text(graph, iri, SCHEMA.name) or key_of(str(iri))
    same_as = _texts(graph, iri, OWL.sameAs)
    info = {
        "name": name, "iri": str(iri), "key": key_of(str(iri)),
        "roles": _texts(graph, iri, KB.role), "aliases": _texts(graph, iri, SKOS.altLabel),
        "job": _text(graph, iri, SCHEMA.jobTitle), "same_as": same_as,
        "member_of": _linked_names(iri, sorted(graph.objects(iri, SCHEMA.memberOf))),
        "unlinked": any(str(v).lower() == "true" for v in graph.objects(iri, KB.unlinked)),
    }
    filtered = any(filters.values())
    return View("pages/speaker.html", name, {
        "speaker": info, "claims": claims[:PAGE_SIZE], "has_next": len(claims) > PAGE_SIZE, "page": page,
        "chart": chart, "topics": [(t, labels.get(t, key_of(t))) for t in topics],
        "topic_labels": labels, "filters": {f: request.args.get(f, "") for f in FILTERS}, "filtered": filtered,
        "ttl_url": None if filtered else f"{local_url(str(iri))}/claims.ttl",
    }, rows=[])


# ---------------------------------------------------------------- topic and topics

def topic_page(iri: URIRef, graph: Graph) -> View:
    """A topic: its claims per month by speaker (chart), its speakers with their counts, and one page
    of its claims, oldest first, side by side by speaker; every count a GROUP BY, every page a LIMIT."""
    filters = _filters()
    values = {"topic": str(iri), "from": filters["from"], "to": filters["to"]}
    label = _text(graph, iri, SKOS.prefLabel) or key_of(str(iri))
    if request.args.get("format"):
        return View("", label, rows=export_rows("topic-claims", values))
    page = clamp(request.args.get("page"), 1, MAX_PAGE, 1)
    size = clamp(request.args.get("size"), 1, MAX_PAGE_SIZE, PAGE_SIZE)
    index = browse_index()
    if index is not None:
        given = bound("topic-claims", values)
        since, until = given.get("from"), given.get("to")
        found = index.topic_claims(given["topic"], since, until, limit=size + 1, offset=(page - 1) * size)
        claims = claim_rows(found, TOPIC_CLAIM_COLUMNS, topic=given["topic"])
        # as topic-speakers.rq orders them: most claims first, then by name
        counted = sorted(index.topic_speakers(given["topic"], since, until),
                         key=lambda s: (-s[2], (s[1] or "").lower(), s[0]))
        speakers = [{"speaker": s, "name": label or key_of(s), "claims": n} for s, label, n in counted]
        # the chart's own series summed in SQL: the others as one (speaker_chart's OTHERS)
        kept = [s["speaker"] for s in speakers[:CHART_SERIES]]
        months = [{"month": month, "speaker": s, "claims": str(n)}
                  for month, s, n in index.topic_months(given["topic"], since, until, keep=kept)]
    else:
        claims = select("topic-claims", values, limit=size + 1, offset=(page - 1) * size)
        speakers = [{"speaker": s["speaker"], "name": s["speakerName"] or key_of(s["speaker"]),
                     "claims": int(s["claims"] or 0)} for s in select("topic-speakers", values)]
        months = select("topic-timeline", values)
    chart = speaker_chart(months, speakers)
    columns: dict[str, dict] = {}  # this page's claims by speaker, the most quoted speaker first
    rank = {s["speaker"]: n for n, s in enumerate(speakers)}
    for c in claims[:size]:
        columns.setdefault(c["speaker"], {"speaker": c["speaker"], "claims": [],
                                          "name": c["speakerName"] or key_of(c["speaker"])})["claims"].append(c)
    total = sum(s["claims"] for s in speakers)
    filtered = bool(filters["from"] or filters["to"])
    return View("pages/topic.html", label, {
        "topic": {"iri": str(iri), "label": label, "definition": _text(graph, iri, SKOS.definition),
                  "aliases": sorted({str(v) for v in graph.objects(iri, SKOS.altLabel) if getattr(v, "language", None) in ("en", None)})},
        "claims": claims[:size], "speakers": speakers, "chart": chart, "total": total,
        "columns": sorted(columns.values(), key=lambda s: rank.get(s["speaker"], len(rank))),
        "page": page, "size": size, "has_next": len(claims) > size, "pages": max(1, -(-total // size)),
        "first": (page - 1) * size + 1,
        "filters": {f: request.args.get(f, "") for f in ("from", "to")}, "filtered": filtered,
        "ttl_url": None if filtered else f"{local_url(str(iri))}/claims.ttl",
    }, rows=[])


def speaker_chart(months: list[dict], speakers: list[dict], keep: int = CHART_SERIES) -> charts.Timeline:
    """Claims per month by speaker: the first ``keep`` of ``speakers`` (most claims first) as their own
    series, the rest summed as OTHERS, so that a topic with hundreds of speakers stays readable."""
    names = {s["speaker"]: s["name"] for s in speakers[:keep]}
    return charts.timeline((m["month"], names.get(m["speaker"], OTHERS), m["claims"]) for m in months)


def topic_chart(months: list[tuple[str, str, int]], keep: int = CHART_SERIES) -> charts.Timeline:
    """A speaker's claims per month by topic: the ``keep`` topics with most claims as their own series,
    the rest summed as OTHERS (a busy speaker speaks on hundreds of topics: a series each would make
    a legend and a table of thousands of cells)."""
    totals: dict[str, int] = {}
    for _, label, n in months:
        totals[label] = totals.get(label, 0) + n
    kept = chart_series(totals, keep)
    return charts.timeline((month, label if label in kept else OTHERS, n) for month, label, n in months)


def chart_series(totals: dict[str, int], keep: int = CHART_SERIES) -> set[str]:
    """The series a chart draws as their own, from their totals: the ``keep`` largest (then by label)."""
    kept = set(sorted(totals, key=lambda label: (-totals[label], label))[:keep])
    if len(totals) == keep + 1:
        kept = set(totals)  # one series summed as 'others' would only rename it
    return kept


def add_list_data(segments: list[str], graph: Graph) -> None:
    """The RDF of the topic scheme (/topics in every RDF format) also carries the data of the topics
    page: each topic's English label and definition, and its kb:claimCount (a GROUP BY)."""
    if segments != ["topics"]:
        return
    for row in topic_list():
        topic = URIRef(row["topic"])
        if row["label"]:
            graph.add((topic, SKOS.prefLabel, Literal(row["label"], lang="en")))
        if row["definition"]:
            graph.add((topic, SKOS.definition, Literal(row["definition"], lang="en")))
        graph.add((topic, KB.claimCount, Literal(int(row["claims"] or 0))))


def topics_page(iri: URIRef, graph: Graph) -> View:
    rows = topic_list()
    title = _text(graph, iri, SKOS.prefLabel) or "Topics"
    return View("pages/topics.html", "Topics", {"topics": rows, "scheme": {"iri": str(iri), "label": title},
                                               "ttl_url": f"{local_url(str(iri))}.ttl"}, rows=rows)


# ---------------------------------------------------------------- claim and document

def _labels(iri: URIRef) -> dict:
    out = {}
    for r in select("labels", {"resource": str(iri)}):
        out.setdefault(r["term"], r["label"])
    return out


def claim_page(iri: URIRef, graph: Graph) -> View:
    labels = _labels(iri)

    def lab(term) -> str:
        return labels.get(str(term)) or key_of(str(term)) if term is not None else ""

    v = graph.value
    words = str(v(iri, SCHEMA.text) or "")
    speaker = v(iri, SCHEMA.author)
    document = v(iri, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"))
    start, end = v(iri, KB.startOffset), v(iri, KB.endOffset)
    assignments = []
    for a in graph.objects(iri, KB.topicAssignment):
        topic = v(a, KB.topic)
        assignments.append({"topic": str(topic), "label": lab(topic), "matched": str(v(a, KB.matchedText) or ""),
                            "method": lab(v(a, KB.assignmentMethod)) if v(a, KB.assignmentMethod) else "",
                            "confidence": str(v(a, KB.confidence) or "")})
    assigned = {a["topic"] for a in assignments}
    for t in graph.objects(iri, SCHEMA.about):
        if str(t) not in assigned:
            assignments.append({"topic": str(t), "label": lab(t), "matched": "", "method": "", "confidence": ""})
    assignments.sort(key=lambda a: a["label"].lower())
    context = None
    doc = {}
    if document is not None:
        found = select("document-text", {"document": str(document)})
        doc = found[0] if found else {}
        text = doc.get("text", "")
        if text and start is not None and end is not None and 0 <= int(start) <= int(end) <= len(text):
            s, e = int(start), int(end)
            context = {"before": text[max(0, s - CONTEXT):s], "words": text[s:e], "after": text[e:e + CONTEXT],
                       "cut_before": s > CONTEXT, "cut_after": e + CONTEXT < len(text)}
    claim = {
        "iri": str(iri), "words": words, "speaker": str(speaker or ""), "speaker_name": lab(speaker),
        "co_speakers": [(str(c), lab(c)) for c in graph.objects(iri, KB.coSpeaker)],
        "date": str(v(iri, KB.statedOn) or ""), "date_method": lab(v(iri, KB.dateMethod)) if v(iri, KB.dateMethod) else "",
        "date_evidence": str(v(iri, KB.dateEvidence) or ""), "published": str(v(iri, SCHEMA.datePublished) or ""),
        "kind": lab(v(iri, KB.kind)) if v(iri, KB.kind) else "", "cue": str(v(iri, KB.cue) or ""),
        "cue_type": lab(v(iri, KB.cueType)) if v(iri, KB.cueType) else "",
        "reported_by": _texts(graph, iri, KB.reportedBy), "confidence": str(v(iri, KB.confidence) or ""),
        "document": str(document or ""), "document_title": doc.get("title") or doc.get("fileName") or lab(document),
        "post": str(v(iri, SCHEMA.appearance) or ""),
    }
    row = {k: claim[k] for k in ("iri", "words", "speaker", "speaker_name", "date", "date_method", "date_evidence",
                                 "kind", "cue", "cue_type", "document")}
    row["topics"] = " ".join(a["topic"] for a in assignments)
    row["reported_by"] = " | ".join(claim["reported_by"])
    title = words if len(words) <= 80 else words[:79] + "…"
    return View("pages/claim.html", title, {"claim": claim, "topics": assignments, "context": context,
                                            "ttl_url": f"{local_url(str(iri))}.ttl"}, rows=[row])


def document_page(iri: URIRef, graph: Graph) -> View:
    found = select("document-text", {"document": str(iri)})
    doc = found[0] if found else {"document": str(iri)}
    claims = select("document-claims", {"document": str(iri)})
    title = doc.get("title") or doc.get("fileName") or key_of(str(iri))
    if request.args.get("format"):
        return View("", title, rows=claims)
    text = doc.get("text") or ""
    pieces, pos = [], 0  # (text, claim row or None); overlapping claims are listed, not highlighted twice
    for c in claims:
        s, e = int(c["start"]), int(c["end"])
        if s < pos or e > len(text) or s > e:
            continue
        if s > pos:
            pieces.append((text[pos:s], None))
        pieces.append((text[s:e], c))
        pos = e
    pieces.append((text[pos:], None))
    return View("pages/document.html", title, {"doc": doc, "iri": str(iri), "claims": claims, "pieces": pieces,
                                               "ttl_url": f"{local_url(str(iri))}.ttl"}, rows=claims)


PAGES = {"speaker": speaker_page, "topic": topic_page, "topics": topics_page,
         "claim": claim_page, "document": document_page}
