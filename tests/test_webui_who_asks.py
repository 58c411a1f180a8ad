"""Who is asking, over HTTP against the real server and through the CLI: the agency in
the header, the property's contact person on every page of a link (error pages of a
revoked or expired link included, never for an unknown one), the Impressum and the
privacy notice naming the controller, the link's expiry, icons, German numbers, and
``doctor`` warning about missing branding."""

from __future__ import annotations

import datetime
import json
import re
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import requests

from gateway.services import branding, grants
from gateway.services.contact_person import set_contact_person
from tests.branded_share import (
    AGENCY,
    EXPIRES,
    IMPRINT_URL,
    PERSON,
    PRIVACY_CONTACT,
    make_branded_share,
)
from tests.contact_page import entries, find, make_share
from tests.factories import make_grant

pytestmark = pytest.mark.server


def get(server, path, **kwargs):
    return requests.get(server.url + path, allow_redirects=False, **kwargs)


def text_of(html: str, testid: str) -> str:
    [hook] = find(html, testid)
    return " ".join(hook.text.split())


# --- the header: who is asking ----------------------------------------------------


def test_header_names_the_agency_and_the_contact_person_on_the_consent_page(
    server, config, tmp_path
):
    share = make_branded_share(config, tmp_path, requires_consent=True)
    consent_page = get(server, share.link).text
    assert find(consent_page, "consent-form")
    assert text_of(consent_page, "agency-name") == AGENCY
    assert find(consent_page, "logo")[0].attrs["src"].startswith("/branding/logo-")
    person = text_of(consent_page, "contact-person")
    assert all(part in person for part in PERSON)
    phone = find(consent_page, "contact-person-phone")[0].attrs["href"]
    assert phone == "tel:+499111234567"
    assert find(consent_page, "contact-person-email")[0].attrs["href"] == "mailto:" + PERSON[2]


def test_header_names_the_agency_and_the_contact_person_on_the_share(server, config, tmp_path):
    share = make_branded_share(config, tmp_path, requires_consent=False)
    share_page = get(server, share.link).text
    assert find(share_page, "entry")
    assert PERSON[0] in text_of(share_page, "contact-person")
    assert text_of(share_page, "agency-name") == AGENCY


def test_without_branding_the_header_says_so_instead_of_staying_empty(server, config):
    share = make_share(config)
    page = get(server, share.link).text
    assert not find(page, "logo") and not find(page, "agency-name")
    assert "noch keine Maklerfirma" in text_of(page, "agency-unknown")
    english = get(server, share.link + "/?lang=en").text
    assert "does not name an agency" in text_of(english, "agency-unknown")
    assert not find(page, "contact-person")  # none named for the property
    assert not find(page, "imprint-link")  # nothing to link to


def test_a_name_without_logo_gets_its_initials_as_the_mark(server, config):
    share = make_share(config)
    branding.set_branding(config, name="Muster Immobilien GmbH")
    page = get(server, share.link).text
    assert text_of(page, "logo") == "MI"
    assert text_of(page, "agency-name") == "Muster Immobilien GmbH"
    assert not find(page, "agency-unknown")


# --- error pages of a link ----------------------------------------------------------


def _bad_links(config):
    make_share(config, key="obj-2", ref="4712", title="Geheimweg 9 — nur für Käufer")
    set_contact_person("obj-2", *PERSON)
    revoked = make_grant(config, "obj-2", "4712")
    grants.revoke_access("obj-2", "4712")
    make_share(config, key="obj-3", ref="4713", title="Geheimweg 10 — nur für Käufer")
    set_contact_person("obj-3", *PERSON)
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    expired = make_grant(config, "obj-3", "4713", expires=yesterday)
    return {"revoked": urlsplit(revoked.link).path, "expired": urlsplit(expired.link).path}


@pytest.mark.parametrize("which", ["revoked", "expired"])
def test_a_revoked_or_expired_link_names_whom_to_call_and_nothing_of_the_share(
    server, config, which
):
    branding.set_branding(config, name=AGENCY)
    link = _bad_links(config)[which]
    for path in (link, link + "/", link + "/browse/Grundrisse", link + "/download/notizen.txt"):
        response = get(server, path)
        assert response.status_code == 404, path
        page = response.text
        assert find(page, "not-found")
        person = text_of(page, "contact-person")
        assert PERSON[0] in person and PERSON[1] in person and PERSON[2] in person
        assert "Geheimweg" not in page and "notizen" not in page and "Grundriss" not in page
        assert not find(page, "entry") and not find(page, "share-title")


