"""Where kb finds its data files and store, and the base of the IRIs it mints.

Everything here can be overridden from the environment, so that a deployment
can mint IRIs under its own domain (KB_BASE), keep its store elsewhere
(KB_STORE) or use its own ontology and queries (KB_ONTOLOGY, KB_QUERIES).
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

DEFAULT_BASE = "https://kb.example.org/"


def base_iri() -> str:
    base = os.environ.get("KB_BASE", DEFAULT_BASE)
    return base if base.endswith(("/", "#")) else base + "/"


def ontology_dir() -> Path:
    return Path(os.environ.get("KB_ONTOLOGY", PROJECT_DIR / "ontology"))


def queries_dir() -> Path:
    return Path(os.environ.get("KB_QUERIES", PROJECT_DIR / "queries"))


def seeds_dir() -> Path:
    return PROJECT_DIR / "seeds"


def default_store() -> str:
    """The store directory: $KB_STORE, else ./.kb/store in the working directory."""
    return os.environ.get("KB_STORE", str(Path.cwd() / ".kb" / "store"))


def shacl_engine() -> str:
    """The SHACL engine that validates: $KB_SHACL_ENGINE, 'pyshacl' (the default and the reference) or 'turbo'."""
    return os.environ.get("KB_SHACL_ENGINE", "pyshacl").strip().lower() or "pyshacl"
