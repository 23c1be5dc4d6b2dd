"""Turtle text of statements of plain strings, written without making a term of any of them.

A filtered view's Turtle (kb.web.pages) is ten thousand rows, about sixty
thousand statements, each already a tuple of strings (subject IRI, predicate
IRI, object, the object's datatype IRI: '' for a plain string, None for an
IRI; kb.web.data.row_statements).  pyoxigraph writes Turtle fast, but only
from its own terms, and making sixty thousand of them in Python took most
of the answer's time (bench/RESULTS.md).  ``turtle_text`` writes the same
statements as Turtle from the strings themselves, in the shape pyoxigraph
gives them: the statements in the order given, one subject's consecutive
statements joined by ``;``, one predicate's by ``,``, IRIs under a prefix
as prefixed names, xsd:integer values bare.  tests/test_turtle.py checks
that what it writes parses to exactly the statements given, for any text.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping

from pyoxigraph import NamedNode

XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"

# a local name written after a prefix without escapes: a safe part of Turtle's PN_LOCAL
_LOCAL = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?)?\Z")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
# the escapes of a quoted string, as N-Triples writes them: the four that must be escaped, the
# control characters that have a short escape, and the other control characters as \\u
_ESCAPES = {i: f"\\u{i:04X}" for i in [*range(0x20), 0x7F]} | {
    ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t",
    0x08: "\\b", 0x0C: "\\f"}
_ESCAPED = re.compile(r'[\x00-\x1f"\\\x7f]')


def quoted(value: str) -> str:
    """A string as a Turtle (and N-Triples) quoted string.  Most need no escape, and are not
    translated: str.translate looks up every character of a text that is not ASCII (ten thousand
    Russian quotes: 200 ms translated, 16 ms searched)."""
    return '"' + (value.translate(_ESCAPES) if _ESCAPED.search(value) else value) + '"'


def turtle_text(statements: Iterable[tuple[str, str, str, str | None]],
                prefixes: Mapping[str, str] | None = None) -> str:
    """The statements as a Turtle document: the prefixes, then each statement in the order given
    (a statement given twice is written once).  Each IRI is checked once, by pyoxigraph: one it
    would refuse raises ValueError here too, so that the text always parses."""
    spaces = sorted((prefixes or {}).items(), key=lambda kv: -len(kv[1]))  # the longest namespace wins
    names: dict[str, str] = {}

    def name(iri: str) -> str:
        written = names.get(iri)
        if written is None:
            NamedNode(iri)  # an IRI pyoxigraph would not take raises ValueError, as it would there
            written = f"<{iri}>"
            for prefix, space in spaces:
                if iri.startswith(space) and _LOCAL.match(iri, len(space)):
                    written = f"{prefix}:{iri[len(space):]}"
                    break
            names[iri] = written
        return written

    out = [f"@prefix {prefix}: <{space}> .\n" for prefix, space in (prefixes or {}).items()]
    subject = predicate = None
    for s, p, o, datatype in dict.fromkeys(statements):
        if datatype is None:
            obj = name(o)
        elif not datatype:
            obj = quoted(o)
        elif datatype == XSD_INTEGER and _INTEGER.match(o):
            obj = o
        else:
            obj = f"{quoted(o)}^^{name(datatype)}"
        if s != subject:
            if subject is not None:
                out.append(" .\n")
            elif out:
                out.append("\n")  # a blank line after the prefixes
            out.append(f"{name(s)} {name(p)} {obj}")
            subject, predicate = s, p
        elif p != predicate:
            out.append(f" ;\n\t{name(p)} {obj}")
            predicate = p
        else:
            out.append(f" , {obj}")
    if subject is not None:
        out.append(" .\n")
    return "".join(out)
