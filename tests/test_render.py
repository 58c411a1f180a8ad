"""Offer templates: the personal link goes into text and HTML letters, and what cannot
be filled in is a clear error."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest

from gateway.services import grants
from tests.factories import make_contact, make_grant, make_property

DATA = Path(__file__).parent / "data"
FIELD = "{Feld:OImmoCloudLink}"


@pytest.fixture
def link(config):
    make_property(config, "obj-17", "Musterstraße 5")
    make_contact("4711")
    make_contact("4712")
    return make_grant(config, "obj-17", "4711").link


def test_text_letter_gets_the_link(cli, link):
    result = cli("render", str(DATA / "angebot.txt"), "--property", "obj-17", "--contact", "4711")
    assert result.exit_code == 0, result.output
    expected = (DATA / "angebot.txt").read_text(encoding="utf-8").replace(FIELD, link)
    assert result.stdout == expected
    assert FIELD not in result.stdout and "Grüßen" in result.stdout


def test_html_letter_gets_the_link_escaped_written_to_a_file(cli, config, link, tmp_path):
    (tmp_path / "out").mkdir()
    config_with_query = config.with_overrides(base_url="https://docs.example.de/?a=1&b=2")
    escaped_link = grants.personal_link(config_with_query, grants.get_grant("obj-17", "4711"))
    (config.home / "immoshare.yaml").write_text("base_url: https://docs.example.de/?a=1&b=2\n")
    out = tmp_path / "out" / "angebot-4711.html"
    result = cli(
        "render",
        str(DATA / "angebot.html"),
        "--property",
        "obj-17",
        "--contact",
        "4711",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    written = out.read_text(encoding="utf-8")
    assert written.count(html.escape(escaped_link)) == 2
    assert "&amp;b=2" in written and "?a=1&b=2" not in written
    assert FIELD not in written and "Exposé" in written


def test_windows_1252_letter_stays_windows_1252(cli, link, tmp_path):
    template = tmp_path / "brief.txt"
    template.write_bytes(f"Grüße, hier der Link: {FIELD}\r\n".encode("cp1252"))
    result = cli("render", str(template), "--property", "obj-17", "--contact", "4711")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == f"Grüße, hier der Link: {link}\r\n".encode("cp1252")


@pytest.mark.parametrize(
    "case,message",
    [
        ("unknown-field", "unknown field {Feld:OImmoTitel}"),
        ("binary", "binary file"),
        ("no-grant", "has no grant"),
        ("revoked", "revoked"),
        ("unknown-contact", "not found"),
    ],
)
def test_what_cannot_be_filled_in_is_a_clear_error(cli, link, tmp_path, case, message):
    template = tmp_path / "brief.txt"
    shutil.copy(DATA / "angebot.txt", template)
    contact = "4711"
    if case == "unknown-field":
        template.write_text(f"Objekt: {{Feld:OImmoTitel}}\nLink: {FIELD}\n", encoding="utf-8")
    elif case == "binary":
        template = tmp_path / "angebot.docx"
        template.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + FIELD.encode() + b"\x00\x00")
    elif case == "no-grant":
        contact = "4712"
    elif case == "revoked":
        assert cli("revoke", "obj-17", "4711").exit_code == 0
    else:
        contact = "9999"
    result = cli("render", str(template), "--property", "obj-17", "--contact", contact)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == "" and "Traceback" not in result.output
