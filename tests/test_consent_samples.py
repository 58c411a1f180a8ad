"""No sample text reaches a contact: the one placeholder rule, and every way in
(`consent set`, `grant`, the contact page and its form, `serve`, `consent show`,
`doctor`) refuses or reports a text that still has the sample's placeholders."""

from __future__ import annotations

import json

import pytest
import requests

from gateway.models import AccessEvent, ConsentRecord, ConsentText, Credential, Grant, Property
from gateway.services import consent, tracking
from tests.contact_page import consent_fields, find, make_share
from tests.factories import WIDERRUF_TEXT, make_contact, make_property
from tests.tools import ServerProcess

SAMPLE_WIDERRUF = consent.parse_text(consent.shipped_sample("widerruf"), "sample")
SAMPLE_AGB = consent.parse_text(consent.shipped_sample("agb"), "sample")


def store_legacy_sample(kind: str = "widerruf") -> ConsentText:
    """A sample as releases before this rule stored it unasked (never via add_text)."""
    body = SAMPLE_WIDERRUF if kind == "widerruf" else SAMPLE_AGB
    last = ConsentText.select().where(ConsentText.kind == kind).count()
    return ConsentText.create(
        kind=kind, version=last + 1, body=body, sha256=consent.text_sha256(body)
    )


def texts_table() -> list:
    return [(t.kind, t.version, t.sha256) for t in ConsentText.select().order_by(ConsentText.id)]


# --- the rule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,markers",
    [
        (SAMPLE_WIDERRUF, ["MUSTERTEXT", "[eckigen Klammern]", "[Name der Maklerfirma]"]),
        (SAMPLE_AGB, ["MUSTERTEXT", "[eckigen Klammern]", "[Name der Maklerfirma]"]),
        (WIDERRUF_TEXT, []),
        ("Siehe [1], [2a], [*] und [ … ] sowie Art. 246a § 1 (z. B. per E-Mail) [].", []),
        ("Widerruf an uns (Muster GmbH [Anschrift]) (Tel. [1])", ["[Anschrift]"]),
        ("Zeile eins\r\nAn [Name der\r\nMaklerfirma], Teil zwei", ["[Name der Maklerfirma]"]),
        ("Voll\u00adständig, nur \uff3bTelefonnummer\uff3d in Vollbreite", ["[Telefonnummer]"]),
        ("Keine Klammer: Mustertext und Muster-Widerrufsformular ____", []),
        ("[ Frist ] und [Frist] und [Frist]", ["[ Frist ]", "[Frist]"]),
    ],
    ids=[
        "shipped-widerruf",
        "shipped-agb",
        "complete",
        "normal-brackets",
        "hidden-among-brackets",
        "crlf-wrapped",
        "full-width",
        "no-brackets",
        "repeated",
    ],
)
def test_sample_markers_finds_every_placeholder_and_nothing_else(body, markers):
    found = consent.sample_markers(body)
    assert found[: len(markers)] == markers if markers else found == []
    assert len(found) == len(set(found))


