"""Reused access answers never outlive a change.

A server process on SQLite reuses the answer to "may this login see this property"
until a change to the access tables is committed by any process. These tests warm
that reuse in a served process, change access through the CLI in this (another)
process, and expect the very next request to see the change: no waiting.
"""

from __future__ import annotations

import pytest
import requests

from gateway.db import changes_access
from gateway.models import AccessEvent, Agent, ConsentRecord, Contact, Credential, Grant, Property
from tests.factories import AGENT_PASSWORD, make_agent, make_contact, make_grant, make_property
from tests.tools import ServerProcess

pytestmark = pytest.mark.server

WARM = 3  # requests that fill the reuse before each change


@pytest.fixture
def served(home, config):
    make_agent()
    make_property(config, "obj-1", "Musterstraße 5", files={"plan.pdf": b"%PDF-plan"})
    make_contact("4711")
    granted = make_grant(config, "obj-1", "4711")
    process = ServerProcess(home)
    yield process, granted
    process.stop()


def _warm(url: str, auth=None) -> None:
    for _ in range(WARM):
        assert requests.get(url, auth=auth).status_code == 200


def test_revoke_and_grant_again_hold_at_once(served, cli):
    server, granted = served
    contact = (granted.username, granted.password)
    dav = server.url + "/view/obj-1/plan.pdf"
    download = server.url + "/s/" + granted.link.rsplit("/", 1)[1] + "/download/plan.pdf"
    _warm(dav, contact)
    _warm(download)

    assert cli("revoke", "obj-1", "4711").exit_code == 0
    assert requests.get(dav, auth=contact).status_code == 404
    assert requests.get(download).status_code == 404

    assert cli("grant", "obj-1", "4711").exit_code == 0
    assert requests.get(dav, auth=contact).status_code == 200
    assert requests.get(download).status_code == 200


def test_removed_property_agent_and_erased_contact_hold_at_once(served, cli):
    server, granted = served
    contact = (granted.username, granted.password)
    agent = ("anna", AGENT_PASSWORD)
    _warm(server.url + "/dav/obj-1/plan.pdf", agent)
    _warm(server.url + "/view/obj-1/plan.pdf", contact)

    assert cli("contact", "erase", "4711", "--yes").exit_code == 0
    assert requests.get(server.url + "/view/obj-1/plan.pdf", auth=contact).status_code == 401

    assert cli("property", "remove", "obj-1", input="y\n").exit_code == 0
    assert requests.get(server.url + "/dav/obj-1/plan.pdf", auth=agent).status_code == 404

    assert cli("agent", "remove", "anna", input="y\n").exit_code == 0
    assert requests.get(server.url + "/dav/", auth=agent).status_code == 401


def test_writes_to_the_access_tables_are_told_apart_from_tracking(home, config):
    """On the SQL peewee really sends: a tracking insert must not throw the reused
    answers away (it comes with every download); every access change must."""
    changing = [
        Grant.update(active=False).where(Grant.id == 1),
        Credential.delete().where(Credential.id == 1),
        Contact.insert(ref="1", name="x"),
        Property.update(title="x"),
        Agent.delete(),
        ConsentRecord.delete(),
    ]
    for query in changing:
        assert changes_access(query.sql()[0]), query.sql()[0]
    assert changes_access('ALTER TABLE "grant" ADD COLUMN "x" INTEGER')
    keeping = [AccessEvent.insert(uid="u", property="p"), Grant.select(), Property.select()]
    for query in keeping:
        assert not changes_access(query.sql()[0]), query.sql()[0]
