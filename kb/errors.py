"""Errors a user can act on.  The command line prints them as one line."""
from __future__ import annotations


class KbError(Exception):
    """Base class: the message is shown to the user as it is."""


class InputError(KbError):
    """A file that cannot be read or understood."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ValidationError(KbError):
    """A document graph that does not conform to the shapes."""

    def __init__(self, path, violations: list[str]):
        self.path = str(path)
        self.violations = violations
        shown = "; ".join(violations[:3])
        more = f" (and {len(violations) - 3} more)" if len(violations) > 3 else ""
        super().__init__(f"{self.path}: rejected, {len(violations)} SHACL violation(s): {shown}{more}")


class StoreError(KbError):
    """The store cannot be opened or written."""


class QueryError(KbError):
    """A named query that does not exist, or a bad parameter or query."""
