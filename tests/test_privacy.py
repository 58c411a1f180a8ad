"""GDPR: export everything about a contact, erase it with its events kept under a
pseudonym, and IP addresses stored as the privacy setting says."""

from __future__ import annotations

import datetime
import json
import sqlite3

import pytest
import requests

from gateway.models import AccessEvent
from gateway.services import tracking
from gateway.services.home import open_home
from tests.factories import make_contact, make_grant, make_property
from tests.tools import ThreadedServer, wait_until
from tests.tracking_tools import wait_for_events

pytestmark = pytest.mark.server

REF, NAME, EMAIL = "K-90417", "Erika Mustermann", "erika.mustermann@example.de"


@pytest.fixture
def granted(config):
    make_property(config, "obj-1", files={"Exposé.pdf": b"%PDF expose " * 100})
    make_property(config, "obj-2", files={"Lageplan.pdf": b"%PDF lageplan"})
    make_contact(REF, NAME, EMAIL)
    granted = make_grant(config, "obj-1", REF)  # the first grant prints the password
    make_grant(config, "obj-2", REF)
    return granted


def database_dump(home) -> str:
    with sqlite3.connect(home / "immoshare.db") as db:
        return "\n".join(db.iterdump())


def test_export_then_erase_then_nothing_personal_remains(server, home, cli, granted):
    dav = (granted.username, granted.password)
    assert requests.get(server.url + "/view/obj-1/Exposé.pdf", auth=dav).status_code == 200
    link = "/s/" + granted.link.rsplit("/s/", 1)[1]
    assert requests.get(server.url + link + "/download/Exposé.pdf").status_code == 200
    events = wait_for_events(2, action="download")
    before = json.loads(cli("contact", "export", REF, "--json").stdout)
    assert (before["contact"]["name"], before["contact"]["email"]) == (NAME, EMAIL)
    assert before["webdav_login"]["username"] == granted.username
    assert [g["property"] for g in before["grants"]] == ["obj-1", "obj-2"]
    assert [e["id"] for e in before["events"]] == [e["id"] for e in events]

    erased = cli("contact", "erase", REF, "--yes")
    assert erased.exit_code == 0, erased.output
    after = json.loads(cli("contact", "export", REF, "--json").stdout)
    assert (after["contact"], after["webdav_login"], after["grants"], after["events"]) == (
        None,
        None,
        [],
        [],
    )
    dump = database_dump(home)
    for personal in (NAME, EMAIL, REF, granted.username):
        assert personal not in dump
    rows = [tracking.public_event(e) for e in AccessEvent.select().order_by(AccessEvent.id)]
    assert len(rows) == len(events)
    assert {r["contact"] for r in rows} == {rows[0]["contact"]}
    assert rows[0]["contact"].startswith("erased-")
    assert {(r["ip"], r["user_agent"]) for r in rows} == {(None, None)}
    assert [(r["path"], r["bytes"], r["complete"]) for r in rows] == [
        (e["path"], e["bytes"], e["complete"]) for e in events
    ]
    verified = cli("tracking", "verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith(f"{len(events)} event(s) checked")
    assert requests.get(server.url + link).status_code == 404
    assert requests.get(server.url + "/view/", auth=dav).status_code == 401


def test_erasing_an_unknown_contact_is_a_clear_error(cli, config):
    result = cli("contact", "erase", "nobody", "--yes")
    assert result.exit_code == 1
    assert "not found" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    "mode,expected", [("shorten", "127.0.0.0"), ("full", "127.0.0.1"), ("drop", None)]
)
def test_ip_privacy_setting_applies_to_stored_events(home, mode, expected):
    (home / "immoshare.yaml").write_text(f"ip_privacy: {mode}\n")
    config = open_home(home)
    make_property(config, "obj-1", files={"a.pdf": b"%PDF a"})
    make_contact(REF, NAME)
    granted = make_grant(config, "obj-1", REF)
    server = ThreadedServer(config)
    try:
        requests.get(server.url + "/view/obj-1/a.pdf", auth=(granted.username, granted.password))
        [event] = wait_for_events(1)
    finally:
        server.stop()
    assert event["ip"] == expected


def test_ipv6_is_shortened_to_48_bits():
    row = tracking.to_row(
        tracking.Event(property="p", channel="dav", action="download", ip="2001:db8:abcd:12:1::1"),
        "shorten",
    )
    assert row["ip"] == "2001:db8:abcd::"


def test_retention_days_prunes_old_events_when_the_server_starts(home):
    (home / "immoshare.yaml").write_text("retention_days: 30\n")
    config = open_home(home)
    now = datetime.datetime.now(datetime.UTC)
    for days in (90, 45, 1):
        tracking.record_event(
            tracking.Event(
                property="obj-1",
                channel="web",
                action="list",
                contact=REF,
                at=now - datetime.timedelta(days=days),
            )
        )
    server = ThreadedServer(config)
    try:
        wait_until(lambda: AccessEvent.select().count() <= 1, message="old events were not pruned")
    finally:
        server.stop()
    assert [e.id for e in AccessEvent.select()] == [3]
    assert tracking.verify_chain().ok
