"""The durable medium by default (``consent_requires_mail``): a consent is accepted
only when its confirmation can be mailed; the confirmation carries the texts in its
body and as a PDF; the page names the masked address; without the rule, the record
says that no confirmation exists. Against the real server, a real SMTP server
(aiosmtpd) and the CLI."""

from __future__ import annotations

import json
from email.message import EmailMessage

import pytest
import requests

from gateway.models import ConsentRecord, Contact, Credential, Grant
from gateway.services import consent, consent_pdf, mail_transport
from gateway.services.durable_medium import masked_address
from gateway.services.home import open_home
from tests.contact_page import find, make_share
from tests.factories import make_consent_texts, make_contact, make_property
from tests.mail_tools import (
    add_settings,
    attachments,
    install_texts,
    parse_mail,
    pdf_text,
    plain_text,
    smtp_settings,
    submit_consent,
)
from tests.tools import ThreadedServer, wait_until

pytestmark = pytest.mark.server


@pytest.fixture
def strict_home(home):
    """The default rule: consent needs its confirmation mail (no mail set up yet)."""
    add_settings(home, consent_requires_mail="true")
    open_home(home)
    make_consent_texts()  # complete texts: only the mail rule is left to refuse
    return home


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("erika@example.de", "e***@example.de"),
        ("e@example.de", "e***@example.de"),
        ("erika.muster+immo@mail.example.co.uk", "e***@mail.example.co.uk"),
        ('"a@b"@example.de', '"***@example.de'),
        ("no-at-sign", "n***"),
    ],
)
def test_masked_address_shows_first_letter_and_domain(address, masked):
    assert masked_address(address) == masked


def test_grant_refuses_a_contact_without_address_where_consent_is_required(strict_home, cli):
    open_home(strict_home)
    assert cli("property", "add", "obj-1", "--title", "Musterstraße 5").exit_code == 0
    assert cli("contact", "add", "4711", "--name", "Erika Muster").exit_code == 0

    result = cli("grant", "obj-1", "4711")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "no e-mail address" in lines[0]
    assert "immoshare contact set 4711 --email" in lines[0]
    assert Grant.select().count() == 0 and Credential.select().count() == 0

    # no consent, no confirmation: the same contact may be granted such a property
    assert cli("property", "add", "obj-2", "--title", "Ohne", "--no-consent").exit_code == 0
    assert cli("grant", "obj-2", "4711").exit_code == 0
    # a contact with an address may be granted the consent property
    added = cli("contact", "add", "4712", "--name", "Max", "--email", "max@example.de")
    assert added.exit_code == 0
    assert cli("grant", "obj-1", "4712").exit_code == 0


def test_without_the_rule_a_contact_without_address_may_be_granted(home, cli):
    open_home(home)  # the test home turns consent_requires_mail off
    make_consent_texts()
    assert cli("property", "add", "obj-1", "--title", "Musterstraße 5").exit_code == 0
    assert cli("contact", "add", "4711", "--name", "Erika Muster").exit_code == 0
    assert cli("grant", "obj-1", "4711").exit_code == 0


def locked(server, share) -> bool:
    """The contact's WebDAV login shows nothing of the property."""
    login = (share.grant.username, share.grant.password)
    return requests.get(server.url + "/view/obj-1/notizen.txt", auth=login).status_code == 404


def test_consent_page_refuses_while_no_mail_is_set_up(strict_home):
    config = open_home(strict_home)
    share = make_share(config, requires_consent=True, email="erika@example.de")
    server = ThreadedServer(config)
    try:
        with requests.Session() as session:
            page = session.get(server.url + share.link, headers={"Accept-Language": "de"})
            assert page.status_code == 503
            assert find(page.text, "consent-unavailable")
            assert not find(page.text, "consent-form") and not find(page.text, "entry")
            assert "E-Mail-Versand ist hier noch nicht eingerichtet" in page.text
            assert "Es wurde nichts gespeichert" in page.text

            # a form kept open from before is refused just the same
            texts = consent.current_texts()
            answer = session.post(
                server.url + share.link + "/consent",
                data={"early_start": "yes", "widerruf": "yes", "widerruf_version": "1"},
                allow_redirects=False,
            )
            assert answer.status_code == 503
            english = session.get(server.url + share.link + "?lang=en")
            assert "sending e-mail is not set up" in english.text
        assert ConsentRecord.select().count() == 0
        assert texts.widerruf.version == 1
        assert locked(server, share)
    finally:
        server.stop()


def test_record_consent_refuses_and_records_nothing(strict_home):
    config = open_home(strict_home)
    make_share(config, requires_consent=True, email="erika@example.de")
    texts = consent.current_texts()
    with pytest.raises(consent.ConfirmationImpossible) as refused:
        consent.record_consent(
            config,
            Grant.get(),
            ticked=set(texts.statement_ids),
            shown_versions={"widerruf": texts.widerruf.version, "agb": None},
            language="de",
            ip="127.0.0.1",
            user_agent="test",
        )
    assert refused.value.reason == "mail_not_configured"
    assert ConsentRecord.select().count() == 0


