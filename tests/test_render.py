"""Offer templates as the CRM has them: the personal link goes into text, HTML and Word
letters, every other merge field is left for the CRM, ``--all`` writes one letter per
contact, and what cannot be filled in is a clear error that writes nothing."""

from __future__ import annotations

import html
import io
import shutil
import zipfile
from pathlib import Path

import docx
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


OTHER_FIELDS = "{Feld:AAnrede} {Feld:ANachname}, Objekt {Feld:OObjektnummer}"


def test_other_merge_fields_are_left_for_the_crm(cli, link, tmp_path):
    template = tmp_path / "brief.txt"
    template.write_text(f"{OTHER_FIELDS}\nLink: {FIELD}\n", encoding="utf-8")
    result = cli("render", str(template), "--property", "obj-17", "--contact", "4711")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{OTHER_FIELDS}\nLink: {link}\n"


def test_windows_1252_letter_with_crlf_and_other_fields_keeps_every_byte(cli, link, tmp_path):
    template = tmp_path / "brief.txt"
    text = "Sehr geehrte{Feld:AAnrede_Brief},\r\nGrüße – Ihr Link: LINK\r\n"
    template.write_bytes(text.replace("LINK", FIELD).encode("cp1252"))
    result = cli("render", str(template), "--property", "obj-17", "--contact", "4711")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == text.replace("LINK", link).encode("cp1252")


def test_utf16_letter_from_notepad_stays_utf16(cli, link, tmp_path):
    template = tmp_path / "brief.txt"
    template.write_bytes(f"Grüße {FIELD}\r\n".encode("utf-16"))
    result = cli("render", str(template), "--property", "obj-17", "--contact", "4711")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.decode("utf-16") == f"Grüße {link}\r\n"


def test_html_letter_keeps_other_fields(cli, link, tmp_path):
    template = tmp_path / "brief.html"
    template.write_text(f"<p>{OTHER_FIELDS}</p><a href='{FIELD}'>{FIELD}</a>", encoding="utf-8")
    result = cli("render", str(template), "--property", "obj-17", "--contact", "4711")
    assert result.exit_code == 0, result.output
    escaped = html.escape(link)
    assert result.stdout == f"<p>{OTHER_FIELDS}</p><a href='{escaped}'>{escaped}</a>"


def _word_letter(path: Path) -> None:
    """A letter as Word saves it: the link field split over runs of different
    formatting, another field beside it, one in a table and one in the header."""
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = f"Exposé – {FIELD}"
    paragraph = document.add_paragraph("Ihr persönlicher Link: ")
    paragraph.add_run("{Feld:OImmo")
    paragraph.add_run("Cloud").bold = True
    paragraph.add_run("Link} für Objekt {Feld:OObjektnummer}.")
    document.add_paragraph(OTHER_FIELDS)
    document.add_table(rows=1, cols=2).rows[0].cells[1].text = f"Unterlagen: {FIELD}"
    document.save(path)


