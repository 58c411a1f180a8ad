"""A CRM provisions through ``/api/v1/`` only, against the running server: property,
contact, grant, who has access, changes, revoke. Every response is checked against
``/api/v1/openapi.json`` (tests/api_client.py), and a read-only key may write nothing."""

from __future__ import annotations

import concurrent.futures
import json
import re
import threading
from urllib.parse import urlsplit

import pytest
import requests

from gateway.models import Grant
from tests.api_client import CheckedApi
from tests.factories import make_consent_texts
from webui.routes import API_ROUTES

PROPERTY = {"key": "obj-17", "title": "Musterstraße 5, 90402 Nürnberg"}
CONTACT = {"ref": "4711", "name": "Erika Muster", "email": "erika@example.de"}


@pytest.fixture
def api(server):
    make_consent_texts()  # the properties ask for consent: the agency's texts are set
    checked = CheckedApi(server.url)
    yield checked
    checked.close()


def new_key(cli, name: str, scope: str) -> str:
    result = cli("apikey", "create", name, "--scope", scope, "--json")
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert created["scope"] == scope
    return created["key"]


@pytest.fixture
def write_key(cli):
    return new_key(cli, "crm-sync", "write")


@pytest.fixture
def read_key(cli):
    return new_key(cli, "crm-report", "read")


def cli_json(cli, *args):
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_crm_provisions_a_contact_through_http_only(server, api, cli, write_key):
    key = write_key

    created = api.post("/properties", key=key, json=PROPERTY)
    assert created.status_code == 201
    assert created.json() == {**PROPERTY, "consent": True}
    again = api.post("/properties", key=key, json=PROPERTY)
    assert (again.status_code, again.json()) == (200, created.json())

    contact = api.post("/contacts", key=key, json=CONTACT)
    assert (contact.status_code, contact.json()) == (201, CONTACT)
    again = api.post("/contacts", key=key, json=CONTACT)
    assert (again.status_code, again.json()) == (200, CONTACT)
    assert api.get("/contacts/4711", key=key).json() == CONTACT

    granted = api.post(
        "/grants", key=key, json={"property": "obj-17", "contact": "4711", "expires": "2099-03-31"}
    )
    assert granted.status_code == 201
    grant = granted.json()
    assert set(grant) == {
        "property",
        "contact",
        "link",
        "dav_url",
        "username",
        "password",
        "expires",
        "state",
    }
    assert (grant["state"], grant["expires"], grant["username"]) == (
        "created",
        "2099-03-31",
        "4711",
    )
    assert grant["password"]
    # The link and the WebDAV login work: the contact page answers, /view/ lets them in.
    page = requests.get(server.url + urlsplit(grant["link"]).path, timeout=30)
    assert page.status_code == 200 and "Musterstraße 5" in page.text
    dav = requests.request(
        "PROPFIND",
        server.url + urlsplit(grant["dav_url"]).path,
        auth=(grant["username"], grant["password"]),
        headers={"Depth": "1"},
        timeout=30,
    )
    assert dav.status_code == 207

    # Granting again without "expires" keeps the expiry and changes nothing.
    regrant = api.post("/grants", key=key, json={"property": "obj-17", "contact": "4711"})
    assert regrant.status_code == 200
    assert regrant.json() == {**grant, "password": None, "state": "unchanged"}

    users = api.get("/properties/obj-17/users", key=key)
    assert users.json() == {"users": cli_json(cli, "users", "obj-17")}
    assert [(u["contact"], u["active"], u["expires"]) for u in users.json()["users"]] == [
        ("4711", True, "2099-03-31")
    ]

    changed = api.patch(
        "/properties/obj-17", key=key, json={"title": "Musterstr. 5", "consent": False}
    )
    assert changed.json() == {"key": "obj-17", "title": "Musterstr. 5", "consent": False}
    assert [(p["title"], p["consent_required"]) for p in cli_json(cli, "property", "list")] == [
        ("Musterstr. 5", False)
    ]
    moved = api.patch("/contacts/4711", key=key, json={"email": "erika.muster@example.de"})
    assert moved.json() == {**CONTACT, "email": "erika.muster@example.de"}
    assert api.get("/properties", key=key).json() == {"properties": [changed.json()]}

    revoked = api.delete("/grants/obj-17/4711", key=key)
    assert revoked.status_code == 204 and revoked.content == b""
    assert requests.get(server.url + urlsplit(grant["link"]).path, timeout=30).status_code == 404
    assert [u["active"] for u in api.get("/properties/obj-17/users", key=key).json()["users"]] == [
        False
    ]
    # Granting again re-activates the same link.
    back = api.post("/grants", key=key, json={"property": "obj-17", "contact": "4711"})
    assert (back.status_code, back.json()["state"], back.json()["link"]) == (
        200,
        "reactivated",
        grant["link"],
    )
    assert api.get("/events", key=key).status_code == 200


