"""The contact pages as a buyer sees them, in Debian's Chromium at phone (390 px) and
desktop (1280 px) width: who asks (agency, contact person), the Impressum and privacy
links, the structured consent texts in the page's own flow with the statements by
the button, the texts' PDF, the link's expiry, thumbnails in the list, the preview
that starts at the consent step, error pages; axe-core finds nothing serious on any
of them; reference screenshots catch a layout that moved."""

from __future__ import annotations

import pytest
import requests

from gateway.models import ConsentRecord
from gateway.services import branding, consent, consent_pdf, grants
from tests.branded_share import (
    AGENCY,
    EXPIRES,
    IMPRINT_URL,
    PERSON,
    PHOTO,
    make_branded_share,
)
from tests.mail_tools import attachments, install_texts, parse_mail, pdf_text, smtp_settings
from tests.screenshots import check_screenshot
from tests.tools import wait_until
from tests.tracking_tools import recorded_events

pytestmark = [pytest.mark.browser, pytest.mark.server]

WIDTHS = {
    "phone": {"width": 390, "height": 844},
    "desktop": {"width": 1280, "height": 800},
}
SERIOUS = ("serious", "critical")


@pytest.fixture(params=list(WIDTHS))
def width(request):
    return request.param


@pytest.fixture
def page(browser, width):
    phone = width == "phone"
    context = browser.new_context(
        locale="de-DE",
        viewport=WIDTHS[width],
        is_mobile=phone,
        has_touch=phone,
        accept_downloads=True,
    )
    opened = context.new_page()
    yield opened
    context.close()


def serious_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