def test_consent_is_refused_for_a_contact_without_address(strict_home, smtp_port, inbox):
    smtp_settings(strict_home, smtp_port)
    config = open_home(strict_home)
    share = make_share(config, requires_consent=True, email="erika@example.de")
    Contact.update(email=None).where(Contact.ref == "4711").execute()  # removed since
    server = ThreadedServer(config)
    try:
        with requests.Session() as session:
            answer = submit_consent(session, server.url + share.link)
            assert answer.status_code == 409
            assert "keine E-Mail-Adresse hinterlegt" in answer.text
            assert find(answer.text, "consent-unavailable")[0].attrs["data-reason"] == (
                "no_address"
            )
        assert ConsentRecord.select().count() == 0
        assert locked(server, share)
        assert inbox.messages == []
    finally:
        server.stop()


def test_confirmation_carries_texts_and_pdf_and_page_names_masked_address(
    strict_home, smtp_port, inbox, cli
):
    smtp_settings(strict_home, smtp_port)
    config = open_home(strict_home)
    install_texts()
    consent.add_text("agb", "Allgemeine Geschäftsbedingungen der Muster GmbH.\n\n§ 1 Provision.")
    share = make_share(config, requires_consent=True, email="erika.muster@example.de")
    server = ThreadedServer(config)
    try:
        with requests.Session() as session:
            answer = submit_consent(session, server.url + share.link, agb=True)
            assert answer.status_code == 303
            page = session.get(server.url + answer.headers["Location"])
        notice = find(page.text, "consent-confirmation")
        assert notice and "e***@example.de" in notice[0].text
        assert "erika.muster@example.de" not in page.text
        assert find(page.text, "entry")  # access does not wait for the mail

        assert inbox.arrived.wait(30)
        recipients, raw = inbox.messages[0]
        assert recipients == ["erika.muster@example.de"]
        message = parse_mail(raw)
        texts = consent.current_texts()
        body = plain_text(message)
        assert texts.widerruf.body in body and "§ 1 Provision." in body
        [(name, kind, pdf)] = attachments(message)
        assert kind == "application/pdf" and name == "Widerrufsbelehrung.pdf"
        text = pdf_text(pdf)
        for needle in (
            texts.widerruf.sha256,
            texts.agb.sha256,
            "Widerrufsbelehrung",
            "§ 1 Provision.",
            "Seite 1 von",
        ):
            assert needle in text, needle
        assert " ".join(texts.widerruf.body.split()) in pdf_text(pdf, footers=False)

        wait_until(lambda: ConsentRecord.get().mail_state == "sent", message="not recorded")
        assert ConsentRecord.get().mail_message_id == message["Message-ID"]
        users = json.loads(cli("users", "obj-1", "--json").output)
        assert users[0]["consent_mail"] == "sent"
    finally:
        server.stop()


def test_without_the_rule_consent_is_accepted_and_says_no_mail(home, cli, server):
    config = open_home(home)
    share = make_share(config, requires_consent=True, email=None)
    with requests.Session() as session:
        answer = submit_consent(session, server.url + share.link)
        assert answer.status_code == 303
        page = session.get(server.url + answer.headers["Location"])
    assert find(page.text, "entry") and not find(page.text, "consent-confirmation")
    assert ConsentRecord.get().mail_state == "none"
    assert json.loads(cli("users", "obj-1", "--json").output)[0]["consent_mail"] == "none"


def test_consent_pdf_is_a_function_of_the_text_versions_and_language(config):
    make_consent_texts()
    consent.add_text("agb", "AGB der Muster GmbH.")
    texts = consent.current_texts()
    german = pdf_text(consent_pdf.consent_texts_pdf(texts.widerruf, texts.agb, lang="de"))
    english = pdf_text(consent_pdf.consent_texts_pdf(texts.widerruf, None, lang="en"))
    assert "Fassung 1" in german and texts.agb.sha256 in german
    assert "Cancellation policy" in english and texts.agb.sha256 not in english
    assert texts.widerruf.sha256 in english and "Page 1 of" in english


def test_mail_dir_writes_each_mail_as_an_eml_file(home):
    add_settings(home, mail_dir="mailbox")
    config = open_home(home)
    assert mail_transport.mail_configured(config)
    message = EmailMessage()
    message["To"] = "erika@example.de"
    message["From"] = mail_transport.sender_address(config)
    message["Subject"] = "Test"
    message.set_content("Hallo")
    data = mail_transport.send(config, message)
    [written] = (home / "mailbox").iterdir()
    assert written.suffix == ".eml" and written.read_bytes() == data


@pytest.mark.parametrize(
    ("settings", "severity", "code"),
    [
        ({"consent_requires_mail": "true"}, "error", "smtp_missing"),
        ({"consent_requires_mail": "false"}, "warning", "smtp_missing"),
        ({"mail_dir": "mailbox"}, "warning", "mail_to_folder"),
    ],
)
def test_doctor_reports_how_confirmations_go_out(home, cli, settings, severity, code):
    add_settings(home, **settings)
    make_property(open_home(home), "obj-1", requires_consent=True)
    make_contact("4711", email="erika@example.de")
    result = cli("doctor", "--json")
    findings = {f["code"]: f for f in json.loads(result.output)["findings"]}
    assert findings[code]["severity"] == severity, findings
    if code == "mail_to_folder":
        assert "mailbox" in findings[code]["message"]
    elif severity == "error":
        assert "refuses every consent" in findings[code]["message"]
    else:
        assert "no copy on a durable medium" in findings[code]["message"]