def test_an_unknown_link_names_the_agency_but_no_person(server, config):
    _bad_links(config)
    branding.set_branding(config, name=AGENCY)
    page = get(server, "/s/" + "B" * 43).text
    assert find(page, "not-found") and not find(page, "contact-person")
    assert PERSON[0] not in page and PERSON[1] not in page
    assert f"Ihr Ansprechpartner: {AGENCY}" in page


def test_a_missing_path_of_a_live_link_names_the_contact_person(server, config, tmp_path):
    share = make_branded_share(config, tmp_path, requires_consent=False)
    response = get(server, share.link + "/browse/Gibt-es-nicht")
    assert response.status_code == 404
    assert PERSON[0] in text_of(response.text, "contact-person")


def test_the_preview_names_the_contact_person_too(server, config, tmp_path):
    share = make_branded_share(config, tmp_path, requires_consent=False)
    page = get(server, share.preview).text
    assert PERSON[0] in text_of(page, "contact-person")
    forbidden = get(server, share.preview + "/download/notizen.txt")
    assert forbidden.status_code == 403 and PERSON[0] in forbidden.text


# --- Impressum and privacy ----------------------------------------------------------


def test_footer_links_the_impressum_url_and_the_privacy_notice(server, config, tmp_path):
    share = make_branded_share(config, tmp_path, requires_consent=False)
    page = get(server, share.link).text
    assert find(page, "imprint-link")[0].attrs["href"] == IMPRINT_URL
    privacy_href = find(page, "privacy-link")[0].attrs["href"]
    notice = get(server, privacy_href)
    assert notice.status_code == 200
    controller = text_of(notice.text, "privacy-controller")
    assert controller == f"Verantwortlich für die Verarbeitung ist {AGENCY}."
    assert text_of(notice.text, "privacy-contact") == PRIVACY_CONTACT
    english = get(server, privacy_href + "?lang=en").text
    assert text_of(english, "privacy-controller") == f"The controller is {AGENCY}."
    assert get(server, "/impressum").status_code == 404  # a URL is linked, not shown


def test_an_impressum_given_as_text_gets_its_own_escaped_page(server, config):
    share = make_share(config)
    imprint = "Muster <Immobilien> GmbH\nHauptstraße 1\n90402 Nürnberg\nHRB 12345"
    branding.set_branding(config, imprint=imprint)
    page = get(server, share.link).text
    href = find(page, "imprint-link")[0].attrs["href"]
    assert href == "/impressum"
    shown = get(server, href)
    assert shown.status_code == 200
    assert "Muster &lt;Immobilien&gt; GmbH\nHauptstraße 1" in shown.text
    assert "<Immobilien>" not in shown.text


def test_without_branding_the_privacy_notice_says_the_controller_is_not_named(server, config):
    page = get(server, "/datenschutz").text
    assert "noch nicht angegeben" in text_of(page, "privacy-controller")
    assert not find(page, "privacy-contact")


def test_branding_set_over_the_cli_and_shown(cli):
    result = cli(
        "branding",
        "set",
        "--imprint",
        IMPRINT_URL,
        "--privacy-contact",
        PRIVACY_CONTACT,
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["imprint"] == IMPRINT_URL
    shown = json.loads(cli("branding", "show", "--json").stdout)
    assert shown == {
        "name": None,
        "logo": None,
        "imprint": IMPRINT_URL,
        "privacy_contact": PRIVACY_CONTACT,
    }
    text = cli("branding", "set", "--imprint", "Muster GmbH\r\nHauptstraße 1\x07")
    assert text.exit_code == 0, text.output
    assert json.loads(cli("branding", "show", "--json").stdout)["imprint"] == (
        "Muster GmbH\nHauptstraße 1"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (("--imprint", "javascript:alert(1)//https://x"), None),
        (("--imprint", 'https://example.de/" onmouseover="x'), "http(s) address"),
        (("--imprint", "https://example.de/a b"), "http(s) address"),
        (("--imprint", "https://example.de/" + "a" * 2000), "http(s) address"),
        (("--imprint", "   "), "Impressum text must be 1–4000 characters"),
        (("--imprint", "x" * 4001), "Impressum text must be 1–4000 characters"),
        (("--privacy-contact", ""), "privacy contact must be 1–1000 characters"),
        (("--privacy-contact", "y" * 1001), "privacy contact must be 1–1000 characters"),
    ],
)
def test_bad_impressum_or_privacy_contact_is_one_line_and_changes_nothing(cli, args, message):
    before = cli("branding", "show", "--json").stdout
    result = cli("branding", "set", *args)
    if message is None:  # not a URL: taken as the Impressum's text, shown escaped
        assert result.exit_code == 0
        return
    assert result.exit_code == 1, result.output
    [line] = result.stderr.strip().splitlines()
    assert message in line
    assert cli("branding", "show", "--json").stdout == before