def assert_fits(page):
    """No sideways scrolling, and nothing serious for axe-core."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert serious_violations(page) == []


def assert_who_asks(page, *, person=True):
    assert page.get_by_test_id("agency-name").inner_text() == AGENCY
    logo = page.get_by_test_id("logo")
    assert logo.is_visible() and logo.evaluate("(img) => img.naturalWidth") > 0
    if person:
        shown = page.get_by_test_id("contact-person")
        assert shown.is_visible()
        text = shown.inner_text()
        assert PERSON[0] in text and PERSON[1] in text and PERSON[2] in text
    assert page.get_by_test_id("imprint-link").get_attribute("href") == IMPRINT_URL
    assert page.get_by_test_id("privacy-link").is_visible()


def in_view(page, testid: str) -> bool:
    return page.get_by_test_id(testid).evaluate(
        "(e) => { const r = e.getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; }"
    )


def warm_thumbnail(server, share) -> None:
    """Have the photo's thumbnail made before the page asks for it (first asks may
    get 503 while it is made)."""
    url = f"{server.url}{share.link}/thumb/{PHOTO}"
    wait_until(lambda: requests.get(url).status_code == 200, message="the thumbnail")


def test_consent_page_then_share_say_who_asks(server, config, page, width, tmp_path):
    share = make_branded_share(config, tmp_path)
    page.goto(server.url + share.link)
    assert page.get_by_test_id("consent-form").is_visible()
    assert_who_asks(page)
    assert_fits(page)

    # The texts are structured, and flow with the page: no box scrolling inside it.
    text = page.get_by_test_id("widerruf-text")
    headings = text.locator("h3, h4").all_inner_texts()
    assert {"Widerrufsrecht", "Folgen des Widerrufs", "Muster-Widerrufsformular"} <= set(headings)
    assert text.evaluate("(e) => getComputedStyle(e).overflowY") == "visible"
    assert text.evaluate("(e) => e.scrollHeight <= e.clientHeight + 1")
    assert page.evaluate("document.documentElement.scrollHeight > window.innerHeight")
    # The statements stay by the button: beside the texts on a desktop, in view
    # while the end of the texts is read; after them on a phone.
    text.locator("h3, h4", has_text="Muster-Widerrufsformular").scroll_into_view_if_needed()
    if width == "desktop":
        assert in_view(page, "consent-early-start") and in_view(page, "consent-submit")
    button = page.get_by_test_id("consent-submit").bounding_box()
    for testid in ("consent-early-start", "consent-widerruf"):
        box = page.get_by_test_id(testid).bounding_box()
        assert 0 < button["y"] - box["y"] < 400, testid

    page.get_by_test_id("consent-early-start").check()
    page.get_by_test_id("consent-widerruf").check()
    page.get_by_test_id("consent-submit").click()
    page.get_by_test_id("search").wait_for()
    assert_who_asks(page)
    expires = page.get_by_test_id("link-expires")
    assert expires.is_visible()
    assert expires.inner_text().strip() == "Ihr Link ist gültig bis einschließlich 31.03.2099."
    assert EXPIRES.isoformat() == "2099-03-31"
    assert_fits(page)
    page.get_by_test_id("view-tiles").click()
    assert_fits(page)

    page.get_by_test_id("privacy-link").click()
    notice = page.get_by_test_id("privacy-notice")
    assert f"Verantwortlich für die Verarbeitung ist {AGENCY}." in notice.inner_text()
    assert_fits(page)


def test_list_view_shows_thumbnails_and_english_dates(server, config, page, tmp_path):
    share = make_branded_share(config, tmp_path, requires_consent=False)
    warm_thumbnail(server, share)
    page.goto(server.url + share.link + "/?view=list&lang=en")
    photo = page.locator(f"[data-testid=entry][data-name='{PHOTO}'] img.entry__thumb")
    photo.scroll_into_view_if_needed()
    wait_until(
        lambda: photo.evaluate("(img) => img.complete && img.naturalWidth > 0"), message="thumb"
    )
    assert photo.is_visible()
    pdf = page.locator("[data-testid=entry][data-name='Exposé Musterstraße 5.pdf']")
    assert "2.4 MB · 12 Nov 2026" in pdf.inner_text()
    icon = pdf.locator("img.entry__icon")
    assert "icons/pdf.svg" in icon.get_attribute("src")
    assert icon.evaluate("(img) => img.naturalWidth") > 0
    assert "valid until 31 Mar 2099" in page.get_by_test_id("link-expires").inner_text()
    assert_fits(page)


def test_error_pages_of_a_link_name_whom_to_call(server, config, page, tmp_path):
    share = make_branded_share(config, tmp_path, requires_consent=False)
    grants.revoke_access("obj-1", "4711")
    response = page.goto(server.url + share.link)
    assert response.status == 404
    assert page.get_by_test_id("not-found").is_visible()
    assert_who_asks(page)
    assert page.get_by_test_id("share-title").count() == 0
    assert "Musterstraße 5" not in page.content()
    assert_fits(page)
    response = page.goto(server.url + "/s/" + "B" * 43)
    assert response.status == 404
    assert page.get_by_test_id("contact-person").count() == 0
    assert_who_asks(page, person=False)
    assert_fits(page)


def test_preview_starts_at_the_consent_page_and_records_nothing(server, config, page, tmp_path):
    share = make_branded_share(config, tmp_path)
    page.goto(server.url + share.preview)
    assert page.get_by_test_id("preview-banner").is_visible()
    assert page.get_by_test_id("consent-form").is_visible()
    assert page.get_by_test_id("entry").count() == 0
    for testid in ("consent-early-start", "consent-widerruf"):
        box = page.get_by_test_id(testid)
        assert box.is_disabled() and not box.is_checked()
    assert_who_asks(page)
    assert_fits(page)
    page.get_by_test_id("consent-submit").click()
    page.get_by_test_id("search").wait_for()
    assert page.get_by_test_id("entry").count() > 0
    assert page.get_by_test_id("download").count() == 0
    page.reload()  # once shown, the preview goes straight to the share
    assert page.get_by_test_id("entry").count() > 0
    assert ConsentRecord.select().count() == 0
    assert recorded_events() == []
    # the contact's own link still starts at the consent step
    assert 'data-testid="consent-form"' in requests.get(server.url + share.link).text


@pytest.fixture
def mailing(home, smtp_port, inbox):
    """A home that mails confirmations through the test SMTP server."""
    smtp_settings(home, smtp_port)
    return inbox


def test_texts_pdf_is_the_pdf_the_confirmation_mail_carries(
    mailing, config, server, page, tmp_path
):
    install_texts()
    share = make_branded_share(config, tmp_path, email="erika@example.de")
    page.goto(server.url + share.link)
    with page.expect_download() as download_info:
        page.get_by_test_id("consent-pdf").click()
    download = download_info.value
    assert download.suggested_filename == consent_pdf.filename("de")
    saved = download.path().read_bytes()
    text = pdf_text(saved, footers=False)
    texts = consent.current_texts()
    assert "Widerrufsrecht" in text and texts.widerruf.sha256 in text and AGENCY in text

    page.get_by_test_id("consent-early-start").check()
    page.get_by_test_id("consent-widerruf").check()
    page.get_by_test_id("consent-submit").click()
    page.get_by_test_id("search").wait_for()
    wait_until(lambda: mailing.messages, message="the confirmation mail")
    [(name, kind, attached)] = attachments(parse_mail(mailing.messages[0][1]))
    assert (name, kind) == (consent_pdf.filename("de"), "application/pdf")
    assert pdf_text(attached) == pdf_text(saved)


def test_reference_screenshots(server, config, page, width, tmp_path):
    share = make_branded_share(config, tmp_path)
    page.goto(server.url + share.link)
    page.wait_for_load_state("load")
    check_screenshot(page, f"consent-{width}", tmp_path)
    page.get_by_test_id("consent-early-start").check()
    page.get_by_test_id("consent-widerruf").check()
    page.get_by_test_id("consent-submit").click()
    page.get_by_test_id("search").wait_for()
    warm_thumbnail(server, share)
    page.goto(server.url + share.link + "/?view=list")
    page.wait_for_load_state("load")
    check_screenshot(page, f"share-{width}", tmp_path)


def test_the_other_pages_of_a_link_pass_axe_too(server, config, page, tmp_path):
    share = make_branded_share(config, tmp_path, requires_consent=False)
    branding.set_branding(config, imprint="Muster Immobilien GmbH\nHauptstraße 1\n90402 Nürnberg")
    page.goto(server.url + share.link + "/?lang=en")
    assert page.get_by_test_id("contact-person").is_visible()
    assert_fits(page)
    page.get_by_test_id("imprint-link").click()
    assert "Hauptstraße 1" in page.get_by_test_id("imprint-text").inner_text()
    assert_fits(page)
    response = page.goto(server.url + share.preview + "/download/notizen.txt")
    assert response.status == 403
    assert page.get_by_test_id("contact-person").is_visible()
    assert_fits(page)
    response = page.goto(server.url + share.link + "/zip?q=gibt-es-nicht")
    assert response.status == 422
    assert_fits(page)
