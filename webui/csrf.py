"""CSRF protection of the consent form: a signed double-submit cookie plus the
browser's own ``Sec-Fetch-Site``/``Origin`` statement.

The form carries an HMAC (under the home's link key) of the cookie's random value and
the grant, so a page elsewhere can neither read nor forge it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from werkzeug.wrappers import Request

COOKIE = "immoshare_csrf"


def cookie_value(request: Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value and len(value) == 43 else None


def new_cookie_value() -> str:
    return secrets.token_urlsafe(32)


def form_token(key: bytes, cookie: str, scope: str) -> str:
    return hmac.new(key, f"csrf:{scope}:{cookie}".encode(), hashlib.sha256).hexdigest()


def same_origin(request: Request, public_host: str | None) -> bool:
    """False when the browser says the POST came from another site. Browsers send
    ``Sec-Fetch-Site``; older ones only ``Origin``, compared with the Host header
    and the host of ``base_url`` (a proxy may rewrite Host)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc in (request.host, public_host)


def valid(request: Request, key: bytes, scope: str, public_host: str | None) -> bool:
    cookie = cookie_value(request)
    submitted = request.form.get("csrf", "")
    if cookie is None or not same_origin(request, public_host):
        return False
    return hmac.compare_digest(submitted.encode(), form_token(key, cookie, scope).encode())
