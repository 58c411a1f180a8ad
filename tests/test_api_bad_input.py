"""Bad input to the provisioning API: unknown things (404), a create that conflicts
(409), too large (413), not JSON (400), wrong types and broken rules (422). Each
answer is JSON in the documented shape, and afterwards nothing was created or changed."""

from __future__ import annotations

import json

import pytest
import requests

from gateway.models import Contact, Credential, Grant, Property
from tests.api_client import CheckedApi
from tests.security import rawhttp

PROPERTY = {"key": "obj-17", "title": "Musterstraße 5, 90402 Nürnberg"}
CONTACT = {"ref": "4711", "name": "Erika Muster", "email": "erika@example.de"}


@pytest.fixture
def key(cli):
    result = cli("apikey", "create", "crm", "--scope", "write", "--json")
    return json.loads(result.stdout)["key"]


@pytest.fixture
def api(server, key):
    checked = CheckedApi(server.url)
    assert checked.post("/properties", key=key, json=PROPERTY).status_code == 201
    assert checked.post("/contacts", key=key, json=CONTACT).status_code == 201
    yield checked
    checked.close()


def stored() -> list:
    """Every row the API can create or change, as stored."""
    return [
        [(p.key, p.title, p.requires_consent) for p in Property.select().order_by(Property.key)],
        [(c.ref, c.name, c.email) for c in Contact.select().order_by(Contact.ref)],
        [(g.property_id, g.contact_id, g.active, g.expires) for g in Grant.select()],
        Credential.select().count(),
    ]


def refused(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert response.headers["Content-Type"].startswith("application/json")
    return error["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "names"),
    [
        ("GET", "/properties/obj-99", None, "obj-99"),
        ("PATCH", "/properties/obj-99", {"title": "Neu"}, "obj-99"),
        ("GET", "/properties/obj-99/users", None, "obj-99"),
        ("GET", "/contacts/9999", None, "9999"),
        ("PATCH", "/contacts/9999", {"name": "Max"}, "9999"),
        ("POST", "/grants", {"property": "obj-99", "contact": "4711"}, "obj-99"),
        ("POST", "/grants", {"property": "obj-17", "contact": "9999"}, "9999"),
        ("DELETE", "/grants/obj-99/4711", None, "obj-99"),
        ("DELETE", "/grants/obj-17/9999", None, "9999"),
        ("DELETE", "/grants/obj-17/4711", None, "no grant"),
    ],
)
def test_unknown_property_contact_or_grant_is_404(api, key, method, path, body, names):
    before = stored()
    message = refused(api.request(method, path, key=key, json=body), 404, "not_found")
    assert names in message
    assert stored() == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/properties", {**PROPERTY, "title": "Andere Straße 1"}),
        ("/properties", {**PROPERTY, "consent": False}),
        ("/contacts", {**CONTACT, "name": "Erika Beispiel"}),
        ("/contacts", {**CONTACT, "email": "other@example.de"}),
        ("/contacts", {"ref": "4711", "name": "Erika Muster"}),
    ],
)
def test_a_create_with_other_values_is_409_and_changes_nothing(api, key, path, body):
    before = stored()
    message = refused(api.post(path, key=key, json=body), 409, "conflict")
    assert "exists already" in message
    assert stored() == before


def test_an_oversized_body_is_413(api, key):
    before = stored()
    body = {"key": "obj-9", "title": "x" * 20_000}
    refused(api.post("/properties", key=key, json=body), 413, "too_large")
    assert stored() == before