# --- what the share page shows -------------------------------------------------------


def test_expiry_date_and_file_dates_and_sizes_in_german_and_english(server, config, tmp_path):
    share = make_branded_share(config, tmp_path, requires_consent=False)
    page = get(server, share.link).text
    assert text_of(page, "link-expires") == "Ihr Link ist gültig bis einschließlich 31.03.2099."
    metas = {e.attrs["data-name"]: " ".join(e.text.split()) for e in entries(page)}
    assert "2,4 MB · 12.11.2026" in metas["Exposé Musterstraße 5.pdf"]
    english = get(server, share.link + "/?lang=en").text
    assert text_of(english, "link-expires") == "Your link is valid until 31 Mar 2099 (inclusive)."
    metas = {e.attrs["data-name"]: " ".join(e.text.split()) for e in entries(english)}
    assert "2.4 MB · 12 Nov 2026" in metas["Exposé Musterstraße 5.pdf"]
    assert EXPIRES == datetime.date(2099, 3, 31)


def test_no_expiry_line_for_a_link_without_expiry(server, config):
    share = make_share(config)
    assert not find(get(server, share.link).text, "link-expires")


def _icons(page: str) -> dict[str, str]:
    found = {}
    for match in re.finditer(
        r'data-name="([^"]+)"[^>]*>.*?<img class="entry__icon[^"]*" src="([^"]+)"', page, re.S
    ):
        found[match.group(1)] = match.group(2)
    return found


def test_entries_carry_real_folder_and_file_type_icons(server, config, tmp_path):
    share = make_branded_share(config, tmp_path, requires_consent=False)
    page = get(server, share.link).text
    icons = _icons(page)
    assert "/icons/folder.svg" in icons["Grundrisse"]
    assert "/icons/pdf.svg" in icons["Exposé Musterstraße 5.pdf"]
    assert "/icons/doc.svg" in icons["Lageplan.docx"]
    assert "/icons/sheet.svg" in icons["Kosten.xlsx"]
    assert "/icons/text.svg" in icons["notizen.txt"]
    assert "/icons/image.svg" in icons["Garten.jpg"]
    for url in set(icons.values()):
        response = get(server, url)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith(
            "image/svg+xml"
        )
        ElementTree.fromstring(response.content)  # well-formed SVG
        assert b"<script" not in response.content
    favicon = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page)
    assert get(server, favicon.group(1)).status_code == 200


def test_list_view_carries_thumbnails_where_they_exist(server, config, tmp_path):
    share = make_branded_share(config, tmp_path, requires_consent=False)
    page = get(server, share.link + "/?view=list").text
    assert 'data-view="list"' in page
    thumbs = dict(
        re.findall(
            r'data-name="([^"]+)"[^>]*>\s*<a[^>]*>\s*<img class="entry__thumb" src="([^"]+)"', page
        )
    )
    assert "Garten.jpg" in thumbs and "notizen.txt" not in thumbs
    image = get(server, thumbs["Garten.jpg"])
    assert image.status_code in (200, 503)


# --- doctor ----------------------------------------------------------------------------


def test_doctor_warns_without_branding_and_not_once_it_is_complete(config, cli):
    make_share(config)
    data = json.loads(cli("doctor", "--json").stdout)
    [finding] = [f for f in data["findings"] if f["code"] == "branding_incomplete"]
    assert finding["severity"] == "warning"
    assert "agency name" in finding["message"] and "Impressum" in finding["message"]
    assert "branding set --name" in finding["fix"] and "--privacy-contact" in finding["fix"]
    assert cli("branding", "set", "--name", AGENCY, "--imprint", IMPRINT_URL).exit_code == 0
    data = json.loads(cli("doctor", "--json").stdout)
    [finding] = [f for f in data["findings"] if f["code"] == "branding_incomplete"]
    assert "privacy contact" in finding["message"] and "--name" not in finding["fix"]
    assert cli("branding", "set", "--privacy-contact", PRIVACY_CONTACT).exit_code == 0
    data = json.loads(cli("doctor", "--json").stdout)
    assert "branding_incomplete" not in {f["code"] for f in data["findings"]}
