"""kb: a claim-tracking knowledge base.

Who said what, when, on which topic, each claim tied to the exact words of
its source.  The pipeline runs one way:

    readers -> extract -> rdf -> validate -> store -> queries -> web
"""

__version__ = "0.1.0"
