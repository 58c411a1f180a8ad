"""The agents' dashboard in Debian's Chromium (Playwright), found by ``data-testid``
only: sign in, find a property, untick and tick a contact (their link and WebDAV
login fail, then work again with the same link), the contact's timeline after a
real download and their Nachweis PDF, and axe-core on every page at phone and desktop width."""

from __future__ import annotations

import subprocess
from urllib.parse import urlsplit

import pytest
import requests

from gateway.models import AccessEvent
from gateway.services import grants
from tests.contact_page import find, make_share
from tests.factories import AGENT_PASSWORD, make_agent
from tests.tools import require_tool, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.server]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def open_page(browser, viewport, refused: list):
    context = browser.new_context(locale="de-DE", viewport=viewport)
    page = context.new_page()
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return context, page


def serious_violations(page) -> list:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        (v["id"], [n["target"] for n in v["nodes"]])
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def sign_in(page, base: str) -> None:
    page.goto(base + "/agent/")
    page.get_by_test_id("login-user").fill("anna")
    page.get_by_test_id("login-password").fill(AGENT_PASSWORD)
    with page.expect_navigation():
        page.get_by_test_id("login-submit").click()


def user_row(page, ref: str):
    return page.locator(f"[data-testid=user-row][data-ref='{ref}']")


def test_agent_unticks_and_ticks_a_contact_then_reads_the_timeline(server, config, browser):
    pdftotext = require_tool("pdftotext")
    share = make_share(config, title="Musterstraße 5, 90402 Nürnberg")
    make_share(config, key="obj-2", ref="4712", title="Hauptstraße 1", files={"a.pdf": b"%PDF"})
    make_agent()
    link = server.url + share.link
    dav = server.url + "/view/obj-1/notizen.txt"
    login = (share.grant.username, share.grant.password)
    refused: list = []
    context, page = open_page(browser, DESKTOP, refused)
    try:
        sign_in(page, server.url)
        page.get_by_test_id("property-search").fill("muster")
        with page.expect_navigation():
            page.get_by_test_id("property-search").press("Enter")
        rows = page.get_by_test_id("property-row")
        assert rows.count() == 1 and rows.get_attribute("data-key") == "obj-1"
        with page.expect_navigation():
            rows.get_by_test_id("property-link").click()
        assert (
            page.get_by_test_id("property-title").inner_text() == "Musterstraße 5, 90402 Nürnberg"
        )

        row = user_row(page, "4711")
        copied = row.get_by_test_id("copy-link").get_attribute("data-link")
        assert urlsplit(copied).path == share.link  # the printed link (origin: see README)
        assert row.get_by_test_id("user-active").is_checked()
        with page.expect_navigation():
            row.get_by_test_id("user-active").uncheck()
        assert not user_row(page, "4711").get_by_test_id("user-active").is_checked()
        assert grants.get_grant("obj-1", "4711").active is False
        assert requests.get(link).status_code == 404
        assert requests.get(dav, auth=login).status_code in (401, 404)

        with page.expect_navigation():
            user_row(page, "4711").get_by_test_id("user-active").check()
        assert user_row(page, "4711").get_by_test_id("user-active").is_checked()
        assert user_row(page, "4711").get_by_test_id("copy-link").get_attribute("data-link") == (
            copied
        )
        assert requests.get(link).status_code == 200
        assert requests.get(dav, auth=login).status_code == 200

        # a real download by the contact, from their own page
        html = requests.get(link).text
        download = next(h for h in find(html, "download") if "notizen" in h.attrs["href"])
        got = requests.get(server.url + download.attrs["href"])
        assert got.status_code == 200 and got.content == b"Besichtigung am Montag"
        wait_until(
            lambda: (
                AccessEvent.select()
                .where((AccessEvent.contact == "4711") & (AccessEvent.action == "download"))
                .exists()
            )
        )
        page.reload()
        with page.expect_navigation():
            user_row(page, "4711").get_by_test_id("contact-link").click()
        events = page.get_by_test_id("event-row")
        actions = events.evaluate_all("(rows) => rows.map((r) => r.getAttribute('data-action'))")
        assert "download" in actions
        assert (
            "notizen.txt"
            in page.locator("[data-testid=event-row][data-action=download]").first.inner_text()
        )
        with page.expect_download() as info:  # the Nachweis of this property, as a PDF
            page.get_by_test_id("report-link").click()
        text = subprocess.run(
            [pdftotext, str(info.value.path()), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Erika Mustermann" in text and "obj-1" in text and "notizen.txt" in text
        assert refused == []
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_page_passes_axe_and_fits_the_screen(server, config, browser, viewport):
    make_share(config)
    make_agent()
    link = server.url + make_share(config, key="obj-2", ref="4712").link
    requests.get(link)  # an event for the timeline and the tracking view
    wait_until(lambda: AccessEvent.select().exists())
    refused: list = []
    context, page = open_page(browser, viewport, refused)
    try:
        page.goto(server.url + "/agent/login")
        checked = [(page.url, serious_violations(page))]
        sign_in(page, server.url)
        for path in (
            "/agent/properties",
            "/agent/properties/obj-1",
            "/agent/contacts/4712",
            "/agent/tracking",
            "/agent/tracking?action=drop",
        ):
            page.goto(server.url + path)
            checked.append((path, serious_violations(page)))
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], path
        assert [c for c in checked if c[1]] == []
        assert refused == []
    finally:
        context.close()
