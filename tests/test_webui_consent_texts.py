"""The consent texts on the page: structure from a safe subset of Markdown (headings,
paragraphs, lists, plain links; never raw HTML, script links or images), the texts'
PDF under the link, and the preview's consent step, over HTTP against the real
server."""

from __future__ import annotations

import re

import pytest
import requests

from gateway.models import ConsentRecord
from gateway.services import consent, consent_pdf, grants
from tests.contact_page import find, make_share
from tests.mail_tools import pdf_text
from tests.tracking_tools import recorded_events
from webui.legal_text import render_legal_text

pytestmark = pytest.mark.server

HOSTILE = """# Widerrufsbelehrung

Widerrufsrecht

Sie haben das Recht, binnen vierzehn Tagen zu widerrufen.
An Muster GmbH, Hauptstraße 1

- per Brief
- per E-Mail an [widerruf@muster.example](mailto:widerruf@muster.example)

<script>alert(1)</script>

<img src=x onerror=alert(1)>

[klick](javascript:alert(1)) [data](data:text/html,<b>x</b>) [web](https://muster.example/agb)

![bild](https://tracker.example/pixel.gif)

Hiermit widerrufe(n) ich/wir (*) den Vertrag (*): ____________________
"""


def test_structure_is_kept_and_nothing_active_gets_through():
    html = str(render_legal_text(HOSTILE))
    assert "<h3>Widerrufsbelehrung</h3>" in html
    assert "<h4>Widerrufsrecht</h4>" in html  # a lone short line is a heading
    assert "<li>per Brief</li>" in html
    assert '<a href="mailto:widerruf@muster.example">' in html
    assert '<a href="https://muster.example/agb">web</a>' in html
    assert "zu widerrufen.<br />\nAn Muster GmbH" in html  # the author's line break
    assert "<script" not in html and "<img" not in html and "onerror=alert(1)&gt;" in html
    assert "javascript:" not in html.replace("[klick](javascript:alert(1))", "")
    assert 'href="data:' not in html and "tracker.example/pixel.gif" not in html.replace(
        'href="https://tracker.example/pixel.gif"', ""
    )
    # A legal text's wording stays as written: no emphasis eats the "(*)".
    assert "ich/wir (*) den Vertrag (*): ____________________" in html


def test_a_sentence_or_a_form_line_is_no_heading():
    html = str(render_legal_text("Ende.\n\nDatum: ______\n\n(*) streichen\n\nKurz"))
    assert html.count("<h3>") == 1 and "<h3>Kurz</h3>" in html  # no level skipped


def test_the_highest_written_heading_becomes_h3():
    html = str(render_legal_text("## Teil\n\nAbschnitt\n\n### Unterteil"))
    assert html.split() == "<h3>Teil</h3> <h4>Abschnitt</h4> <h4>Unterteil</h4>".split()


def test_the_consent_page_shows_the_text_structured(server, config):
    consent.add_text("widerruf", HOSTILE)
    share = make_share(config, requires_consent=True)
    page = requests.get(server.url + share.link).text
    [text] = find(page, "widerruf-text")
    body = page[page.index('data-testid="widerruf-text"') :]
    body = body[: body.index("</section>")]
    assert "<h4>Widerrufsrecht</h4>" in body and "<ul>" in body
    assert "<script>" not in body and "javascript:" not in re.sub(r"\[klick\]\([^)]*\)", "", body)
    assert "Widerrufsrecht" in text.text


def test_the_texts_pdf_under_a_link(server, config):
    share = make_share(config, requires_consent=True)
    response = requests.get(server.url + share.link + "/texts.pdf")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert consent_pdf.filename("de") in response.headers["Content-Disposition"]
    assert consent.current_texts().widerruf.sha256 in pdf_text(response.content)
    english = requests.get(server.url + share.link + "/texts.pdf?lang=en")
    assert consent_pdf.filename("en") in english.headers["Content-Disposition"]
    assert requests.get(server.url + share.preview + "/texts.pdf").status_code == 200
    grants.revoke_access("obj-1", "4711")
    gone = requests.get(server.url + share.link + "/texts.pdf")
    assert gone.status_code == 404 and "application/pdf" not in gone.headers["Content-Type"]
    assert requests.get(server.url + "/s/" + "B" * 43 + "/texts.pdf").status_code == 404
    assert ConsentRecord.select().count() == 0


def test_the_preview_shows_the_consent_step_first_and_records_nothing(server, config):
    share = make_share(config, requires_consent=True)
    with requests.Session() as agent:
        first = agent.get(server.url + share.preview).text
        assert find(first, "consent-form") and find(first, "preview-banner")
        assert not find(first, "entry")
        assert 'name="csrf"' not in first  # nothing to submit for real
        folder = agent.get(server.url + share.preview + "/browse/Grundrisse").text
        assert find(folder, "consent-form") and not find(folder, "entry")
        thumb = agent.get(
            server.url + share.preview + "/thumb/Grundrisse/Grundriss Keller.pdf",
            allow_redirects=False,
        )
        assert thumb.status_code == 303
        moved_on = agent.post(server.url + share.preview + "/consent", allow_redirects=False)
        assert moved_on.status_code == 303
        assert moved_on.headers["Location"].endswith(share.preview + "/")
        shown = agent.get(server.url + share.preview).text
        assert find(shown, "entry") and not find(shown, "consent-form")
    with requests.Session() as other_browser:
        again = other_browser.get(server.url + share.preview).text
        assert find(again, "consent-form")
    assert ConsentRecord.select().count() == 0
    assert recorded_events() == []
    assert find(requests.get(server.url + share.link).text, "consent-form")


def test_a_preview_of_a_property_without_consent_goes_straight_to_the_share(server, config):
    share = make_share(config, requires_consent=False)
    page = requests.get(server.url + share.preview).text
    assert find(page, "entry") and not find(page, "consent-form")