def test_grant_expiry_is_kept_changed_or_removed(api, write_key):
    key = write_key
    api.post("/properties", key=key, json=PROPERTY)
    api.post("/contacts", key=key, json=CONTACT)
    body = {"property": "obj-17", "contact": "4711"}
    assert api.post("/grants", key=key, json={**body, "expires": "2099-01-31"}).status_code == 201
    updated = api.post("/grants", key=key, json={**body, "expires": "2099-06-30"}).json()
    assert (updated["state"], updated["expires"]) == ("updated", "2099-06-30")
    kept = api.post("/grants", key=key, json=body).json()
    assert (kept["state"], kept["expires"]) == ("unchanged", "2099-06-30")
    removed = api.post("/grants", key=key, json={**body, "expires": None}).json()
    assert (removed["state"], removed["expires"]) == ("updated", None)


#: Every route that writes, with a body that would succeed for a write key.
WRITES = [
    ("POST", "/properties", {"key": "obj-9", "title": "Neu"}),
    ("PATCH", "/properties/obj-17", {"title": "Geändert"}),
    ("POST", "/contacts", {"ref": "4712", "name": "Max Muster"}),
    ("GET", "/contacts/4711", None),
    ("PATCH", "/contacts/4711", {"name": "Erika Beispiel"}),
    ("POST", "/grants", {"property": "obj-17", "contact": "4711"}),
    ("DELETE", "/grants/obj-17/4711", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_a_read_key_gets_403_on_writes_and_changes_nothing(
    api, cli, write_key, read_key, method, path, body
):
    api.post("/properties", key=write_key, json=PROPERTY)
    api.post("/contacts", key=write_key, json=CONTACT)
    before = snapshot(cli)
    refused = api.request(method, path, key=read_key, json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert "--scope write" in refused.json()["error"]["message"]
    assert snapshot(cli) == before


def test_a_read_key_reads_events_properties_and_users(api, write_key, read_key):
    api.post("/properties", key=write_key, json=PROPERTY)
    assert api.get("/events", key=read_key).status_code == 200
    assert api.get("/properties", key=read_key).json()["properties"][0]["key"] == "obj-17"
    assert api.get("/properties/obj-17", key=read_key).status_code == 200
    assert api.get("/properties/obj-17/users", key=read_key).json() == {"users": []}


@pytest.mark.parametrize("header", [None, "Bearer imk_not-a-key", "Basic Y3JtOnNlY3JldA=="])
def test_writes_without_a_valid_key_get_401(api, cli, header):
    headers = {"Authorization": header} if header else {}
    r = api.post("/properties", headers=headers, json={"key": "obj-9", "title": "Neu"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert cli_json(cli, "property", "list") == []


def test_the_document_describes_exactly_the_routes_served(api):
    """Each route of the route table is in openapi.json with its method, and no other."""
    served = set()
    for rule in API_ROUTES:
        path = re.sub(r"<(?:path:)?(\w+)>", r"{\1}", rule.rule).replace("{property_key}", "{key}")
        served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    described = {
        (path, method)
        for path, item in api.document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert served == described


def snapshot(cli) -> dict:
    """What a change through the API could have touched, as the CLI shows it."""
    properties = cli_json(cli, "property", "list")
    return {
        "properties": properties,
        "contacts": cli_json(cli, "contact", "list"),
        "users": {p["key"]: cli_json(cli, "users", p["key"]) for p in properties},
    }


@pytest.mark.each_database
def test_the_same_create_sent_at_once_creates_one_record(server, cli, write_key):
    """A CRM that retries while its first request still runs: one 201, the rest 200
    (or 503, "try again", while SQLite is busy), never a 500 or a second record."""
    bodies = [("/contacts", CONTACT), ("/properties", PROPERTY)] * 6
    barrier = threading.Barrier(len(bodies))

    def send(path_body):
        path, body = path_body
        with CheckedApi(server.url) as api:
            barrier.wait(timeout=60)
            return path, api.post(path, key=write_key, json=body).status_code

    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(send, bodies))
    for path in ("/contacts", "/properties"):
        statuses = [status for p, status in answers if p == path]
        assert set(statuses) <= {200, 201, 503}, statuses
        assert statuses.count(201) == 1, statuses
    assert [c["ref"] for c in cli_json(cli, "contact", "list")] == ["4711"]
    assert [p["key"] for p in cli_json(cli, "property", "list")] == ["obj-17"]


def test_revoking_twice_answers_204_and_keeps_the_first_time(api, cli, write_key):
    api.post("/properties", key=write_key, json=PROPERTY)
    api.post("/contacts", key=write_key, json=CONTACT)
    api.post("/grants", key=write_key, json={"property": "obj-17", "contact": "4711"})
    assert api.delete("/grants/obj-17/4711", key=write_key).status_code == 204
    first = Grant.get().revoked_at
    assert api.delete("/grants/obj-17/4711", key=write_key).status_code == 204
    assert Grant.get().revoked_at == first
    assert "was revoked" in cli("link", "obj-17", "4711").stderr
