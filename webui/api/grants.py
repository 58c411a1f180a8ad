"""``/api/v1/grants``: give a contact a property (the fields of ``grant --json``,
link and WebDAV login included) and revoke it."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from gateway.errors import InvalidInput
from gateway.jsonable import to_jsonable
from gateway.services import apikeys, grants, provisioning
from webui.api.body import Field, read_object
from webui.api.endpoint import endpoint
from webui.api.responses import json_response, no_content

CREATE_FIELDS = {
    "property": Field(str, required=True),
    "contact": Field(str, required=True),
    "expires": Field(str, nullable=True),
    "send": Field(bool),
}


@endpoint(apikeys.WRITE)
def create_grant(app, request: Request, caller) -> Response:
    """201 when the grant is new, 200 when it existed (re-activated, updated or
    unchanged: ``state`` says which). Without ``expires`` an existing grant keeps its
    expiry; ``"expires": null`` removes it."""
    body = read_object(request, CREATE_FIELDS)
    expires = grants.KEEP_EXPIRY
    if "expires" in body:
        try:
            expires = grants.parse_date(body["expires"])
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
    result = provisioning.provide_grant(
        app.config,
        body["property"],
        body["contact"],
        expires=expires,
        send=body.get("send", False),
    )
    status = 201 if result.state == grants.CREATED else 200
    return json_response(to_jsonable(result), status)


@endpoint(apikeys.WRITE)
def revoke_grant(app, request: Request, caller, property_key: str, ref: str) -> Response:
    grants.revoke_access(property_key, ref)
    return no_content()
