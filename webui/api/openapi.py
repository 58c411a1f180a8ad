"""``GET /api/v1/openapi.json``: the API's OpenAPI 3.1 description, for anyone.

Written by hand in ``openapi.yaml`` next to the handlers (readable, with comments) and
served as JSON, converted once per process. The tests check every response they get
against it, so the document and the handlers cannot drift apart unnoticed.
"""

from __future__ import annotations

import functools
import importlib.resources
import json

import yaml
from werkzeug.wrappers import Request, Response


@functools.cache
def document() -> dict:
    text = importlib.resources.files(__package__).joinpath("openapi.yaml").read_text("utf-8")
    return yaml.safe_load(text)


@functools.cache
def _document_json() -> bytes:
    return json.dumps(document(), ensure_ascii=False, indent=1).encode("utf-8")


def serve_document(app, request: Request) -> Response:
    response = Response(_document_json(), content_type="application/json; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