# --- consent set -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content,first",
    [
        (consent.shipped_sample("widerruf"), "MUSTERTEXT, [eckigen Klammern], [Name der"),
        (
            "\ufeffWiderrufsbelehrung der Muster GmbH (Stand [1])\r\n\r\n"
            "Schreiben Sie an Muster GmbH, Hauptstr. 1 (Tel. 0911 1) bzw.\r\n"
            "[E-Mail-\r\nAdresse] (siehe [2]).\r\n".encode(),
            "[E-Mail- Adresse]",
        ),
        ("Widerrufsbelehrung für \uff3bName der Maklerfirma\uff3d".encode(), "[Name der"),
    ],
    ids=["shipped", "crlf-bom-hidden", "full-width"],
)
def test_consent_set_refuses_a_sample_and_stores_nothing(cli, config, tmp_path, content, first):
    consent.add_text("widerruf", WIDERRUF_TEXT)
    before = texts_table()
    path = tmp_path / "widerruf.txt"
    path.write_bytes(content)
    result = cli("consent", "set", "widerruf", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert "widerruf.txt still has placeholders of the sample" in line and first in line
    assert "nothing was stored" in line and "Traceback" not in result.output
    assert texts_table() == before
    assert consent.current_texts().widerruf.body == WIDERRUF_TEXT


def test_consent_set_refuses_a_sample_agb_too(cli, config, tmp_path):
    path = tmp_path / "agb.txt"
    path.write_bytes(consent.shipped_sample("agb"))
    result = cli("consent", "set", "agb", str(path), "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        "Error: agb.txt still has placeholders of the sample: MUSTERTEXT, [eckigen Klammern], "
        "[Name der Maklerfirma] and 2 more placeholder(s) — fill them in (have the text "
        "checked by your lawyer) and set it again; nothing was stored"
    )
    assert ConsentText.select().count() == 0


def test_the_service_refuses_a_sample_whoever_calls_it(config):
    with pytest.raises(consent.SampleText, match=r"\[Anschrift\]"):
        consent.add_text("widerruf", "Schreiben Sie an: [Anschrift]")
    assert ConsentText.select().count() == 0


# --- grant -----------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["nothing-set", "legacy-sample", "legacy-sample-agb"])
def test_grant_refuses_a_consent_property_while_only_samples_exist(cli, config, state):
    make_property(config, "obj-1")  # asks no consent: always grantable
    assert cli("property", "add", "obj-c", "--title", "Mit Widerruf").exit_code == 0
    make_contact("4711", email="erika@example.de")
    if state == "legacy-sample":
        store_legacy_sample("widerruf")
    elif state == "legacy-sample-agb":
        consent.add_text("widerruf", WIDERRUF_TEXT)
        store_legacy_sample("agb")
    result = cli("grant", "obj-c", "4711")
    assert result.exit_code == 1 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert "immoshare consent set" in line
    expected = {
        "nothing-set": "no Widerrufsbelehrung is set",
        "legacy-sample": "the current Widerrufsbelehrung is a sample: it still has MUSTERTEXT",
        "legacy-sample-agb": "the current AGB is a sample",
    }[state]
    assert expected in line
    assert Grant.select().count() == 0 and Credential.select().count() == 0
    assert cli("grant", "obj-1", "4711").exit_code == 0  # no consent asked: nothing shown


def test_grant_works_once_a_complete_text_is_set(cli, config, tmp_path):
    assert cli("property", "add", "obj-c", "--title", "Mit Widerruf").exit_code == 0
    make_contact("4711", email="erika@example.de")
    store_legacy_sample("widerruf")
    text = tmp_path / "widerruf.txt"
    text.write_text(WIDERRUF_TEXT.replace("\n", "\r\n"), encoding="utf-8")
    assert cli("consent", "set", "widerruf", str(text)).exit_code == 0
    result = cli("grant", "obj-c", "4711")
    assert result.exit_code == 0, result.output


# --- the contact page ------------------------------------------------------------------


@pytest.fixture
def gated_then_sample(config):
    """A grant made with complete texts; then an older release's sample is current."""
    share = make_share(config, requires_consent=True, email="erika@example.de")
    store_legacy_sample("widerruf")
    return share


def assert_refused_without_sample(response):
    assert response.status_code == 503
    [notice] = find(response.text, "consent-unavailable")
    assert notice.attrs["data-reason"] == "sample_text"
    assert not find(response.text, "consent-form") and not find(response.text, "entry")
    for mark in ("MUSTERTEXT", "[Name der Maklerfirma]", "[Anschrift]", "Widerrufsrecht"):
        assert mark not in response.text
    assert "noch nicht freigegeben" in response.text


@pytest.mark.server
def test_the_contact_page_never_shows_a_sample_and_records_nothing(server, gated_then_sample):
    share = gated_then_sample
    with requests.Session() as browser:
        assert_refused_without_sample(browser.get(server.url + share.link))
        english = browser.get(server.url + share.link, headers={"Accept-Language": "en"})
        assert english.status_code == 503 and "not released yet" in english.text
        preview = browser.get(server.url + share.preview).text  # the agent's, no consent step
        assert "MUSTERTEXT" not in preview and "[Anschrift]" not in preview
        for deep in ("/download/notizen.txt", "/zip"):
            r = browser.get(server.url + share.link + deep, allow_redirects=False)
            assert r.status_code == 303  # to the page above, never a file
        posted = browser.post(
            server.url + share.link + "/consent",
            data={"early_start": "yes", "widerruf": "yes", "widerruf_version": "2"},
        )
    assert_refused_without_sample(posted)
    assert ConsentRecord.select().count() == 0
    assert tracking.flush()
    assert AccessEvent.select().where(AccessEvent.action == "consent").count() == 0


@pytest.mark.server
def test_a_form_opened_before_a_sample_became_current_is_not_accepted(server, config):
    share = make_share(config, requires_consent=True, email="erika@example.de")
    with requests.Session() as browser:
        fields = consent_fields(browser.get(server.url + share.link).text)
        store_legacy_sample("widerruf")
        posted = browser.post(server.url + share.link + "/consent", data=fields)
    assert_refused_without_sample(posted)
    assert ConsentRecord.select().count() == 0


@pytest.mark.server
def test_a_property_switched_to_consent_without_texts_refuses(server, config):
    share = make_share(config, requires_consent=False)
    Property.update(requires_consent=True).execute()
    assert_refused_without_sample(requests.get(server.url + share.link))


# --- serve, consent show, doctor ---------------------------------------------------------


@pytest.mark.server
@pytest.mark.parametrize("texts", ["none", "complete"])
def test_serve_warns_at_start_while_no_complete_text_is_set(home, cli, config, texts):
    assert cli("property", "add", "obj-c", "--title", "Mit Widerruf").exit_code == 0
    if texts == "complete":
        consent.add_text("widerruf", WIDERRUF_TEXT)
    server = ServerProcess(home)
    server.stop()
    log = server.log_path.read_text(encoding="utf-8")
    warned = "no Widerrufsbelehrung is set: contacts of properties that ask for consent" in log
    assert warned == (texts == "none"), log


def test_consent_show_marks_the_sample_versions(cli, config):
    store_legacy_sample("widerruf")
    consent.add_text("widerruf", WIDERRUF_TEXT)
    store_legacy_sample("agb")
    shown = json.loads(cli("consent", "show", "--json").stdout)
    assert [(t["kind"], t["version"], t["current"], t["sample"]) for t in shown] == [
        ("widerruf", 1, False, True),
        ("widerruf", 2, True, False),
        ("agb", 1, True, True),
    ]
    assert shown[0]["placeholders"][:2] == ["MUSTERTEXT", "[eckigen Klammern]"]
    assert shown[1]["placeholders"] == []
    text = cli("consent", "show")
    assert text.exit_code == 0
    rows = text.stdout.splitlines()[1:]
    assert ["sample" in row for row in rows] == [True, False, True]
    assert "The current AGB is a sample" in text.stderr


@pytest.mark.parametrize("state", ["nothing-set", "legacy-sample"])
def test_doctor_reports_missing_or_sample_texts(cli, config, state):
    assert cli("property", "add", "obj-c", "--title", "Mit Widerruf").exit_code == 0
    if state == "legacy-sample":
        store_legacy_sample("widerruf")
    result = cli("doctor", "--json")
    findings = [
        f for f in json.loads(result.stdout)["findings"] if f["code"] == "consent_sample_text"
    ]
    assert result.exit_code == 1
    assert [(f["severity"], f["subject"]) for f in findings] == [("error", "consent widerruf")]
    assert "consent set widerruf FILE" in findings[0]["fix"]
    consent.add_text("widerruf", WIDERRUF_TEXT)
    after = json.loads(cli("doctor", "--json").stdout)["findings"]
    assert not [f for f in after if f["code"] == "consent_sample_text"]
