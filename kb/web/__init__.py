"""The web side of kb: a Flask app factory, one blueprint per area.

``create_app(test_config)`` builds the app (as in Flask's tutorial, flaskr):
the SPARQL endpoint (``sparql.py``) and the Linked Data pages
(``linked_data.py``).  Settings, with their defaults in ``DEFAULTS``:

    KB_STORE           the store directory (read-only; kb ingest may write it meanwhile)
    QUERY_TIMEOUT      seconds a query may run before its worker is stopped
    MAX_ROWS           rows (or triples) at most in an answer; more are cut off
    MAX_QUERY_LENGTH   characters at most in a query
    QUERY_WORKERS      worker processes that run queries
    MAX_CONTENT_LENGTH bytes at most in a request body
    ALLOW_UPDATE       accept SPARQL Update (with UPDATE_TOKEN as a bearer token); off by default
    UPDATE_TOKEN       the token an update must carry
    UPDATE_TIMEOUT     seconds an update (validation included) may take

``kb serve`` runs the app under waitress (kb/web/server.py).
"""
from __future__ import annotations

from typing import Mapping

from flask import Flask

from .. import config

DEFAULTS = {
    "QUERY_TIMEOUT": 10.0,
    "MAX_ROWS": 10_000,
    "MAX_QUERY_LENGTH": 20_000,
    "QUERY_WORKERS": 2,
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "ALLOW_UPDATE": False,
    "UPDATE_TOKEN": None,
    "UPDATE_TIMEOUT": 60.0,
}


def create_app(test_config: Mapping | None = None) -> Flask:
    """The kb web app; ``test_config`` overrides the settings (KB_STORE defaults to $KB_STORE)."""
    app = Flask(__name__)
    app.config.from_mapping(KB_STORE=config.default_store(), **DEFAULTS)
    if test_config:
        app.config.from_mapping(test_config)

    from . import sparql

    sparql.init_app(app)

    from . import linked_data

    linked_data.init_app(app)

    from . import pages

    pages.init_app(app)
    from . import explore; explore.init_app(app)
    return app
