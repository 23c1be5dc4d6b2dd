"""The web side of kb: a Flask app factory, one blueprint per area.

``create_app(test_config)`` builds the app (as in Flask's tutorial, flaskr):
the SPARQL endpoint (``sparql.py``) and the Linked Data pages
(``linked_data.py``).  Settings, with their defaults in ``DEFAULTS``:

    KB_STORE           the store directory (read-only; kb ingest may write it meanwhile)
    QUERY_TIMEOUT      seconds a query may run before its worker is stopped
    MAX_ROWS           rows (or triples) at most in an answer; more are cut off
    MAX_QUERY_LENGTH   characters at most in a query
    QUERY_WORKERS      worker processes that run queries
    QUERY_MEMORY       bytes of heap at most in a query worker (None: no cap)
    MAX_CONTENT_LENGTH bytes at most in a request body
    ALLOW_UPDATE       accept SPARQL Update (with UPDATE_TOKEN as a bearer token); off by default
    UPDATE_TOKEN       the token an update must carry
    UPDATE_TIMEOUT     seconds an update (validation included) may take

``kb serve`` runs the app under waitress (kb/web/server.py).

Two things hold for every answer, whichever blueprint gives it:

- the security headers of ``SECURITY_HEADERS`` (a Content-Security-Policy
  that allows scripts, styles and images from this server only, no framing,
  no sniffing, no referrer across origins);
- one error shape per format: an HTTP error at the endpoint (/sparql) is one
  line of text/plain, as the endpoint's own refusals are; a request for data
  (``?format=json``) gets ``{"ok": false, "status": N, "title": …, "error": …}``;
  a browser gets the HTML error page; anything else one line of text/plain.

``/openapi.json`` is the OpenAPI 3 description of the JSON views and the
endpoint (kb/web/openapi.json).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from .. import config

DEFAULTS = {
    "QUERY_TIMEOUT": 10.0,
    "MAX_ROWS": 10_000,
    "MAX_QUERY_LENGTH": 20_000,
    "QUERY_WORKERS": 2,
    "QUERY_MEMORY": 2 * 1024 ** 3,
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "ALLOW_UPDATE": False,
    "UPDATE_TOKEN": None,
    "UPDATE_TIMEOUT": 60.0,
}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}
OPENAPI = Path(__file__).with_name("openapi.json")
TEXT = "text/plain; charset=utf-8"


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

    app.add_url_rule("/openapi.json", "openapi", openapi)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(404, not_found)  # in place of pages' own: the same page, and a shape per format
    app.after_request(harden)
    return app


# ---------------------------------------------------------------- every answer

def openapi() -> Response:
    """The OpenAPI description of the JSON views and the endpoint, with this server as its server."""
    doc = json.loads(OPENAPI.read_text(encoding="utf-8"))
    doc["servers"] = [{"url": request.host_url.rstrip("/")}]
    return Response(json.dumps(doc, indent=1) + "\n", content_type="application/json")


def wants_json() -> bool:
    """A request for a view's data as JSON (``?format=json``)."""
    return (request.args.get("format") or "").strip().lower() == "json"


def is_endpoint() -> bool:
    return request.path.rstrip("/") == "/sparql"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_body(status: int, title: str, message: str) -> dict:
    return {"ok": False, "status": status, "title": title, "error": one_line(message)}


def http_error(exc: HTTPException) -> Response:
    """Any HTTP error no view answered itself (405, 413, 400 from parsing, a 500), in the shape of its format."""
    status = exc.code or 500
    title, message = exc.name, one_line(exc.description or exc.name)
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    if status == 405:
        message = f"{request.method} is not allowed at {request.path}; allowed: {dict(headers).get('Allow', '')}"
    if is_endpoint():
        response = Response(message + "\n", status=status, content_type=TEXT, headers=headers)
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif wants_json():
        response = Response(json.dumps(error_body(status, title, message)) + "\n", status=status,
                            content_type="application/json", headers=headers)
    elif request.accept_mimetypes.best_match(["text/plain", "text/html"]) == "text/html":
        body = render_template("pages/error.html", title=title, message=message)
        response = Response(body, status=status, content_type="text/html; charset=utf-8", headers=headers)
    else:
        response = Response(f"{title}: {message}\n", status=status, content_type=TEXT, headers=headers)
    return response


def not_found(exc: HTTPException) -> Response:
    """An unknown URL: the HTML 404 page for a browser, else as any other HTTP error."""
    if not is_endpoint() and not wants_json() and \
            request.accept_mimetypes.best_match(["text/plain", "text/html"]) == "text/html":
        from .pages import not_found_page

        return not_found_page(request.path)
    return http_error(exc)


def harden(response: Response) -> Response:
    """The security headers on every answer, and a JSON error for a JSON request a view answered in text."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if (response.status_code >= 400 and response.mimetype == "text/plain" and not is_endpoint()
            and wants_json() and not response.is_streamed):
        message = response.get_data(as_text=True)
        response.set_data(json.dumps(error_body(response.status_code, _reason(response), message)) + "\n")
        response.content_type = "application/json"
    return response


def _reason(response: Response) -> str:
    return HTTP_STATUS_CODES.get(response.status_code, str(response.status_code))
