"""``/api/v1/events``: the CRM's pull of tracking events, paged by cursor.

``Authorization: Bearer KEY`` with a key from ``immoshare apikey create``. Every
failure to authenticate is the same 401, so a caller learns nothing about which
keys exist or existed; a bad ``since`` or ``limit`` is a 400 with the reason. Each
pull records the key's cursor, so ``immoshare doctor`` can tell a CRM that fell behind.
"""

from __future__ import annotations

import json

from werkzeug.wrappers import Request, Response

from gateway.errors import InvalidInput
from gateway.services import apikeys, export


def _json(data: dict, status: int = 200) -> Response:
    response = Response(
        json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def events(app, request: Request) -> Response:
    """``{"events": [...], "next": CURSOR}``: events after ``since``, at most ``limit``."""
    key = apikeys.authenticate(request.headers.get("Authorization"))
    if key is None:
        response = _json({"error": "unauthorized"}, 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="immoshare"'
        return response
    try:
        limit = export.parse_limit(request.args.get("limit"))
        page = export.page_after(request.args.get("since"), limit)
    except InvalidInput as exc:
        return _json({"error": str(exc)}, 400)
    apikeys.record_pull(key, page.since)
    return _json({"events": page.events, "next": page.next})
