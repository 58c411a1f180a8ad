"""``/api/v1/properties``: list, create, read and change properties, and who has
access to one (the rows of ``immoshare users KEY --json``)."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from gateway.jsonable import to_jsonable
from gateway.services import apikeys, grants, properties
from webui.api.body import Field, read_object
from webui.api.endpoint import endpoint
from webui.api.responses import json_response

CREATE_FIELDS = {
    "key": Field(str, required=True),
    "title": Field(str, required=True),
    "consent": Field(bool),
}
CHANGE_FIELDS = {"title": Field(str), "consent": Field(bool)}


def property_data(prop) -> dict:
    return {"key": prop.key, "title": prop.title, "consent": prop.requires_consent}


@endpoint(apikeys.READ)
def list_properties(app, request: Request, caller) -> Response:
    return json_response({"properties": [property_data(p) for p in properties.list_properties()]})


@endpoint(apikeys.WRITE)
def create_property(app, request: Request, caller) -> Response:
    """201 with the property; 200 when it existed with the same values already."""
    body = read_object(request, CREATE_FIELDS)
    prop, created = properties.provide_property(
        app.config, body["key"], body["title"], requires_consent=body.get("consent", True)
    )
    return json_response(property_data(prop), 201 if created else 200)


@endpoint(apikeys.READ)
def show_property(app, request: Request, caller, property_key: str) -> Response:
    return json_response(property_data(properties.get_property(property_key)))


@endpoint(apikeys.WRITE)
def change_property(app, request: Request, caller, property_key: str) -> Response:
    body = read_object(request, CHANGE_FIELDS)
    prop, _ = properties.update_property(
        property_key, title=body.get("title"), requires_consent=body.get("consent")
    )
    return json_response(property_data(prop))


@endpoint(apikeys.READ)
def list_users(app, request: Request, caller, property_key: str) -> Response:
    return json_response({"users": to_jsonable(grants.list_users(property_key))})
