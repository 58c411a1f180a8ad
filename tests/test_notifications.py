"""E-mail to agents about their contacts (``notify_agent``), received by a real SMTP
server on loopback; and the agent's e-mail on the CLI."""

from __future__ import annotations

import datetime
import email
import email.policy
import json
import re

import pytest
import requests

from gateway.clock import utc_now
from gateway.models import AccessEvent, Agent, AgentNotification
from gateway.services import event_feed, notifications, tracking
from gateway.services.home import open_home
from tests.contact_page import make_share
from tests.factories import make_contact, make_grant
from tests.mailbox import smtp_server
from tests.tools import ThreadedServer, wait_until

AGENT_MAIL = "anna@muster-immobilien.de"


def mail_settings(home, smtp_port, **extra) -> None:
    settings = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_from": "unterlagen@muster-immobilien.de",
        "base_url": "https://unterlagen.example.de",
        **extra,
    }
    with open(home / "immoshare.yaml", "a", encoding="utf-8") as fh:
        fh.writelines(f"{name}: {value}\n" for name, value in settings.items())


@pytest.fixture
def agents(cli):
    assert cli("agent", "add", "anna", "--email", AGENT_MAIL).exit_code == 0
    assert cli("agent", "add", "ben").exit_code == 0  # no e-mail: told nothing


def agent_mails(inbox) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(raw, policy=email.policy.default)
        for recipients, raw in list(inbox.messages)
        if recipients == [AGENT_MAIL]
    ]


