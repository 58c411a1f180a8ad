"""The consent confirmation e-mail, sent to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import datetime
import email
import email.policy
import hashlib
import json
import re

import pytest
import requests

from gateway.models import ConsentRecord
from gateway.services import confirmations, consent, outbox
from gateway.services.home import open_home
from tests.contact_page import make_share
from tests.mailbox import smtp_server
from tests.tools import ThreadedServer, wait_until

pytestmark = pytest.mark.server


@pytest.fixture
def mail_config(home, smtp_port):
    with open(home / "immoshare.yaml", "a", encoding="utf-8") as fh:
        fh.write(
            f"smtp_host: 127.0.0.1\nsmtp_port: {smtp_port}\n"
            "smtp_from: unterlagen@muster-immobilien.de\n"
        )
    return open_home(home)


@pytest.fixture
def mail_server(mail_config):
    running = ThreadedServer(mail_config)
    yield running
    running.stop()


def consent_through_the_form(server, share, agb=False):
    with requests.Session() as session:
        page = session.get(server.url + share.link).text
        fields = dict(
            re.findall(r'name="(csrf|widerruf_version|agb_version)" value="([^"]*)"', page)
        )
        fields.update(early_start="yes", widerruf="yes")
        if agb:
            fields["agb"] = "yes"
        r = session.post(server.url + share.link + "/consent", data=fields, allow_redirects=False)
        assert r.status_code == 303, r.text[:300]
        return session.get(server.url + share.link).text


def test_confirmation_arrives_with_statements_and_texts(mail_server, mail_config, inbox, cli):
    consent.add_text("agb", "Allgemeine Geschäftsbedingungen der Muster GmbH.\n\n§ 1 Provision.")
    share = make_share(mail_config, requires_consent=True, email="erika@example.de")
    page = consent_through_the_form(mail_server, share, agb=True)
    assert 'data-testid="entry"' in page  # access does not wait for the mail

    assert inbox.arrived.wait(30)
    recipients, raw = inbox.messages[0]
    assert recipients == ["erika@example.de"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    body = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Musterstraße 5" in message["Subject"]
    for statement in ("early_start", "widerruf", "agb"):
        assert consent.STATEMENTS[statement]["de"] in body
    texts = consent.current_texts()
    assert texts.widerruf.body in body
    assert "§ 1 Provision." in body
    assert texts.widerruf.sha256 in body

    wait_until(
        lambda: ConsentRecord.get().mail_state == "sent", message="the sent mail was not recorded"
    )
    record = ConsentRecord.get()
    assert record.mail_message_id == message["Message-ID"]
    assert record.mail_sha256 == hashlib.sha256(raw).hexdigest()
    assert record.agb_version == texts.agb.version
    users = json.loads(cli("users", "obj-1", "--json").output)
    assert users[0]["consent_mail"] == "sent"


def test_failed_send_is_retried_and_never_blocks_access(mail_server, mail_config, smtp_port, cli):
    share = make_share(mail_config, requires_consent=True, email="erika@example.de")
    page = consent_through_the_form(mail_server, share)  # nothing listens on smtp_port yet
    assert 'data-testid="entry"' in page
    wait_until(
        lambda: ConsentRecord.get().mail_state == "retrying",
        message="the first attempt did not happen",
    )
    record = ConsentRecord.get()
    assert record.mail_attempts == 1 and record.mail_error
    users = json.loads(cli("users", "obj-1", "--json").output)
    assert users[0]["consent_mail"] == "retrying"

    with smtp_server(smtp_port) as handler:
        later = datetime.datetime.now(datetime.UTC) + outbox.RETRY_DELAYS[0]
        assert confirmations.deliver_due(mail_config, now=later) == 1
    assert len(handler.messages) == 1
    assert ConsentRecord.get().mail_state == "sent"
    assert json.loads(cli("users", "obj-1", "--json").output)[0]["consent_mail"] == "sent"


def test_no_mail_without_an_address_when_mail_is_not_required(mail_server, mail_config, inbox):
    """The test home turns consent_requires_mail off: the consent is accepted, and its
    record says that no confirmation exists."""
    share = make_share(mail_config, requires_consent=True, email=None)
    consent_through_the_form(mail_server, share)
    assert ConsentRecord.get().mail_state == "none"
    assert inbox.messages == []
