"""Invitations: ``grant --send`` mails the contact their link, German first, recorded
with its Message-ID, retried when the mail fails, and refused before anything
changes when it cannot be sent. Against a real SMTP server (aiosmtpd), the CLI and
the real server's mail worker."""

from __future__ import annotations

import datetime
import hashlib
import json

import pytest

from gateway.errors import AccessDenied, InvalidInput
from gateway.models import Credential, Grant, OutboxMail
from gateway.services import grants, invitations, outbox
from gateway.services.home import open_home
from tests.factories import make_contact, make_grant, make_property
from tests.mail_tools import SENDER, add_settings, parse_mail, plain_text, smtp_settings
from tests.mailbox import smtp_server
from tests.tools import ThreadedServer, wait_until

pytestmark = pytest.mark.server

TITLE = "Musterstraße 5, 90402 Nürnberg"


@pytest.fixture
def mailing(home, smtp_port):
    """A home that mails through the test SMTP server, with a property and a contact."""
    smtp_settings(home, smtp_port)
    config = open_home(home)
    make_property(config, "obj-17", TITLE)
    make_contact("4711", "Erika Muster", email="erika@example.de")
    return config


def users(cli) -> list[dict]:
    result = cli("users", "obj-17", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.each_database
def test_grant_send_mails_the_link_title_and_expiry(mailing, inbox, cli):
    result = cli("grant", "obj-17", "4711", "--expires", "2030-03-31", "--send", "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["invitation"] == "sent" and printed["state"] == "created"

    [(recipients, raw)] = inbox.messages
    assert recipients == ["erika@example.de"]
    message = parse_mail(raw)
    body = plain_text(message)
    assert TITLE in message["Subject"] and SENDER in message["From"]
    assert printed["link"] in body and TITLE in body
    assert "31.03.2030" in body and "31 March 2030" in body
    assert body.index("Guten Tag Erika Muster") < body.index("Hello Erika Muster")

    row = OutboxMail.get()
    assert row.kind == "invitation" and row.recipient == "erika@example.de"
    assert row.mail_message_id == message["Message-ID"]
    assert row.mail_sha256 == hashlib.sha256(raw).hexdigest()
    assert users(cli)[0]["invitation"] == "sent"

    text = cli("grant", "obj-17", "4711", "--send")  # again: a second invitation
    assert text.exit_code == 0 and "Invitation sent to erika@example.de" in text.stderr
    assert len(inbox.messages) == 2 and OutboxMail.select().count() == 2


def test_without_send_no_invitation(mailing, inbox, cli):
    assert cli("grant", "obj-17", "4711").exit_code == 0
    assert inbox.messages == [] and OutboxMail.select().count() == 0
    assert users(cli)[0]["invitation"] is None


@pytest.mark.parametrize(
    ("settings", "email", "expected"),
    [
        ({}, "erika@example.de", "no mail is set up"),
        ({"mail_dir": "mailbox"}, None, "immoshare contact set 4711 --email"),
    ],
)
def test_a_refused_send_changes_nothing(home, cli, settings, email, expected):
    add_settings(home, **settings)
    config = open_home(home)
    make_property(config, "obj-17", TITLE, requires_consent=False)
    make_contact("4711", email=email)
    result = cli("grant", "obj-17", "4711", "--send")
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and expected in result.output
    assert Grant.select().count() == 0 and Credential.select().count() == 0
    assert OutboxMail.select().count() == 0
    assert not (home / "mailbox").exists() or not any((home / "mailbox").iterdir())


@pytest.mark.each_database
def test_a_failed_send_is_retried_and_shown(mailing, smtp_port, cli):
    result = cli("grant", "obj-17", "4711", "--send")  # nothing listens on smtp_port yet
    assert result.exit_code == 0, result.output
    assert "retries" in result.stderr
    row = OutboxMail.get()
    assert row.mail_state == "retrying" and row.mail_attempts == 1 and row.mail_error
    assert users(cli)[0]["invitation"] == "retrying"
    doctor = json.loads(cli("doctor", "--property", "obj-17", "--contact", "4711", "--json").output)
    [finding] = [f for f in doctor["findings"] if f["code"] == "invitation_retrying"]
    assert finding["severity"] == "warning" and "grant obj-17 4711 --send" in finding["fix"]

    with smtp_server(smtp_port) as inbox:
        later = datetime.datetime.now(datetime.UTC) + outbox.RETRY_DELAYS[0]
        assert outbox.deliver_due(mailing, invitations.QUEUE, now=later) == 1
    [(recipients, raw)] = inbox.messages
    assert grants.personal_link(mailing, Grant.get()) in plain_text(parse_mail(raw))
    assert users(cli)[0]["invitation"] == "sent"


def test_the_server_worker_sends_what_the_api_queues(mailing, inbox):
    """``send_invitation`` in the server's process (the provisioning API) hands the
    mail to the running worker instead of sending on the request path."""
    make_grant(mailing, "obj-17", "4711")
    server = ThreadedServer(mailing)
    try:
        row = invitations.send_invitation(mailing, Grant.get())
        assert row.mail_state in ("pending", "sent")
        assert inbox.arrived.wait(30)
        wait_until(lambda: OutboxMail.get().mail_state == "sent", message="not recorded")
    finally:
        server.stop()


def test_no_invitation_for_a_dead_link(mailing, inbox):
    make_grant(mailing, "obj-17", "4711")
    grants.revoke_access("obj-17", "4711")
    with pytest.raises(AccessDenied, match="revoked"):
        invitations.send_invitation(mailing, Grant.get())
    assert OutboxMail.select().count() == 0 and inbox.messages == []


def test_send_invitation_refuses_a_contact_without_address(home):
    add_settings(home, mail_dir="mailbox")
    config = open_home(home)
    make_property(config, "obj-17", TITLE, requires_consent=False)
    make_contact("4711", email=None)
    make_grant(config, "obj-17", "4711")
    with pytest.raises(InvalidInput, match="no e-mail address"):
        invitations.send_invitation(config, Grant.get())
    assert OutboxMail.select().count() == 0


def test_a_starting_server_sends_what_was_queued_before(mailing, inbox):
    """A mail queued while no server ran (or before a restart) goes out at start."""
    make_grant(mailing, "obj-17", "4711")
    invitations.queue_invitation(mailing, Grant.get())
    assert OutboxMail.get().mail_state == "pending" and inbox.messages == []
    server = ThreadedServer(mailing)
    try:
        assert inbox.arrived.wait(30)
        wait_until(lambda: OutboxMail.get().mail_state == "sent", message="not recorded")
    finally:
        server.stop()
