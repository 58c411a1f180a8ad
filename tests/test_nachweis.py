"""The Nachweis (``immoshare report``): a contact consents through the real form, the
confirmation goes to a real SMTP server, files go out over the web, WebDAV and a zip,
one only in part; then the PDF (read back with ``pdftotext``), the printable HTML and
the JSON state what a lawyer needs, each fact checked against its source."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import hashlib
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from gateway.config import SETTINGS
from gateway.errors import NotFound
from gateway.models import AccessEvent, ConsentRecord
from gateway.services import consent, contacts, grants, nachweis
from gateway.services.home import open_home
from tests.contact_page import make_share
from tests.tools import ThreadedServer, require_tool, sha, wait_until
from tests.tracking_tools import wait_for_events

pytestmark = pytest.mark.server

WIDERRUF = (
    "Widerrufsbelehrung der Muster Immobilien GmbH\n\n"
    "Sie haben das Recht, binnen vierzehn Tagen ohne Angabe von Gründen diesen Vertrag "
    "zu widerrufen.\n\nMuster-Widerrufsformular\n\nAn Muster Immobilien GmbH, "
    "Hauptmarkt 1, 90403 Nürnberg"
)
AGB = "Allgemeine Geschäftsbedingungen der Muster Immobilien GmbH\n\n§ 1 Provision: 3,57 %."
FILES = {
    "Exposé Musterstraße 5.pdf": b"%PDF-1.4 expose " + b"x" * 30_000,
    "Grundrisse/EG.pdf": b"%PDF-1.4 eg " + b"e" * 12_000,
    "Grundrisse/OG.pdf": b"%PDF-1.4 og " + b"o" * 9_000,
    "Energieausweis/Energieausweis 2024.pdf": b"%PDF-1.4 energie " + b"n" * 5_000,
    # A name cannot hold '/': a folder "<script>alert(1)<" and a file "script>.pdf".
    "<script>alert(1)</script>.pdf": b"%PDF-1.4 script",
    "unberührt.pdf": b"%PDF-1.4 never fetched",
}
PARTIAL = "Energieausweis/Energieausweis 2024.pdf"
TITLE = "Musterstraße 5 & 7, 90402 Nürnberg"


@dataclasses.dataclass
class Scenario:
    """What happened, as the test saw it from outside."""

    message_id: str
    mail_sha256: str
    widerruf_version: int
    widerruf_sha256: str
    agb_sha256: str


def home_with(home: Path, lines: str):
    with open(home / "immoshare.yaml", "a", encoding="utf-8") as fh:
        fh.write(lines)
    return open_home(home)


def without_durable_medium(home: Path):
    """A home whose operator accepts consents without a mailed confirmation: no SMTP,
    and (where the setting exists) ``consent_requires_mail: false``."""
    if any(setting.name == "consent_requires_mail" for setting in SETTINGS):
        return home_with(home, "consent_requires_mail: false\n")
    return open_home(home)


def consent_through_the_form(server, link: str) -> None:
    """Tick every statement on the contact's page and send the form, as a browser does."""
    with requests.Session() as session:
        page = session.get(server.url + link).text
        fields = dict(
            re.findall(r'name="(csrf|widerruf_version|agb_version)" value="([^"]*)"', page)
        )
        assert "csrf" in fields, page[:500]
        fields.update(early_start="yes", widerruf="yes", agb="yes")
        sent = session.post(server.url + link + "/consent", data=fields, allow_redirects=False)
        assert sent.status_code == 303, sent.text[:300]


def fetch_files(server, share) -> None:
    """Web: one download, one inline open, one zip of a folder; WebDAV: one whole file
    and the first 100 bytes of another."""
    with requests.Session() as web:
        base = server.url + share.link
        got = web.get(f"{base}/download/{quote('Exposé Musterstraße 5.pdf')}")
        assert got.content == FILES["Exposé Musterstraße 5.pdf"]
        opened = web.get(f"{base}/open/{quote('<script>alert(1)</script>.pdf')}")
        assert opened.content == FILES["<script>alert(1)</script>.pdf"]
        zipped = web.get(f"{base}/zip", params={"dir": "Grundrisse"})
        assert zipped.status_code == 200
    dav = (share.grant.username, share.grant.password)
    whole = requests.get(server.url + "/view/obj-1/Grundrisse/EG.pdf", auth=dav)
    assert whole.content == FILES["Grundrisse/EG.pdf"]
    part = requests.get(
        server.url + "/view/obj-1/" + quote(PARTIAL), auth=dav, headers={"Range": "bytes=0-99"}
    )
    assert part.status_code == 206 and len(part.content) == 100
    # the exposé, the zip's two members, EG.pdf over WebDAV, the range
    wait_for_events(5, contact="4711", property="obj-1", action="download")
    wait_for_events(1, contact="4711", action="open", path="<script>alert(1)</script>.pdf")


