"""The contact page in Debian's Chromium (Playwright), found by ``data-testid`` only:
the consent flow, search, views, sorts, a phone-sized screen and an axe-core check."""

from __future__ import annotations

import json

import pytest
import requests

from gateway.models import ConsentRecord
from gateway.services import consent, grants
from tests.contact_page import FILES, make_share

pytestmark = [pytest.mark.browser, pytest.mark.server]

PHONE = {"width": 375, "height": 740}


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="de-DE", viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def shown(page, attribute="data-name"):
    return page.locator("[data-testid=entry]").evaluate_all(
        f"(items) => items.map((e) => e.getAttribute('{attribute}'))"
    )


def file_sizes(page):
    return [
        int(s)
        for s in page.locator("[data-testid=entry][data-kind=file]").evaluate_all(
            "(items) => items.map((e) => e.getAttribute('data-size'))"
        )
    ]


def axe_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]]


def test_consent_flow_then_share_then_webdav(server, config, page):
    share = make_share(config, requires_consent=True)
    dav_file = server.url + "/view/obj-1/notizen.txt"
    login = (share.grant.username, share.grant.password)
    assert requests.get(dav_file, auth=login).status_code == 404

    page.goto(server.url + share.link)
    form = page.get_by_test_id("consent-form")
    assert form.is_visible()
    assert page.get_by_test_id("entry").count() == 0
    assert page.get_by_test_id("consent-early-start").is_checked() is False
    assert page.get_by_test_id("consent-widerruf").is_checked() is False
    assert page.get_by_test_id("consent-agb").count() == 0  # no AGB set

    page.get_by_test_id("consent-early-start").check()
    page.get_by_test_id("consent-submit").click()
    message = page.get_by_test_id("consent-message")
    assert message.is_visible()
    assert "Erklärung 2" in message.inner_text()
    assert page.get_by_test_id("consent-early-start").is_checked()
    assert page.get_by_test_id("entry").count() == 0
    assert ConsentRecord.select().count() == 0

    page.get_by_test_id("consent-widerruf").check()
    page.get_by_test_id("consent-submit").click()
    page.get_by_test_id("share-title").wait_for()
    assert page.get_by_test_id("entry").count() > 0
    assert page.get_by_test_id("consent-form").count() == 0

    record = ConsentRecord.get()
    texts = consent.current_texts()
    assert record.grant_id == grants.get_grant("obj-1", "4711").id
    assert [s["id"] for s in json.loads(record.statements)] == ["early_start", "widerruf"]
    assert record.early_start and record.widerruf_acknowledged
    assert record.widerruf_version == texts.widerruf.version
    assert record.widerruf_sha256 == consent.text_sha256(texts.widerruf.body)
    assert record.ip == "127.0.0.0"  # shortened to /24 by default
    assert "Chrome" in record.user_agent

    r = requests.get(dav_file, auth=login)
    assert r.status_code == 200 and r.content == FILES["notizen.txt"]
    page.goto(server.url + share.link)  # consent is per grant: straight to the files
    assert page.get_by_test_id("entry").count() > 0


def test_search_views_and_sorts_change_what_is_shown(server, config, page):
    share = make_share(config)
    page.goto(server.url + share.link)
    everything = shown(page)

    page.get_by_test_id("search").fill("grundriss")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=entry]').length === 4")
    assert set(shown(page)) == {
        "Grundrisse",
        "Grundriß_EG.pdf",
        "Grundriss Keller.pdf",
        "GRUNDRISS OG.pdf",
    }
    zip_href = page.get_by_test_id("zip").get_attribute("href")
    assert "q=grundriss" in zip_href
    page.get_by_test_id("search").fill("")
    page.wait_for_function(
        f"() => document.querySelectorAll('[data-testid=entry]').length === {len(everything)}"
    )

    entries = page.locator("#entries")
    assert entries.get_attribute("data-view") == "list"
    page.get_by_test_id("view-tiles").click()
    assert entries.get_attribute("data-view") == "tiles"
    page.reload()
    assert page.locator("#entries").get_attribute("data-view") == "tiles"  # remembered
    page.get_by_test_id("view-list").click()
    assert page.locator("#entries").get_attribute("data-view") == "list"

    page.get_by_test_id("sort-size").click()
    page.wait_for_url("**sort=size**")
    ascending = file_sizes(page)
    assert ascending == sorted(ascending) and len(set(ascending)) > 1
    page.get_by_test_id("sort-size").click()
    page.wait_for_url("**order=desc**")
    assert file_sizes(page) == sorted(ascending, reverse=True)

    page.get_by_test_id("sort-name").click()
    page.wait_for_url("**sort=name&order=asc**")
    by_name = shown(page)
    page.get_by_test_id("sort-name").click()
    page.wait_for_url("**sort=name&order=desc**")
    folders = [
        n for n in by_name if n in ("Energieausweis", "Fotos", "Grundrisse", "<script>alert(1)<")
    ]
    files = [n for n in by_name if n not in folders]
    assert shown(page) == folders[::-1] + files[::-1]


def test_phone_width_keyboard_and_accessibility(server, config, browser):
    share = make_share(config, requires_consent=True)
    context = browser.new_context(locale="de-DE", viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        page.goto(server.url + share.link)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert axe_violations(page) == []
        # keyboard only: tab to both boxes, tick them with space, submit with enter
        page.get_by_test_id("consent-early-start").focus()
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.get_by_test_id("search").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert axe_violations(page) == []
        page.get_by_test_id("view-tiles").click()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert axe_violations(page) == []
        page.goto(server.url + share.preview)
        assert page.get_by_test_id("download").count() == 0
        assert page.get_by_test_id("zip").count() == 0
        assert axe_violations(page) == []
        assert refused == []  # nothing inline: the strict CSP blocked nothing
    finally:
        context.close()