def test_word_letter_gets_the_link_even_where_word_split_the_field(cli, link, tmp_path):
    template = tmp_path / "angebot.docx"
    _word_letter(template)
    out = tmp_path / "angebot-4711.docx"
    result = cli(
        "render", str(template), "--property", "obj-17", "--contact", "4711", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    letter = docx.Document(out)
    paragraphs = [p.text for p in letter.paragraphs]
    assert paragraphs[0] == f"Ihr persönlicher Link: {link} für Objekt {{Feld:OObjektnummer}}."
    assert paragraphs[1] == OTHER_FIELDS
    assert letter.tables[0].rows[0].cells[1].text == f"Unterlagen: {link}"
    assert letter.sections[0].header.paragraphs[0].text == f"Exposé – {link}"
    # The link sits in the run where the field started, keeping that run's formatting.
    assert [run.text for run in letter.paragraphs[0].runs][:2] == ["Ihr persönlicher Link: ", link]


def test_word_letter_is_not_printed_to_the_terminal(cli, link, tmp_path):
    template = tmp_path / "angebot.docx"
    _word_letter(template)
    result = cli("render", str(template), "--property", "obj-17", "--contact", "4711")
    assert result.exit_code == 2 and "-o FILE" in result.output


def test_all_writes_one_letter_per_contact_with_a_working_link(cli, config, link, tmp_path):
    make_contact("team/9")
    make_contact("team_9")
    other_links = {ref: make_grant(config, "obj-17", ref).link for ref in ("team/9", "team_9")}
    make_contact("4713")
    make_grant(config, "obj-17", "4713")
    assert cli("revoke", "obj-17", "4713").exit_code == 0
    template = tmp_path / "angebot.docx"
    _word_letter(template)
    out_dir = tmp_path / "briefe"
    result = cli(
        "render", str(template), "--property", "obj-17", "--all", "--out-dir", str(out_dir)
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["angebot-4711.docx", "angebot-team_9-2.docx", "angebot-team_9.docx"]
    texts = {n: docx.Document(out_dir / n).tables[0].rows[0].cells[1].text for n in names}
    assert texts["angebot-4711.docx"] == f"Unterlagen: {link}"
    assert sorted(texts.values()) == sorted(
        f"Unterlagen: {value}" for value in [link, *other_links.values()]
    )


def test_strict_refuses_other_fields_and_writes_nothing(cli, link, tmp_path):
    template = tmp_path / "angebot.docx"
    _word_letter(template)
    out_dir = tmp_path / "briefe"
    result = cli(
        "render",
        str(template),
        "--property",
        "obj-17",
        "--all",
        "--out-dir",
        str(out_dir),
        "--strict",
    )
    assert result.exit_code == 1
    assert "unknown field {Feld:OObjektnummer}" in result.stderr
    assert not out_dir.exists()


def _zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(300):
                member.write(chunk)


@pytest.mark.parametrize(
    "case,message",
    [
        ("unknown-field-strict", "unknown field {Feld:OImmoTitel}"),
        ("binary", "binary file"),
        ("not-a-docx", "not a Word document"),
        ("broken-docx", "not a readable Word document"),
        ("docx-bomb", "unpacks to too much data"),
        ("oversized", "larger than 20 MiB"),
        ("no-grant", "has no grant"),
        ("revoked", "revoked"),
        ("unknown-contact", "not found"),
    ],
)
def test_what_cannot_be_filled_in_is_a_clear_error(cli, link, tmp_path, case, message):
    template = tmp_path / "brief.txt"
    shutil.copy(DATA / "angebot.txt", template)
    contact, extra = "4711", []
    if case == "unknown-field-strict":
        template.write_text(f"Objekt: {{Feld:OImmoTitel}}\nLink: {FIELD}\n", encoding="utf-8")
        extra = ["--strict"]
    elif case == "binary":
        template = tmp_path / "angebot.pdf"
        template.write_bytes(b"%PDF-1.7\n\x00\x01" + FIELD.encode())
    elif case == "not-a-docx":
        template = tmp_path / "angebot.docx"
        template.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + FIELD.encode() + b"\x00\x00")
    elif case == "broken-docx":
        template = tmp_path / "angebot.docx"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("word/document.xml", "<not-word/>")
        template.write_bytes(buffer.getvalue())
    elif case == "docx-bomb":
        template = tmp_path / "angebot.docx"
        _zip_bomb(template)
    elif case == "oversized":
        with template.open("r+b") as handle:
            handle.truncate(21 * 1024 * 1024)
    elif case == "no-grant":
        contact = "4712"
    elif case == "revoked":
        assert cli("revoke", "obj-17", "4711").exit_code == 0
    else:
        contact = "9999"
    out = tmp_path / "out.txt"
    result = cli(
        "render",
        str(template),
        "--property",
        "obj-17",
        "--contact",
        contact,
        "-o",
        str(out),
        *extra,
    )
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert not out.exists() and "Traceback" not in result.output


@pytest.mark.parametrize(
    "arguments",
    [
        ["--contact", "4711", "--all", "--out-dir", "x"],
        ["--all"],
        ["--all", "--out-dir", "x", "-o", "y"],
        ["--contact", "4711", "--out-dir", "x"],
        [],
    ],
)
def test_contact_or_all_is_a_usage_error_otherwise(cli, link, arguments, tmp_path):
    result = cli("render", str(DATA / "angebot.txt"), "--property", "obj-17", *arguments)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
