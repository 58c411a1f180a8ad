"""The edge every request passes first: the real client, rate limits, security headers,
and a clear 503 while the database is away.

Plain WSGI around the whole site (web pages, WebDAV, API), so nothing behind it can
forget a header or a limit:

- ``REMOTE_ADDR`` and ``wsgi.url_scheme`` are the client's, from ``X-Forwarded-*``
  of trusted proxies only (:mod:`gateway.serving.clientaddr`);
- a client with too many failed attempts (wrong password, unknown link token, bad API
  key) gets 429 with ``Retry-After`` before anything is looked up
  (:mod:`gateway.serving.ratelimit`);
- a number header out of bounds gets 400 before anything parses it
  (:mod:`gateway.serving.header_numbers`);
- every response says ``nosniff``; every HTML response carries a strict
  Content-Security-Policy (no inline script, ``frame-ancestors 'none'``); HTTPS
  responses carry ``Strict-Transport-Security``. This is the one place these are
  written; the adapters add only their own (WebDAV's sandbox for files, the
  personal links' ``no-store`` and ``no-referrer``);
- a database that is locked or unreachable gives 503 with ``Retry-After``, and the
  worker's broken connection is dropped so the client's retry reconnects.
"""

from __future__ import annotations

import sys

import peewee
from playhouse.pool import MaxConnectionsExceeded

from gateway import urls
from gateway.db import database
from gateway.serving import header_numbers
from gateway.serving.clientaddr import apply_forwarded, limit_key
from gateway.serving.ratelimit import RateLimiter

#: Raised by peewee when the database is locked, gone, or its pool is exhausted.
DATABASE_ERRORS = (peewee.OperationalError, peewee.InterfaceError, MaxConnectionsExceeded)
#: Seconds a client is asked to wait before retrying after a 503.
UNAVAILABLE_RETRY_AFTER = 5

#: (path prefix, rate-limit scope, status that is a failed attempt, only with credentials)
LIMITED_PATHS = (
    (urls.AGENT_DAV + "/", "login", 401, True),
    (urls.CONTACT_DAV + "/", "login", 401, True),
    # the dashboard's login form: a wrong password is a failed login like WebDAV's
    (urls.AGENT_DASHBOARD + "/login/", "login", 401, False),
    (urls.SHARE + "/", "link", 404, False),
    (urls.PREVIEW + "/", "link", 404, False),
    (urls.API + "/", "api", 401, True),
)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HTML_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000")


def drop_connection() -> None:
    """Close this thread's database connection after a failure, so that the next
    request opens a fresh one instead of reusing a dead or poisoned one."""
    try:
        close = getattr(database.obj, "manual_close", None) or database.close
        close()
    except Exception:  # noqa: BLE001 - a dead connection may fail to close; it is gone
        pass


def _limited(path: str) -> tuple[str, int, bool] | None:
    for prefix, scope, status, needs_credentials in LIMITED_PATHS:
        if (path + "/").startswith(prefix):
            return scope, status, needs_credentials
    return None


def _plain(start_response, status: str, text: str, headers=(), exc_info=None) -> list[bytes]:
    body = text.encode()
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *headers,
        ],
        exc_info,
    )
    return [body]


class Edge:
    """Wraps the site's WSGI app; see the module docstring."""

    def __init__(self, app, *, limiter: RateLimiter, trusted_proxies: tuple = ()):
        self.app = app
        self.limiter = limiter
        self.trusted = trusted_proxies

    def __call__(self, environ, start_response):
        apply_forwarded(environ, self.trusted)
        https = environ.get("wsgi.url_scheme") == "https"
        limited = _limited(environ.get("PATH_INFO", ""))
        client = limit_key(environ.get("REMOTE_ADDR", ""))

        def respond(status, headers, exc_info=None):
            names = {name.lower() for name, _ in headers}
            content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
            extra = [("X-Content-Type-Options", "nosniff")]
            if content_type.lower().startswith("text/html"):
                extra += HTML_HEADERS
            if https:
                extra.append(HSTS)
            headers = list(headers) + [(n, v) for n, v in extra if n.lower() not in names]
            if limited is not None:
                scope, failure_status, needs_credentials = limited
                if status.startswith(str(failure_status)) and (
                    not needs_credentials or environ.get("HTTP_AUTHORIZATION")
                ):
                    self.limiter.failed(scope, client)
            return start_response(status, headers, exc_info)

        if limited is not None:
            wait = self.limiter.retry_after(limited[0], client)
            if wait is not None:
                return _plain(
                    respond,
                    "429 Too Many Requests",
                    "Zu viele Fehlversuche. Bitte später erneut versuchen.\n"
                    "Too many failed attempts; try again later.\n",
                    [("Retry-After", str(wait))],
                )
        refused = header_numbers.refuse_or_clean(environ)
        if refused is not None:
            return _plain(
                respond,
                "400 Bad Request",
                f"Ungültige Anfrage: der Header {refused} ist fehlerhaft.\n"
                f"Bad request: the {refused} header is malformed.\n",
            )
        try:
            return self.app(environ, respond)
        except DATABASE_ERRORS:
            drop_connection()
            return _plain(
                respond,
                "503 Service Unavailable",
                "Vorübergehend nicht verfügbar. Bitte gleich erneut versuchen.\n"
                "Temporarily unavailable; please retry shortly.\n",
                [("Retry-After", str(UNAVAILABLE_RETRY_AFTER))],
                sys.exc_info(),
            )
