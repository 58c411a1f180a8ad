"""The durable medium in Debian's Chromium (Playwright), found by ``data-testid``: the
consent page refuses while no mail is set up (German and English), and after a
consent with a real SMTP server the page names the masked address the confirmation
went to."""

from __future__ import annotations

import pytest

from gateway.models import ConsentRecord
from gateway.services.home import open_home
from tests.contact_page import make_share
from tests.mail_tools import add_settings, attachments, install_texts, parse_mail, smtp_settings
from tests.tools import ThreadedServer

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="de-DE", viewport={"width": 375, "height": 740})
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def running():
    servers = []

    def start(config):
        servers.append(ThreadedServer(config))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def test_consent_page_refuses_without_mail_in_german_and_english(home, page, running):
    add_settings(home, consent_requires_mail="true")
    config = open_home(home)
    share = make_share(config, requires_consent=True, email="erika@example.de")
    server = running(config)

    answer = page.goto(server.url + share.link)
    assert answer.status == 503
    refusal = page.get_by_test_id("consent-unavailable")
    assert refusal.is_visible()
    assert "nicht entgegengenommen" in refusal.inner_text()
    assert "nichts gespeichert" in refusal.inner_text()
    assert page.get_by_test_id("consent-form").count() == 0
    assert page.get_by_test_id("entry").count() == 0

    page.goto(server.url + share.link + "?lang=en")
    assert "cannot be accepted" in page.get_by_test_id("consent-unavailable").inner_text()
    assert ConsentRecord.select().count() == 0


def test_after_consent_the_page_names_the_masked_address(home, page, running, smtp_port, inbox):
    smtp_settings(home, smtp_port)
    config = open_home(home)
    install_texts()
    share = make_share(config, requires_consent=True, email="erika.muster@example.de")
    server = running(config)

    page.goto(server.url + share.link)
    page.get_by_test_id("consent-early-start").check()
    page.get_by_test_id("consent-widerruf").check()
    page.get_by_test_id("consent-submit").click()
    notice = page.get_by_test_id("consent-confirmation")
    notice.wait_for()
    assert "e***@example.de" in notice.inner_text()
    assert "erika.muster@example.de" not in page.content()
    assert page.get_by_test_id("entry").count() > 0

    assert inbox.arrived.wait(30)
    recipients, raw = inbox.messages[0]
    assert recipients == ["erika.muster@example.de"]
    assert [kind for _, kind, _ in attachments(parse_mail(raw))] == ["application/pdf"]

    page.goto(server.url + share.link)  # a later visit: straight to the files, no notice
    assert page.get_by_test_id("entry").count() > 0
    assert page.get_by_test_id("consent-confirmation").count() == 0
