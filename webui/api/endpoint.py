"""What every API handler shares: the bearer key and its scope, one transaction per
writing request, and domain errors as ``{"error": {"code", "message"}}``.

A handler is ``handler(app, request, caller, **values)`` wrapped in
:func:`endpoint`; it returns a response or raises :class:`ApiError` or a domain
error, and never half-applies a change: a write runs in one transaction that an
error rolls back whole.
"""

from __future__ import annotations

import functools

import peewee
from werkzeug.wrappers import Request, Response

from gateway.db import database
from gateway.errors import AccessDenied, AlreadyExists, InvalidInput, MailUnavailable, NotFound
from gateway.services import apikeys
from webui.api.responses import ApiError, error_response, unauthorized

#: Domain error → (status, code); the first match wins (MailUnavailable before its bases).
DOMAIN_ERRORS = (
    (MailUnavailable, 422, "mail_unavailable"),
    (NotFound, 404, "not_found"),
    (AlreadyExists, 409, "conflict"),
    (InvalidInput, 422, "invalid"),
)


def endpoint(scope: str):
    """Wrap a handler that needs a key of ``scope`` (``apikeys.READ`` or ``WRITE``);
    a ``write`` handler runs in one transaction."""
    apikeys.validate_scope(scope)

    def wrap(handler):
        @functools.wraps(handler)
        def run(app, request: Request, **values) -> Response:
            caller = apikeys.authenticate(request.headers.get("Authorization"))
            if caller is None:
                return unauthorized()
            try:
                apikeys.require_scope(caller, scope)
            except AccessDenied as exc:
                return error_response(403, str(exc))
            try:
                if scope == apikeys.WRITE:
                    with database.atomic():
                        return handler(app, request, caller, **values)
                return handler(app, request, caller, **values)
            except ApiError as exc:
                return exc.response()
            except tuple(error for error, _, _ in DOMAIN_ERRORS) as exc:
                status, code = next((s, c) for e, s, c in DOMAIN_ERRORS if isinstance(exc, e))
                return error_response(status, str(exc), code)
            except peewee.IntegrityError:
                # A request at the same moment wrote the same record first; the whole
                # transaction is rolled back, and sent again the request sees that record.
                return error_response(409, "a request at the same time changed this; send it again")

        return run

    return wrap