@pytest.fixture
def consented(home, smtp_port, inbox) -> Scenario:
    """A contact who consented through the form with SMTP set up, got the mail, and
    fetched files over every channel."""
    config = home_with(
        home,
        f"smtp_host: 127.0.0.1\nsmtp_port: {smtp_port}\n"
        "smtp_from: unterlagen@muster-immobilien.de\n",
    )
    widerruf = consent.add_text("widerruf", WIDERRUF)
    agb = consent.add_text("agb", AGB)
    share = make_share(
        config, requires_consent=True, email="erika@example.de", files=FILES, title=TITLE
    )
    server = ThreadedServer(config)
    try:
        consent_through_the_form(server, share.link)
        assert inbox.arrived.wait(30), "the confirmation never reached the SMTP server"
        wait_until(
            lambda: ConsentRecord.get().mail_state == "sent",
            message="the sent confirmation was not recorded",
        )
        fetch_files(server, share)
    finally:
        server.stop()
    raw = inbox.messages[0][1]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return Scenario(
        message_id=message["Message-ID"],
        mail_sha256=hashlib.sha256(raw).hexdigest(),
        widerruf_version=widerruf.version,
        widerruf_sha256=widerruf.sha256,
        agb_sha256=agb.sha256,
    )


def pdf_text(path: Path) -> str:
    """The PDF's text as ``pdftotext -layout`` gives it: one line per label and value."""
    tool = require_tool("pdftotext")
    done = subprocess.run([tool, "-layout", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def line_with(text: str, *parts: str) -> str:
    """The one line of ``text`` that holds every one of ``parts``."""
    lines = [line for line in text.splitlines() if all(p in line for p in parts)]
    assert lines, f"no line holds {parts!r} in:\n{text}"
    return lines[0]


def chain_head(cli) -> str:
    verified = cli("tracking", "verify", "--json")
    assert verified.exit_code == 0, verified.output
    return json.loads(verified.output)["head"]


def report(cli, *args):
    result = cli("report", "obj-1", "4711", *args)
    assert result.exit_code == 0, result.output
    return result


# --- the PDF -----------------------------------------------------------------------


def test_pdf_states_texts_mail_documents_and_chain(consented, cli, tmp_path):
    target = tmp_path / "nachweis.pdf"
    report(cli, "--pdf", str(target))
    assert target.read_bytes().startswith(b"%PDF-")
    text = pdf_text(target)

    assert "Nachweis – Musterstraße 5 & 7, 90402 Nürnberg" in text
    assert "Erika Mustermann" in line_with(text, "Name")
    assert "erika@example.de" in line_with(text, "E-Mail")
    # each text version in full, with its sha256 and that the stored text still matches it
    version = consented.widerruf_version
    assert f"Widerrufsbelehrung und Muster-Widerrufsformular, Fassung {version}" in text
    assert consented.widerruf_sha256 in line_with(text, "SHA-256", consented.widerruf_sha256)
    assert consented.agb_sha256 in text
    assert "ja" in line_with(text, "Text passt zur Prüfsumme")
    assert "§ 1 Provision: 3,57 %." in text
    assert "Hauptmarkt 1, 90403 Nürnberg" in text
    flat = " ".join(text.split())
    for statement in ("early_start", "widerruf", "agb"):
        assert "[x] " + consent.STATEMENTS[statement]["de"] in flat
    assert "127.0.0.0" in line_with(text, "IP-Adresse (gekürzt)")
    assert "python-requests" in line_with(text, "Browser")

    # the confirmation on a durable medium
    assert consented.message_id in line_with(text, "Message-ID")
    assert consented.mail_sha256 in line_with(text, "SHA-256 der E-Mail")
    assert "an den Mailserver übergeben" in line_with(text, "Versandstatus")
    assert "keine Bestätigung auf einem dauerhaften" not in flat

    # every document that went out, by its sha256, whole or in part
    for path in ("Exposé Musterstraße 5.pdf", "Grundrisse/EG.pdf", "Grundrisse/OG.pdf"):
        assert sha(FILES[path]) in text, path
    assert sha(FILES["<script>alert(1)</script>.pdf"]) in text
    assert sha(FILES[PARTIAL]) in text
    assert sha(FILES["unberührt.pdf"]) not in text
    partial = text[text.index(PARTIAL) :]
    assert "100 Bytes" in line_with(partial, "Gesendet")
    assert "nein" in line_with(partial, "Vollständig")
    assert "5.017 Bytes" in line_with(partial, "Größe")
    eg = text[text.index("Grundrisse/EG.pdf") :]
    assert "WebDAV, ZIP-Archiv" in line_with(eg, "Weg")
    assert "ja" in line_with(eg, "Vollständig")

    assert "Nicht markiert" in line_with(text, "Nicht markiert")  # energy certificate
    assert chain_head(cli) in line_with(text, "Kopf der Hash-Kette")
    assert "intakt" in line_with(text, "Prüfung der Kette")

    pages = int(re.search(r"Seite 1 von (\d+)", text).group(1))
    assert pages >= 2
    for page in range(1, pages + 1):
        assert f"Seite {page} von {pages}" in text


def test_pdf_in_english(consented, cli, tmp_path):
    target = tmp_path / "evidence.pdf"
    report(cli, "--pdf", str(target), "--lang", "en")
    text = pdf_text(target)
    assert "Evidence report – Musterstraße 5 & 7" in text
    assert "Page 1 of " in text and "Seite" not in text
    assert consented.message_id in line_with(text, "Message-ID")
    assert "handed to the mail server" in line_with(text, "Delivery state")
    assert "no" in line_with(text[text.index(PARTIAL) :], "Complete")
    assert "Not marked" in text
    assert "intact" in line_with(text, "Chain check")
    # the texts stay as the contact read them
    assert "§ 1 Provision: 3,57 %." in text


# --- the HTML page -----------------------------------------------------------------


class TextOf(HTMLParser):
    """The text a browser shows, and the elements it would build."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_the_same_facts_escaped_and_printable(consented, cli, tmp_path):
    target = tmp_path / "nachweis.html"
    report(cli, "--html", str(target))
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert '<html lang="de">' in page and "@media print" in page and "size: A4" in page

    parsed = TextOf()
    parsed.feed(page)
    assert "script" not in parsed.tags  # the file named <script>… stays text
    assert "<script>alert(1)</script>.pdf" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.pdf" in page
    assert "Musterstraße 5 &amp; 7" in page
    shown = " ".join(" ".join(parsed.text).split())
    assert "<script>alert(1)</script>.pdf" in shown
    for fact in (
        consented.widerruf_sha256,
        consented.agb_sha256,
        consented.message_id,
        consented.mail_sha256,
        chain_head(cli),
        "§ 1 Provision: 3,57 %.",
        *(sha(FILES[p]) for p in FILES if p != "unberührt.pdf"),
    ):
        assert fact in shown, fact
    assert sha(FILES["unberührt.pdf"]) not in shown


# --- the JSON facts ----------------------------------------------------------------


def test_json_facts(consented, cli):
    facts = json.loads(report(cli, "--json").output)
    assert facts["property"] == {"key": "obj-1", "title": TITLE, "requires_consent": True}
    assert facts["contact"] == {
        "ref": "4711",
        "name": "Erika Mustermann",
        "email": "erika@example.de",
    }
    (given,) = facts["consents"]
    assert [(t["kind"], t["version"], t["sha256"], t["body_matches"]) for t in given["texts"]] == [
        ("widerruf", consented.widerruf_version, consented.widerruf_sha256, True),
        ("agb", 1, consented.agb_sha256, True),
    ]
    assert given["texts"][0]["body"] == WIDERRUF
    assert [s["id"] for s in given["statements"]] == ["early_start", "widerruf", "agb"]
    assert given["ip"] == "127.0.0.0"
    assert given["mail"]["state"] == "sent" and given["mail"]["durable"] is True
    assert given["mail"]["message_id"] == consented.message_id
    assert given["mail"]["sha256"] == consented.mail_sha256

    documents = {d["path"]: d for d in facts["documents"]}
    assert set(documents) == set(FILES) - {"unberührt.pdf"}
    for path, document in documents.items():
        assert document["sha256"] == sha(FILES[path])
        assert document["size"] == len(FILES[path])
        assert document["first"] <= document["last"]
    assert documents[PARTIAL]["bytes"] == 100 and documents[PARTIAL]["complete"] is False
    assert documents[PARTIAL]["channels"] == ["webdav"]
    assert documents["Exposé Musterstraße 5.pdf"]["channels"] == ["web"]
    assert documents["Exposé Musterstraße 5.pdf"]["complete"] is True
    assert documents["Grundrisse/EG.pdf"]["channels"] == ["webdav", "zip"]
    assert documents["Grundrisse/OG.pdf"]["channels"] == ["zip"]
    assert documents["<script>alert(1)</script>.pdf"]["opens"] == 1

    assert facts["energy_certificate"] is None
    assert facts["chain"]["head_hash"] == chain_head(cli)
    assert facts["chain"]["head_id"] == AccessEvent.select().count()
    assert facts["chain"]["verified"] is True


def test_a_changed_event_shows_as_a_broken_chain(consented, cli, tmp_path):
    changed = AccessEvent.select().where(AccessEvent.path == PARTIAL).get()
    AccessEvent.update(bytes=len(FILES[PARTIAL])).where(AccessEvent.id == changed.id).execute()
    target = tmp_path / "nachweis.pdf"
    report(cli, "--pdf", str(target))
    verdict = line_with(pdf_text(target), "Prüfung der Kette")
    assert f"GEBROCHEN bei Ereignis {changed.id}" in verdict
    assert json.loads(report(cli, "--json").output)["chain"]["broken_event"] == changed.id


# --- missing evidence, said plainly -------------------------------------------------


def test_consent_without_mail_says_no_durable_medium_exists(home, cli, tmp_path):
    config = without_durable_medium(home)
    consent.add_text("widerruf", WIDERRUF)
    share = make_share(config, requires_consent=True, email="erika@example.de", files=FILES)
    server = ThreadedServer(config)
    try:
        consent_through_the_form(server, share.link)
    finally:
        server.stop()
    assert ConsentRecord.get().mail_state == "none"
    target = tmp_path / "nachweis.pdf"
    report(cli, "--pdf", str(target))
    flat = " ".join(pdf_text(target).split())
    assert (
        "Es existiert keine Bestätigung auf einem dauerhaften Datenträger: bei der Zustimmung "
        "wurde keine Bestätigungs-E-Mail versandt" in flat
    )
    assert "Message-ID" not in flat
    assert "Der Kontakt hat keine Dokumente geöffnet oder heruntergeladen." in flat
    facts = json.loads(report(cli, "--json").output)
    assert facts["consents"][0]["mail"]["durable"] is False
    assert facts["consents"][0]["mail"]["message_id"] is None


def test_property_without_consent_says_so(config, cli, tmp_path):
    make_share(config, requires_consent=False, email="erika@example.de", files=FILES)
    target = tmp_path / "nachweis.html"
    report(cli, "--html", str(target), "--lang", "en")
    parsed = TextOf()
    parsed.feed(target.read_text(encoding="utf-8"))
    shown = " ".join(" ".join(parsed.text).split())
    assert "This property does not ask for consent" in shown
    assert "no confirmation on a durable medium exists" in shown
    facts = json.loads(report(cli, "--json").output)
    assert facts["consents"] == [] and facts["documents"] == []


def test_pending_consent_says_none_was_given(config, cli, tmp_path):
    consent.add_text("widerruf", WIDERRUF)
    make_share(config, requires_consent=True, email="erika@example.de", files=FILES)
    target = tmp_path / "nachweis.pdf"
    report(cli, "--pdf", str(target))
    flat = " ".join(pdf_text(target).split())
    assert "Der Kontakt hat keine Zustimmung erteilt" in flat
    assert "es existiert keine Bestätigung auf einem dauerhaften Datenträger" in flat


@pytest.mark.parametrize(
    "args,message",
    [
        (("obj-9", "4711"), "property 'obj-9' not found"),
        (("obj-1", "9999"), "contact '9999' not found"),
        (("obj-1", "0815"), "contact '0815' has no grant for property 'obj-1'"),
    ],
)
def test_unknown_property_contact_or_grant_is_one_line(config, cli, tmp_path, args, message):
    make_share(config, files=FILES)
    cli("contact", "add", "0815", "--name", "Max Muster")
    target = tmp_path / "nachweis.pdf"
    result = cli("report", *args, "--pdf", str(target))
    assert result.exit_code == 1
    assert result.output.startswith("Error: " + message)
    assert result.output.count("\n") == 1
    assert list(tmp_path.iterdir()) == [config.home]  # nothing written


def test_exactly_one_output_is_required(config, cli, tmp_path):
    make_share(config, files=FILES)
    for args in ((), ("--json", "--pdf", str(tmp_path / "x.pdf"))):
        result = cli("report", "obj-1", "4711", *args)
        assert result.exit_code == 2
        assert "exactly one of --pdf FILE, --html FILE or --json" in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_a_consent_stored_without_its_wording_says_what_was_ticked(config, cli, tmp_path):
    consent.add_text("widerruf", WIDERRUF)
    make_share(config, requires_consent=True, email="erika@example.de", files=FILES)
    texts = consent.current_texts()
    consent.record_consent(
        config,
        grants.get_grant("obj-1", "4711"),
        ticked={"early_start", "widerruf"},
        shown_versions={"widerruf": texts.widerruf.version, "agb": None},
        language="de",
        ip="192.0.2.17",
        user_agent="Firefox",
    )
    ConsentRecord.update(statements=None).execute()  # as stored before the wording was kept
    target = tmp_path / "nachweis.pdf"
    report(cli, "--pdf", str(target))
    text = pdf_text(target)
    assert "Der Wortlaut der Erklärungen wurde bei dieser Zustimmung" in text
    assert "ja" in line_with(text, "Vorzeitiger Beginn verlangt")
    assert "ja" in line_with(text, "Widerrufsverlust bestätigt")
    assert "192.0.2.0" in line_with(text, "IP-Adresse (gekürzt)")


def test_render_pdf_is_what_the_dashboard_calls(config, tmp_path):
    make_share(config, requires_consent=False, email="erika@example.de", files=FILES)
    for lang, page in (("de", "Seite 1 von 1"), ("en", "Page 1 of 1")):
        target = tmp_path / f"nachweis-{lang}.pdf"
        target.write_bytes(nachweis.render_pdf(config, "obj-1", "4711", lang=lang))
        assert page in pdf_text(target)
    assert json.loads(nachweis.render_json(config, "obj-1", "4711"))["contact"]["ref"] == "4711"
    contacts.add_contact("0815", "Max Muster")
    with pytest.raises(NotFound, match="has no grant"):
        nachweis.render_pdf(config, "obj-1", "0815")


def test_an_undelivered_confirmation_is_no_durable_medium(home, smtp_port, cli, tmp_path):
    config = home_with(  # nothing listens on smtp_port: every attempt fails
        home,
        f"smtp_host: 127.0.0.1\nsmtp_port: {smtp_port}\n"
        "smtp_from: unterlagen@muster-immobilien.de\n",
    )
    consent.add_text("widerruf", WIDERRUF)
    share = make_share(config, requires_consent=True, email="erika@example.de", files=FILES)
    server = ThreadedServer(config)
    try:
        consent_through_the_form(server, share.link)
        wait_until(
            lambda: ConsentRecord.get().mail_state == "retrying",
            message="the first attempt did not happen",
        )
    finally:
        server.stop()
    target = tmp_path / "nachweis.pdf"
    report(cli, "--pdf", str(target))
    text = pdf_text(target)
    assert "Versand wird wiederholt" in line_with(text, "Versandstatus")
    flat = " ".join(text.split())
    assert "es existiert noch keine Bestätigung auf einem dauerhaften Datenträger" in flat
    assert "Letzter Fehler: " in flat
    mail = json.loads(report(cli, "--json").output)["consents"][0]["mail"]
    assert mail["durable"] is False and mail["message_id"] is None and mail["error"]


def test_energy_certificate_section_shows_what_its_service_reports(config, tmp_path):
    make_share(config, requires_consent=False, email="erika@example.de", files=FILES)
    facts = nachweis.build_facts(config, "obj-1", "4711")
    assert facts["energy_certificate"] is None
    facts["energy_certificate"] = {
        "path": PARTIAL,
        "sha256": sha(FILES[PARTIAL]),
        "delivered": True,
        "delivered_at": "2026-11-12T09:30:00Z",
    }
    target = tmp_path / "nachweis.pdf"
    target.write_bytes(nachweis.pdf_of(facts))
    text = pdf_text(target)
    section = text[text.index("Energieausweis\n") :]
    assert PARTIAL in line_with(section, "Dokument")
    assert sha(FILES[PARTIAL]) in line_with(section, "SHA-256")
    assert line_with(section, "Übergeben ").split() == ["Übergeben", "ja"]
    assert "12.11.2026, 09:30:00 UTC" in line_with(section, "Übergeben am")
    assert "Nicht markiert" not in text
