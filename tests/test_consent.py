"""Consent texts and records: the CLI, the form over HTTP (CSRF, AGB, changed texts),
and the migration that added the record's statements."""

from __future__ import annotations

import json
import re

import pytest
import requests

from gateway import migrations
from gateway.db import database
from gateway.models import AccessEvent, ConsentRecord
from gateway.services import consent, tracking
from tests.contact_page import find, make_share


def form_fields(html: str) -> dict:
    return dict(re.findall(r'name="(csrf|widerruf_version|agb_version)" value="([^"]*)"', html))


# --- CLI ---------------------------------------------------------------------------


def test_consent_set_adds_versions_and_show_lists_them(cli, tmp_path):
    shown = cli("consent", "show", "--json")
    assert json.loads(shown.stdout) == []
    assert "No Widerrufsbelehrung is set" in cli("consent", "show").stderr
    first = tmp_path / "first.txt"
    first.write_text("Widerrufsbelehrung, erste Fassung.", encoding="utf-8")
    assert cli("consent", "set", "widerruf", str(first)).exit_code == 0
    text = tmp_path / "widerruf.txt"
    text.write_text(
        "Widerrufsbelehrung der Muster GmbH\r\n\r\nSie haben das Recht ...\n", encoding="utf-8"
    )
    result = cli("consent", "set", "widerruf", str(text), "--json")
    assert result.exit_code == 0, result.output
    added = json.loads(result.output)
    assert added["version"] == 2
    assert added["sha256"] == consent.text_sha256(
        "Widerrufsbelehrung der Muster GmbH\n\nSie haben das Recht ..."
    )
    agb = tmp_path / "agb.txt"
    agb.write_text("AGB", encoding="utf-8")
    assert cli("consent", "set", "agb", str(agb)).exit_code == 0
    shown = json.loads(cli("consent", "show", "--json").output)
    assert [(t["kind"], t["version"], t["current"], t["sample"]) for t in shown] == [
        ("widerruf", 1, False, False),
        ("widerruf", 2, True, False),
        ("agb", 1, True, False),
    ]


@pytest.mark.parametrize(
    "args,content,code,message",
    [
        (("consent", "set", "widerruf"), b"\xff\xfe\x00binary", 1, "is not UTF-8 text"),
        (("consent", "set", "widerruf"), b"  \n\n ", 1, "is empty"),
        (("consent", "set", "impressum"), b"text", 2, "is not one of"),
        (("branding", "set", "--logo"), b"<svg onload=alert(1)>", 1, "is not a PNG"),
    ],
)
def test_bad_texts_and_logos_are_one_line_errors(cli, tmp_path, args, content, code, message):
    path = tmp_path / "input"
    path.write_bytes(content)
    result = cli(*args, str(path))
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def test_branding_set_needs_something_to_set(cli):
    result = cli("branding", "set")
    assert result.exit_code == 2
    assert "give --name, --logo, --imprint or --privacy-contact" in result.output


def test_branding_set_and_show(cli, tmp_path):
    from PIL import Image

    Image.new("RGB", (120, 40), (0, 60, 120)).save(tmp_path / "logo.jpg")
    result = cli(
        "branding",
        "set",
        "--name",
        "Muster Immobilien",
        "--logo",
        str(tmp_path / "logo.jpg"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(cli("branding", "show", "--json").output)
    assert shown["name"] == "Muster Immobilien"
    assert re.fullmatch(r"logo-[0-9a-f]{16}\.jpg", shown["logo"])


# --- the form over HTTP ------------------------------------------------------------


@pytest.fixture
def gated(config):
    return make_share(config, requires_consent=True)


@pytest.mark.server
def test_form_shows_texts_escaped_and_an_agb_box_where_set(server, gated):
    consent.add_text("agb", "AGB mit <b>Markup</b> & Umlauten: Provision fällig.")
    page = requests.get(server.url + gated.link).text
    assert find(page, "consent-agb")
    assert "AGB mit &lt;b&gt;Markup&lt;/b&gt; &amp; Umlauten" in page
    assert not find(page, "entry") and "Grundri" not in page
    with requests.Session() as session:
        fields = form_fields(session.get(server.url + gated.link).text)
        fields.update(early_start="yes", widerruf="yes")  # AGB box missing
        r = session.post(server.url + gated.link + "/consent", data=fields)
        assert r.status_code == 400
        assert "Erklärung 3" in find(r.text, "consent-message")[0].text
        fields["agb"] = "yes"
        r = session.post(server.url + gated.link + "/consent", data=fields, allow_redirects=False)
        assert r.status_code == 303
    record = ConsentRecord.get()
    assert record.agb_accepted and record.agb_sha256 == consent.current_texts().agb.sha256
    assert [s["id"] for s in json.loads(record.statements)] == ["early_start", "widerruf", "agb"]
    assert tracking.flush(), "the tracking writer did not store its events"
    assert AccessEvent.select().where(AccessEvent.action == "consent").count() == 1


@pytest.mark.server
@pytest.mark.parametrize("attack", ["no-cookie", "wrong-token", "cross-site", "foreign-origin"])
def test_consent_form_is_protected_against_csrf(server, gated, attack):
    with requests.Session() as session:
        fields = form_fields(session.get(server.url + gated.link).text)
        fields.update(early_start="yes", widerruf="yes")
        headers = {}
        if attack == "no-cookie":
            session.cookies.clear()
        elif attack == "wrong-token":
            fields["csrf"] = "0" * 64
        elif attack == "cross-site":
            headers["Sec-Fetch-Site"] = "cross-site"
        else:
            headers["Origin"] = "https://evil.example"
        r = session.post(
            server.url + gated.link + "/consent",
            data=fields,
            headers=headers,
            allow_redirects=False,
        )
    assert r.status_code == 400
    assert find(r.text, "consent-form")
    assert ConsentRecord.select().count() == 0


@pytest.mark.server
def test_a_text_changed_while_the_form_was_open_is_shown_again(server, gated):
    with requests.Session() as session:
        fields = form_fields(session.get(server.url + gated.link).text)
        consent.add_text("widerruf", "Neue Fassung der Widerrufsbelehrung.")
        fields.update(early_start="yes", widerruf="yes")
        r = session.post(server.url + gated.link + "/consent", data=fields)
    assert r.status_code == 409
    assert "Neue Fassung der Widerrufsbelehrung." in r.text
    assert ConsentRecord.select().count() == 0


@pytest.mark.server
def test_deep_urls_before_consent_lead_to_the_form(server, gated):
    for path in ("/download/notizen.txt", "/zip", "/thumb/Fotos/x.jpg", "/open/notizen.txt"):
        r = requests.get(server.url + gated.link + path, allow_redirects=False)
        assert r.status_code == 303 and r.headers["Location"].endswith(gated.link + "/")


def test_migration_adds_the_statement_columns_to_an_older_database(config):
    for column in ("statements", "language", "mail_next_at"):
        database.execute_sql(f"ALTER TABLE consent_record DROP COLUMN {column}")
    migrations.AppliedMigration.delete().where(
        migrations.AppliedMigration.name == "0002_consent_statements_and_mail_retry"
    ).execute()
    assert "0002_consent_statements_and_mail_retry" in migrations.apply_migrations()
    columns = {c.name for c in database.get_columns("consent_record")}
    assert {"statements", "language", "mail_next_at"} <= columns
