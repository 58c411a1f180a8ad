"""``/api/v1/contacts``: create, read and change contacts (the CRM's Adressen)."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from gateway.services import apikeys, contacts
from webui.api.body import Field, read_object
from webui.api.endpoint import endpoint
from webui.api.responses import json_response

CREATE_FIELDS = {
    "ref": Field(str, required=True),
    "name": Field(str, required=True),
    "email": Field(str, nullable=True),
}
CHANGE_FIELDS = {"name": Field(str), "email": Field(str)}


def contact_data(contact) -> dict:
    return {"ref": contact.ref, "name": contact.name, "email": contact.email}


@endpoint(apikeys.WRITE)
def create_contact(app, request: Request, caller) -> Response:
    """201 with the contact; 200 when it existed with the same values already."""
    body = read_object(request, CREATE_FIELDS)
    contact, created = contacts.provide_contact(body["ref"], body["name"], body.get("email"))
    return json_response(contact_data(contact), 201 if created else 200)


@endpoint(apikeys.WRITE)
def show_contact(app, request: Request, caller, ref: str) -> Response:
    return json_response(contact_data(contacts.get_contact(ref)))


@endpoint(apikeys.WRITE)
def change_contact(app, request: Request, caller, ref: str) -> Response:
    body = read_object(request, CHANGE_FIELDS)
    contact, _ = contacts.change_contact(ref, name=body.get("name"), email=body.get("email"))
    return json_response(contact_data(contact))
