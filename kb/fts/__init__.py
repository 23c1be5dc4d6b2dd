"""The side index of the claims: an SQLite database kept in the store directory, for search and browsing.

The store answers SPARQL; searching the words of a million claims with
SPARQL ``CONTAINS`` reads every literal, so the search page reads this index
instead.  It holds a row per claim (its IRI, document graph, words, speaker,
topics, date, year and kind) and an FTS5 table over the words (the unicode61
tokenizer with diacritics removed, so that 'Turkiye' finds 'Türkiye' and
Cyrillic is folded to lower case like Latin), with prefix indexes for the
search-as-you-type prefix queries.  The same rows, with ordered indexes and
counts kept in step with them, serve the browsing pages.

The file is ``kb-search.sqlite`` inside the store directory: RocksDB, under
Oxigraph, leaves files it does not know alone (checked through ``optimize``
and read-only opens, tests/test_fts.py), so the store and its index are
copied, moved and deleted together.

One module per part, each step reading only the ones before it:

- ``rows``: what the index keeps of a document, read off its graph (``rows_of``, ``Row``)
- ``schema``: the tables, the version, the counts as SELECTs
- ``search``: the query text, the results, the search (``Searching``)
- ``browse``: the lists, counts and orders of the pages (``Browsing``, ``Listing``)
- ``index``: opening the index and writing a document in one transaction (``SearchIndex``, ``BulkWriter``)
- ``check``: the index against the store, and rebuilding it (``differences``, ``rebuild``)
"""
from __future__ import annotations

from .browse import SUMMED, Listing
from .check import RebuildReport, count_differences, differences, rebuild
from .index import BulkWriter, IndexMissing, SearchIndex
from .rows import (INDEXED_PREDICATES, KIND_LABELS, LEXICAL, SPEAKER_LABELS, TOPIC_LABELS, Lookup, Row,
                   Triples, english_first, fingerprint, int_or_none, key_of, ontology_labels, resources_of,
                   rows_of)
from .schema import COUNT_TABLES, DEFAULT_GRAPH, FILE_NAME, SCHEMA_SQL, SCHEMA_VERSION
from .search import FACETS, FacetValue, Hit, Results, facet_token, match_expression, query_tokens

# the limits of a search (FACET_SAMPLE, MAX_PAGE_SIZE, MAX_OFFSET, MAX_TOKENS) are read from
# kb.fts.search when a search runs: set them there

__all__ = [
    "BulkWriter", "COUNT_TABLES", "DEFAULT_GRAPH", "FACETS", "FILE_NAME", "FacetValue", "Hit",
    "INDEXED_PREDICATES", "IndexMissing", "KIND_LABELS", "LEXICAL", "Listing", "Lookup",
    "RebuildReport", "Results", "Row", "SCHEMA_SQL", "SCHEMA_VERSION", "SPEAKER_LABELS", "SUMMED",
    "SearchIndex", "TOPIC_LABELS", "Triples", "count_differences", "differences", "english_first",
    "facet_token", "fingerprint", "int_or_none", "key_of", "match_expression", "ontology_labels",
    "query_tokens", "rebuild", "resources_of", "rows_of",
]
