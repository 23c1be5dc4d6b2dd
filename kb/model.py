"""The plain data that flows through the pipeline.

readers -> Document/Post, extract -> Claim, rdf -> graph.  Nothing here knows
about RDF or the store; every offset is a character offset into
``Document.text`` (the decoded file, unchanged), so that
``doc.text[claim.start:claim.end] == claim.words`` always holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    """One kept line of a post body (first copy only, noise removed)."""

    start: int  # offset of the first character in Document.text
    end: int  # offset just past the last character (no newline)
    number: int  # 1-based line number in the file
    text: str  # == Document.text[start:end]


@dataclass(frozen=True)
class Post:
    """A Telegram post, or a whole article (one post per article)."""

    index: int  # 0-based position in the document
    start: int  # offset of the post's first character
    end: int  # offset just past the post's last character
    start_line: int  # 1-based, inclusive
    end_line: int  # 1-based, inclusive
    dup_start_line: int | None  # where the second copy of the body begins
    header: Line | None  # the title line ('🎙 …', '✍️ …', '📢 …'), if any
    lines: tuple[Line, ...]  # body lines of the first copy, header excluded, noise dropped
    forwarded_from: str | None = None
    language: str | None = None  # ISO 639-1
    hashtags: tuple[str, ...] = ()  # without '#', in order of appearance, unique

    @property
    def duplicated_body(self) -> bool:
        return self.dup_start_line is not None


@dataclass(frozen=True)
class Document:
    path: str  # as given on the command line
    name: str  # file name, the document's identity
    text: str  # the whole decoded text; offsets point into it
    sha256: str  # of the UTF-8 encoding of ``text``
    kind: str  # 'telegram' or 'article'
    posts: tuple[Post, ...]
    title: str | None = None
    published: str | None = None  # ISO date stated in the document itself (a date line)
    published_evidence: str | None = None  # the words the date was read from


@dataclass(frozen=True)
class DateFound:
    """A date and how it was found.

    ``value`` is ISO at its precision: 'YYYY-MM-DD', 'YYYY-MM' or 'YYYY'.
    ``method`` is one of: 'stated' (written in the post or header),
    'resolved' (a relative expression such as 'on Wednesday' resolved against
    the document date), 'inferred' (from neighbouring posts or the same
    speaker's dated statements), 'published' (only the publication date).
    """

    value: str
    method: str
    evidence: str = ""


@dataclass(frozen=True)
class SpeakerRef:
    name: str  # canonical name (schema:name) or the name as written if unlinked
    key: str | None  # local id of a speaker in ontology/speakers.ttl, None if unlinked
    kind: str = "Person"  # 'Person' or 'Organization'


@dataclass(frozen=True)
class TopicHit:
    key: str  # local id of the skos:Concept in ontology/topics.ttl
    matched: str  # the words that matched (or the context term)
    method: str  # 'explicit' | 'context'
    confidence: float


@dataclass(frozen=True)
class Claim:
    post_index: int
    start: int  # offsets of the words in Document.text
    end: int
    words: str  # == Document.text[start:end]
    speaker: SpeakerRef
    kind: str  # 'direct' | 'indirect'
    cue: str  # 'said', 'stressed', '💬 label', 'header', 'signature', 'told RIA Novosti', ...
    cue_type: str  # 'label' | 'header' | 'signature' | 'verb' | 'according-to' | 'readout'
    date: DateFound | None
    topics: tuple[TopicHit, ...] = ()
    co_speakers: tuple[SpeakerRef, ...] = ()
    reported_by: str | None = None  # 'TASS', 'RIA Novosti', the channel, ...
    language: str | None = None
    confidence: float = 0.8
    evidence: dict = field(default_factory=dict, compare=False, hash=False)
