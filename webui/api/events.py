"""``GET /api/v1/events``: the CRM's pull of tracking events, paged by cursor.

Every failure to authenticate is the same 401, so a caller learns nothing about which
keys exist or existed; a bad ``since`` or ``limit`` is a 400 with the reason. Each
pull records the key's cursor, so ``immoshare doctor`` can tell a CRM that fell behind.
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from gateway.errors import InvalidInput
from gateway.services import apikeys, export
from webui.api.endpoint import endpoint
from webui.api.responses import ApiError, json_response


@endpoint(apikeys.READ)
def list_events(app, request: Request, caller) -> Response:
    """``{"events": [...], "next": CURSOR}``: events after ``since``, at most ``limit``."""
    try:
        limit = export.parse_limit(request.args.get("limit"))
        page = export.page_after(request.args.get("since"), limit)
    except InvalidInput as exc:
        raise ApiError(400, str(exc), "bad_parameter") from None
    apikeys.record_pull(caller, page.since)
    return json_response({"events": page.events, "next": page.next})
