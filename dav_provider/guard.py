"""Request limits in front of WsgiDAV, checked before any body is read or parsed.

WsgiDAV reads a whole XML body into memory (``util.parse_xml_body``), ignores
chunked XML bodies, answers ``PROPFIND Depth: infinity`` by walking the whole tree
and fails with a 500 on a path that is not UTF-8 (overlong sequences such as
``%C0%AE``). :class:`DavGuard` refuses those requests up front:

- a path or ``Destination`` that is not valid UTF-8: 400;
- a ``Destination`` that is no http(s) URL or absolute path (RFC 4918 §10.3), has a
  broken ``%`` escape or a control character (``%00``): 400 (WsgiDAV answers one on
  another host or scheme with 502); a ``MOVE`` or ``COPY`` without ``Host``: 400;
- ``PROPFIND`` with ``Depth: infinity`` (or none, which means infinity): 403 with the
  RFC 4918 ``propfind-finite-depth`` condition;
- ``PUT`` with a ``Content-Length`` above ``max_upload_bytes``: 413 before a byte of
  the body is read (chunked uploads are cut by the resource's own byte count);
- any other body above ``MAX_XML_BYTES``: 413; a chunked one is read up to that
  limit and handed on with its length.

Every answer carries ``Content-Security-Policy: sandbox``: a file is data for a
WebDAV client, so an HTML or SVG file opened in a browser on this origin runs no
script (the contact pages live on the same origin).

:class:`ErrorPrinter` replaces WsgiDAV's in the middleware stack so that a database
outage inside WsgiDAV is a 503 with ``Retry-After`` instead of a 500.
"""

from __future__ import annotations

import io
import re
from urllib.parse import unquote_to_bytes, urlsplit

from wsgidav.dav_error import HTTP_SERVICE_UNAVAILABLE, DAVError
from wsgidav.error_printer import ErrorPrinter as WsgiDavErrorPrinter

from gateway.numbers import whole_number_or_none
from gateway.serving.edge import DATABASE_ERRORS, UNAVAILABLE_RETRY_AFTER, drop_connection

#: Largest PROPFIND/PROPPATCH/LOCK body. Clients send a few kB; litmus under 10 kB.
MAX_XML_BYTES = 1024 * 1024

#: For every WebDAV answer: render nothing active, embed nowhere.
SANDBOX = ("Content-Security-Policy", "sandbox; default-src 'none'; frame-ancestors 'none'")

FINITE_DEPTH_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>\n'
)


_BROKEN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")  # strict: rejects overlong forms and lone surrogates
    except UnicodeDecodeError:
        return False
    return True


def _respond(
    start_response, status: str, body: bytes, content_type="text/plain; charset=utf-8", headers=()
) -> list[bytes]:
    start_response(
        status, [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]
    )
    return [body]


class DavGuard:
    """WSGI wrapper of the WsgiDAV app; see the module docstring."""

    def __init__(self, app, *, max_upload_bytes: int, max_xml_bytes: int = MAX_XML_BYTES):
        self.app = app
        self.max_upload_bytes = max_upload_bytes
        self.max_xml_bytes = max_xml_bytes

    def __call__(self, environ, start_response):
        def sandboxed(status, headers, exc_info=None):
            return start_response(status, [*headers, SANDBOX], exc_info)

        return self._guarded(environ, sandboxed)

    def _guarded(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        # PEP 3333: PATH_INFO holds the raw bytes as latin-1 characters.
        path_bytes = environ.get("PATH_INFO", "").encode("latin-1", "replace")
        destination = environ.get("HTTP_DESTINATION", "").encode("latin-1", "replace")
        if not _is_utf8(path_bytes) or not _is_utf8(unquote_to_bytes(destination)):
            return _respond(start_response, "400 Bad Request", b"path is not UTF-8\n")
        if "HTTP_DESTINATION" in environ or method in ("MOVE", "COPY"):
            refused = _destination_problem(environ)
            if refused is not None:
                return _respond(start_response, refused, b"bad destination\n")

        if method == "PROPFIND":
            depth = environ.get("HTTP_DEPTH", "infinity").strip().lower()
            if depth == "infinity":
                return _respond(
                    start_response,
                    "403 Forbidden",
                    FINITE_DEPTH_BODY,
                    "application/xml; charset=utf-8",
                )

        length = whole_number_or_none(environ.get("CONTENT_LENGTH") or "0")
        if length is None:  # gateway.serving.header_numbers refused it already, in the server
            return _respond(start_response, "400 Bad Request", b"bad Content-Length\n")
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if method == "PUT":
            if length > self.max_upload_bytes:
                return self._too_large(start_response)
        elif length > self.max_xml_bytes:
            return self._too_large(start_response)
        elif chunked:
            body = environ["wsgi.input"].read(self.max_xml_bytes + 1)
            if len(body) > self.max_xml_bytes:
                return self._too_large(start_response)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            del environ["HTTP_TRANSFER_ENCODING"]
        return self.app(environ, start_response)

    @staticmethod
    def _too_large(start_response):
        # cheroot closes the connection after a 413 instead of draining the body.
        return _respond(start_response, "413 Request Entity Too Large", b"request body too large\n")


def _destination_problem(environ) -> str | None:
    """The status refusing the request's ``Destination`` (or its lack of ``Host``),
    or None when WsgiDAV may compare it with ``Host`` and resolve it."""
    if not environ.get("HTTP_HOST"):
        return "400 Bad Request"  # WsgiDAV compares the Destination with it
    value = environ.get("HTTP_DESTINATION", "")
    if _BROKEN_ESCAPE.search(value) or _CONTROL.search(value):
        return "400 Bad Request"
    if _CONTROL.search(unquote_to_bytes(value).decode("utf-8")):  # %00, %0a...
        return "400 Bad Request"
    try:
        url = urlsplit(value)
    except ValueError:  # "http://[::1" and the like
        return "400 Bad Request"
    if not url.scheme and not url.netloc:
        return None if url.path.startswith("/") else "400 Bad Request"
    if url.scheme.lower() not in ("http", "https") or not url.netloc:
        return "400 Bad Request"
    return None  # WsgiDAV answers 502 for another host or scheme


class ErrorPrinter(WsgiDavErrorPrinter):
    """WsgiDAV's error printer, with database outages mapped to 503 + ``Retry-After``."""

    def __init__(self, wsgidav_app, next_app, config):
        super().__init__(wsgidav_app, _database_errors_as_503(next_app), config)


def _database_errors_as_503(app):
    def app_or_503(environ, start_response):
        body = None
        try:
            body = app(environ, start_response)
            yield from body
        except DATABASE_ERRORS:
            drop_connection()
            raise DAVError(
                HTTP_SERVICE_UNAVAILABLE,
                "database unavailable",
                add_headers=[("Retry-After", str(UNAVAILABLE_RETRY_AFTER))],
            ) from None
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return app_or_503