def test_a_huge_declared_body_is_refused_before_it_is_sent(server, api, key):
    """The answer comes while 100 MB are still announced and never sent."""
    before = stored()
    answer = rawhttp.exchange(
        server.port,
        b"POST /api/v1/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization: Bearer {key}\r\n".encode()
        + b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
        + b'{"ref": "4712", "name": "',
        timeout=60,
    )
    assert answer.status == 413
    assert json.loads(answer.body)["error"]["code"] == "too_large"
    assert stored() == before


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"{'key': 'obj-9'}",
        b'{"key": "obj-9", "title": "Neu"} trailing',
        b'{"key": "obj-9", "title": NaN}',
        b'{"key": "obj-9", "title": "\xff\xfe"}',
        b"[" * 8_000 + b"]" * 8_000,
    ],
    ids=["empty", "cut", "single quotes", "trailing", "NaN", "not UTF-8", "deep"],
)
def test_a_body_that_is_not_json_is_400(api, key, raw):
    before = stored()
    response = api.post(
        "/properties", key=key, data=raw, headers={"Content-Type": "application/json"}
    )
    refused(response, 400, "malformed_json")
    assert stored() == before


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/properties", [PROPERTY], "JSON object"),
        ("/properties", "obj-9", "JSON object"),
        ("/properties", {"key": 9, "title": "Neu"}, "'key' must be a string"),
        ("/properties", {"key": "obj-9", "title": ["Neu"]}, "'title' must be a string"),
        ("/properties", {"key": "obj-9", "title": "Neu", "consent": "no"}, "true or false"),
        ("/properties", {"key": "obj-9", "title": "Neu", "consent": 0}, "true or false"),
        ("/properties", {"key": "obj-9", "title": None}, "'title' must be a string"),
        ("/properties", {"key": "obj-9"}, "'title' is required"),
        ("/properties", {"key": "obj-9", "title": "Neu", "owner": "x"}, "unknown field 'owner'"),
        ("/contacts", {"ref": 4712, "name": "Max"}, "'ref' must be a string"),
        ("/contacts", {"ref": "4712", "name": "Max", "email": 1}, "string or null"),
        ("/grants", {"property": "obj-17", "contact": "4711", "send": "yes"}, "true or false"),
        ("/grants", {"property": "obj-17", "contact": "4711", "expires": 20990101}, "string"),
        ("/grants", {"property": "obj-17", "contact": ["4711"]}, "'contact' must be a string"),
    ],
)
def test_wrong_types_are_422(api, key, path, body, says):
    before = stored()
    assert says in refused(api.post(path, key=key, json=body), 422, "invalid")
    assert stored() == before


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/properties", {"key": ".hidden", "title": "Neu"}, "invalid property key"),
        ("/properties", {"key": "../obj", "title": "Neu"}, "invalid property key"),
        ("/properties", {"key": "obj-9", "title": "  "}, "title is empty"),
        ("/properties", {"key": "obj-9", "title": "x" * 301}, "longer than 300"),
        ("/properties", {"key": "obj-9", "title": "Neu\nZeile"}, "control character"),
        ("/properties", {"key": "obj-9", "title": "Neu\x00"}, "control character"),
        ("/properties", {"key": "obj-9", "title": "Neu\ud800"}, "control character"),
        ("/contacts", {"ref": "47 12", "name": "Max"}, "invalid contact ref"),
        ("/contacts", {"ref": "4712", "name": "x" * 201}, "longer than 200"),
        ("/contacts", {"ref": "4712", "name": "Max", "email": "max"}, "invalid e-mail"),
        ("/contacts", {"ref": "4712", "name": "Max", "email": "a@b.de\r\nBcc: x@y.de"}, "e-mail"),
        ("/grants", {"property": "obj-17", "contact": "4711", "expires": "2001-01-01"}, "past"),
        ("/grants", {"property": "obj-17", "contact": "4711", "expires": "2099-W01-1"}, "date"),
        ("/grants", {"property": "obj-17", "contact": "4711", "expires": "2099-02-30"}, "day"),
    ],
)
def test_values_against_a_rule_are_422(api, key, path, body, says):
    before = stored()
    assert says in refused(api.post(path, key=key, json=body), 422, "invalid")
    assert stored() == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/properties/obj-17", {"title": "Neu", "consent": "off"}),
        ("/properties/obj-17", {"title": "Neu\x07"}),
        ("/contacts/4711", {"name": "Erika Beispiel", "email": "not an address"}),
        ("/contacts/4711", {"email": None}),
    ],
)
def test_a_refused_change_changes_no_field(api, key, path, body):
    """A change of two fields where one is bad leaves both as they were."""
    before = stored()
    refused(api.patch(path, key=key, json=body), 422, "invalid")
    assert stored() == before


def test_send_is_refused_while_no_invitation_can_go_out(api, key):
    before = stored()
    body = {"property": "obj-17", "contact": "4711", "send": True}
    refused(api.post("/grants", key=key, json=body), 422, "mail_unavailable")
    assert stored() == before


def test_unknown_api_paths_and_methods_answer_in_the_api_shape(server, key):
    auth = {"Authorization": f"Bearer {key}"}
    missing = requests.get(server.url + "/api/v1/nothing", headers=auth, timeout=30)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = requests.put(server.url + "/api/v1/grants", headers=auth, timeout=30)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert "POST" in wrong.headers["Allow"]
