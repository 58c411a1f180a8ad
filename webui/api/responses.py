"""JSON answers of the API, errors in the one shape ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import json

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

#: The ``code`` of each error status the API answers with (plus ``mail_unavailable``,
#: a 422 of its own). ``openapi.yaml`` lists them per route.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    500: "internal",
}


class ApiError(Exception):
    """An answer other than success, raised by a handler and rendered once."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code or CODES[status]
        self.message = message

    def response(self) -> Response:
        return error_response(self.status, self.message, self.code)


def json_response(data, status: int = 200) -> Response:
    response = Response(
        json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def error_response(status: int, message: str, code: str | None = None) -> Response:
    return json_response({"error": {"code": code or CODES[status], "message": message}}, status)


def no_content() -> Response:
    response = Response(status=204)
    response.headers["Cache-Control"] = "no-store"
    return response


def unauthorized() -> Response:
    """The same 401 for a missing, malformed, wrong or revoked key."""
    response = error_response(401, "a valid API key is required (Authorization: Bearer KEY)")
    response.headers["WWW-Authenticate"] = 'Bearer realm="immoshare"'
    return response


def from_http_exception(exc: HTTPException) -> Response:
    """An unknown ``/api/v1/`` path or method in the API's own shape, not as a web page."""
    status = exc.code if exc.code in CODES else 400
    messages = {404: "no such API route — see /api/v1/openapi.json"}
    response = error_response(status, messages.get(status, exc.name.lower()))
    if status == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response