def text(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def settled() -> bool:
    """Every recorded event read by the feed and nothing left to mail."""
    newest = AccessEvent.select().order_by(AccessEvent.id.desc()).first()
    return event_feed.cursor() == (newest.id if newest else 0) and not notifications.pending_count()


@pytest.mark.server
@pytest.mark.each_database
def test_one_mail_for_the_first_open_none_for_the_second(home, smtp_port, inbox, agents, cli):
    mail_settings(home, smtp_port, notify_batch_seconds=0)
    config = open_home(home)
    share = make_share(config, title="Musterstraße 5, 90402 Nürnberg")
    make_contact("4712", "Max Käufer")
    other = make_grant(config, "obj-1", "4712")
    server = ThreadedServer(config)
    try:
        assert requests.get(server.url + share.link, timeout=30).status_code == 200
        wait_until(lambda: agent_mails(inbox), message="no notification arrived")
        assert requests.get(server.url + share.link, timeout=30).status_code == 200
        # A second contact's first open: once its mail is there, the second open of
        # the first contact has been read as well (events are read in order).
        link = re.sub(r"^https?://[^/]+", "", other.link)
        assert requests.get(server.url + link, timeout=30).status_code == 200
        wait_until(lambda: len(agent_mails(inbox)) == 2 and settled())
    finally:
        server.stop()

    first, second = agent_mails(inbox)
    body = text(first)
    assert body.index("Guten Tag anna") < body.index("Hello anna")  # German first
    assert body.count("Erika Mustermann (4711) hat die Unterlagen zum ersten Mal geöffnet") == 1
    assert "opened the documents for the first time" in body
    assert "„Musterstraße 5, 90402 Nürnberg“ (obj-1)" in body
    assert body.count("https://unterlagen.example.de/agent/contacts/4711") == 2  # de and en
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d UTC", body)
    assert first["Message-ID"] and first["Auto-Submitted"] == "auto-generated"
    assert "4711" not in text(second) and "Max Käufer (4712)" in text(second)
    assert len(inbox.messages) == 2  # ben, without an e-mail, got nothing


@pytest.mark.server
def test_a_consent_is_told(home, smtp_port, inbox, agents):
    mail_settings(home, smtp_port, notify_batch_seconds=0)
    config = open_home(home)
    share = make_share(config, requires_consent=True, email="erika@example.de")
    server = ThreadedServer(config)
    try:
        with requests.Session() as session:
            page = session.get(server.url + share.link).text
            fields = dict(
                re.findall(r'name="(csrf|widerruf_version|agb_version)" value="([^"]*)"', page)
            )
            fields.update(early_start="yes", widerruf="yes")
            r = session.post(
                server.url + share.link + "/consent", data=fields, allow_redirects=False
            )
            assert r.status_code == 303
            assert session.get(server.url + share.link).status_code == 200
        wait_until(lambda: settled() and "zum ersten Mal" in _all_text(inbox))
    finally:
        server.stop()
    told = _all_text(inbox)
    assert told.count("hat der Widerrufsbelehrung zugestimmt") == 1
    assert told.count("accepted the cancellation notice") == 1
    assert told.count("zum ersten Mal geöffnet") == 1


def _all_text(inbox) -> str:
    return "\n".join(text(m) for m in agent_mails(inbox))


def _record(config, ref: str, action: str = "list", path: str = "") -> None:
    tracking.record_event(
        tracking.Event(property="obj-1", channel="web", action=action, contact=ref, path=path)
    )


@pytest.mark.each_database
def test_what_arrives_within_the_window_goes_as_one_mail(home, smtp_port, inbox, agents):
    mail_settings(home, smtp_port, notify_batch_seconds=60)
    config = open_home(home)
    make_share(config)
    for ref in ("4712", "4713"):
        make_contact(ref, f"Kontakt {ref}")
        make_grant(config, "obj-1", ref)
    for ref in ("4711", "4712", "4713"):
        _record(config, ref)
    event_feed.advance(config)
    assert notifications.send_due(config) == 0  # the window is still open
    assert notifications.send_due(config, utc_now() + datetime.timedelta(seconds=61)) == 1
    [mail] = agent_mails(inbox)
    assert "3 neue Zugriffe" in mail["Subject"]
    body = text(mail)
    for ref in ("4711", "4712", "4713"):
        assert body.count(f"({ref}) hat die Unterlagen zum ersten Mal geöffnet") == 1


def test_a_failed_mail_is_sent_again_later(home, smtp_port, agents):
    mail_settings(home, smtp_port, notify_batch_seconds=0)
    config = open_home(home)
    make_share(config)
    _record(config, "4711")
    event_feed.advance(config)
    assert notifications.send_due(config) == 0  # no SMTP server listens yet
    [row] = AgentNotification.select()
    assert row.state == "pending" and row.attempts == 1 and "Error" in row.error
    with smtp_server(smtp_port) as inbox:
        assert notifications.send_due(config) == 0  # waits out its retry delay
        assert notifications.send_due(config, utc_now() + datetime.timedelta(minutes=2)) == 1
        [mail] = agent_mails(inbox)
    assert AgentNotification.get().state == "sent"
    assert AgentNotification.get().message_id == mail["Message-ID"]


@pytest.mark.parametrize(
    ("setting", "told"),
    [("none", []), ("first-open", ["first-open"]), ("all", ["first-open", "download"])],
)
def test_notify_agent_decides_what_is_told(home, smtp_port, agents, setting, told):
    mail_settings(home, smtp_port, notify_agent=setting)
    config = open_home(home)
    make_share(config)
    _record(config, "4711")
    _record(config, "4711", "download", "Exposé.pdf")
    event_feed.advance(config)
    assert [n.kind for n in AgentNotification.select().order_by(AgentNotification.event_id)] == told


def test_without_mail_settings_nothing_is_queued(config, agents):
    make_share(config)
    _record(config, "4711")
    event_feed.advance(config)
    assert AgentNotification.select().count() == 0
    assert event_feed.cursor() == AccessEvent.select().count()


# ---------------------------------------------------------------- the agent's e-mail


def test_agent_add_and_set_email(cli):
    r = cli("agent", "add", "anna", "--email", "not-an-address")
    assert r.exit_code == 1 and "invalid e-mail address" in r.stderr
    assert Agent.select().count() == 0  # nothing created

    assert cli("agent", "add", "anna", "--email", AGENT_MAIL).exit_code == 0
    r = cli("agent", "set", "anna", "--email", "anna@neu.example.de")
    assert r.exit_code == 0 and "email changed" in r.stderr
    listed = json.loads(cli("agent", "list", "--json").stdout)
    assert listed[0]["email"] == "anna@neu.example.de"

    before = Agent.get().password_hash
    r = cli("agent", "set", "anna", "--email", "x@y.de", "--password-stdin", input="short\n")
    assert r.exit_code == 1 and "at least" in r.stderr
    assert Agent.get().email == "anna@neu.example.de"  # nothing half-applied
    assert Agent.get().password_hash == before

    r = cli("agent", "set", "anna", "--password-stdin", input="a-new-long-passphrase\n")
    assert r.exit_code == 0 and "password changed" in r.stderr
    assert Agent.get().password_hash != before

    assert cli("agent", "set", "anna", "--email", "").exit_code == 0
    assert Agent.get().email is None

    r = cli("agent", "set", "anna")
    assert r.exit_code == 1 and "nothing to change" in r.stderr
    r = cli("agent", "set", "nobody", "--email", AGENT_MAIL)
    assert r.exit_code == 1 and "not found" in r.stderr
