"""``immoshare import openimmo``: a CRM's export becomes properties with their documents
in folders, safe to repeat, and a hostile export changes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests

from gateway.models import Property
from gateway.services import served_versions
from tests.factories import make_contact, make_grant
from tests.openimmo_exports import (
    Anhang,
    Immobilie,
    export_xml,
    sample_listings,
    write_export,
)

KEY, SECOND = "OBJ-17-Sued", "OBID-4711-AeOe"
EXPECTED_FILES = {
    "Fotos/Ansicht Straße.jpg": b"\xff\xd8\xff titel",
    "Fotos/Küche.JPG": b"\xff\xd8\xff kueche",
    "Fotos/Wohnzimmer.jpg": b"\xff\xd8\xff wz",
    "Fotos/Garten.jpg": b"\xff\xd8\xff g",
    "Grundrisse/Grundriss EG.pdf": b"%PDF-1.4 eg",
    "Grundrisse/Grundriss EG (2).pdf": b"%PDF-1.4 eg zweite",
    "Grundrisse/Grundriss OG-DG- 1-100.pdf": b"%PDF-1.4 og",
    "Lageplan/Lageplan Flurkarte.pdf": b"%PDF lage",
    "Energieausweis/Skala.png": b"\x89PNG skala",
    "Energieausweis/Energieausweis 2024.pdf": b"%PDF-1.4 energie",
    "Dokumente/Teilungserklärung.pdf": b"%PDF-1.4 teilung",
    "Dokumente/Rundgang.jpg": b"\xff\xd8\xff rund",
}


def files_of(config, key) -> dict[str, bytes]:
    root = config.properties_dir / key
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run_import(cli, path, *extra):
    result = cli("import", "openimmo", str(path), "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def export(tmp_path):
    return write_export(tmp_path / "export.zip", sample_listings())


def test_each_listing_becomes_a_property_with_its_files_in_folders(cli, config, export):
    report = run_import(cli, export)
    assert report["totals"]["created"] == 2
    assert report["totals"]["added"] == len(EXPECTED_FILES) + 1
    assert report["totals"]["skipped"] == 1
    first = Property.get(Property.key == KEY)
    assert first.title == "Wohnung Musterstraße 5 – Südbalkon"
    assert Property.get(Property.key == SECOND).title == "Königsweg 12a, 80331 München"
    assert files_of(config, KEY) == EXPECTED_FILES
    assert files_of(config, SECOND) == {"Dokumente/Exposé.pdf": b"%PDF-1.4 expose"}
    listing = next(p for p in report["properties"] if p["key"] == KEY)
    assert listing["energy_certificate"] == "Energieausweis/Energieausweis 2024.pdf"
    assert first.energy_certificate == "Energieausweis/Energieausweis 2024.pdf"
    remote = [f for f in listing["files"] if f["state"] == "skipped"]
    assert remote == [
        {
            "path": None,
            "title": "Virtuelle Tour",
            "group": "LINKS",
            "state": "skipped",
            "reason": "remote (URL): not fetched",
        }
    ]


def test_a_contact_with_a_grant_sees_the_imported_files(cli, config, export, server):
    run_import(cli, export)
    make_contact("4711")
    Property.update(requires_consent=False).where(Property.key == KEY).execute()
    link = urlsplit(make_grant(config, KEY, "4711").link).path
    page = requests.get(server.url + link + "/browse/Grundrisse")
    assert page.status_code == 200
    assert "Grundriss EG (2).pdf" in page.text
    got = requests.get(server.url + link + "/download/" + quote("Grundrisse/Grundriss EG.pdf"))
    assert got.status_code == 200 and got.content == b"%PDF-1.4 eg"


def test_importing_the_same_export_again_changes_nothing(cli, config, export):
    run_import(cli, export)
    before = {p: os.stat(p) for p in (config.properties_dir / KEY).rglob("*")}
    report = run_import(cli, export)
    totals = report["totals"]
    assert totals["unchanged"] == 2 and totals["created"] == totals["updated"] == 0
    assert totals["added"] == totals["replaced"] == 0
    assert totals["unchanged_files"] == len(EXPECTED_FILES) + 1
    after = {p: os.stat(p) for p in (config.properties_dir / KEY).rglob("*")}
    assert {p: (s.st_ino, s.st_mtime_ns) for p, s in before.items()} == {
        p: (s.st_ino, s.st_mtime_ns) for p, s in after.items()
    }
    plain = cli("import", "openimmo", str(export))
    assert plain.exit_code == 0
    assert "0 created, 0 updated, 2 unchanged" in plain.stderr


def test_a_changed_attachment_is_replaced_and_one_gone_from_the_export_stays(
    cli, config, export, tmp_path
):
    run_import(cli, export)
    listings = sample_listings()
    plans = listings[0].anhaenge
    plans[4].data = b"%PDF-1.4 eg neu gezeichnet"
    del plans[10]  # Teilungserklärung
    listings[0].title = "Wohnung Musterstraße 5 – reserviert"
    report = run_import(cli, write_export(tmp_path / "again.zip", listings))
    listing = next(p for p in report["properties"] if p["key"] == KEY)
    states = {f["path"]: f["state"] for f in listing["files"] if f["path"]}
    assert states["Grundrisse/Grundriss EG.pdf"] == "replaced"
    assert sum(1 for s in states.values() if s == "unchanged") == len(EXPECTED_FILES) - 2
    assert listing["kept"] == ["Dokumente/Teilungserklärung.pdf"]
    assert listing["state"] == "updated"
    files = files_of(config, KEY)
    assert files["Grundrisse/Grundriss EG.pdf"] == b"%PDF-1.4 eg neu gezeichnet"
    assert files["Dokumente/Teilungserklärung.pdf"] == b"%PDF-1.4 teilung"
    assert Property.get(Property.key == KEY).title == "Wohnung Musterstraße 5 – reserviert"


def test_aktion_delete_archives_the_property_and_keeps_its_files(cli, config, export, tmp_path):
    run_import(cli, export)
    listings = sample_listings()
    listings[0].action = "DELETE"
    listings.append(Immobilie("NIE-DA", action="DELETE"))
    report = run_import(cli, write_export(tmp_path / "delete.zip", listings))
    states = {p["key"]: p["state"] for p in report["properties"]}
    assert states == {KEY: "archived", SECOND: "unchanged", "NIE-DA": "not_found"}
    assert Property.get(Property.key == KEY).archived_at is not None
    assert Property.get_or_none(Property.key == "NIE-DA") is None
    assert files_of(config, KEY) == EXPECTED_FILES


def test_dry_run_reports_and_writes_nothing(cli, config, export):
    report = run_import(cli, export, "--dry-run")
    assert report["dry_run"] is True and report["totals"]["created"] == 2
    assert Property.select().count() == 0
    assert not any(config.properties_dir.iterdir())


def test_an_unpacked_folder_imports_like_its_zip(cli, config, export, tmp_path):
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(export) as archive:
        archive.extractall(folder)
    run_import(cli, folder)
    assert files_of(config, KEY) == EXPECTED_FILES


def _member(archive_path: Path, name: str, data: bytes, *, mode: int | None = None) -> None:
    with zipfile.ZipFile(archive_path, "a") as archive:
        info = zipfile.ZipInfo(name)
        if mode is not None:
            info.external_attr = mode << 16
        archive.writestr(info, data)


def _hostile(case: str, tmp_path: Path) -> Path:
    listings = sample_listings()
    path = tmp_path / "hostile.zip"
    if case == "dot-dot member":
        write_export(path, listings)
        _member(path, "../../etc/cron.d/evil", b"* * * * * root sh")
    elif case == "absolute member":
        write_export(path, listings)
        _member(path, "/tmp/evil.pdf", b"%PDF")
    elif case == "windows path member":
        write_export(path, listings)
        _member(path, "..\\..\\evil.pdf", b"%PDF")
    elif case == "symlink member":
        write_export(path, listings)
        _member(path, "bilder/link.jpg", b"/etc/passwd", mode=stat.S_IFLNK | 0o777)
    elif case == "zip bomb":
        write_export(path, listings)
        with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
            with archive.open("doc/bomb.pdf", "w", force_zip64=True) as member:
                zeros = bytes(4 * 1024 * 1024)
                for _ in range(64):
                    member.write(zeros)
    elif case == "entity expansion":
        prolog = '<!DOCTYPE openimmo [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        write_export(path, listings, xml=export_xml(listings, prolog=prolog))
    elif case == "external entity":
        xml = export_xml(listings, prolog='<!DOCTYPE openimmo SYSTEM "file:///etc/passwd">')
        write_export(path, listings, xml=xml)
    elif case == "malformed xml":
        write_export(path, listings, xml=export_xml(listings)[:-20])
    elif case == "not openimmo":
        write_export(path, listings, xml=b"<?xml version='1.0'?><rss><channel/></rss>")
    elif case == "missing attachment":
        listings[0].anhaenge.append(Anhang("BILD", "Fehlt", "bilder/fehlt.jpg"))
        xml = export_xml(listings)
        listings[0].anhaenge.pop()
        write_export(path, listings, xml=xml)
    elif case == "attachment outside the export":
        listings[0].anhaenge.append(Anhang("BILD", "Passwort", "../../../../etc/passwd"))
        xml = export_xml(listings)
        listings[0].anhaenge.pop()
        write_export(path, listings, xml=xml)
    elif case == "not a zip":
        path.write_bytes(b"%PDF-1.4 not a zip")
    elif case == "damaged member":
        write_export(path, listings, compression=zipfile.ZIP_STORED)
        data = bytearray(path.read_bytes())
        at = data.find(b"%PDF-1.4 teilung")
        data[at + 9 : at + 16] = b"XXXXXXX"  # the CRC no longer matches
        path.write_bytes(bytes(data))
    elif case == "folder with a symlink":
        path = tmp_path / "folder"
        with zipfile.ZipFile(write_export(tmp_path / "ok.zip", listings)) as archive:
            archive.extractall(path)
        (path / "bilder" / "passwd.jpg").symlink_to("/etc/passwd")
    else:
        raise AssertionError(case)
    return path


HOSTILE = {
    "dot-dot member": "unsafe path",
    "absolute member": "unsafe path",
    "windows path member": "unsafe path",
    "symlink member": "symbolic link",
    "zip bomb": "ZIP bomb",
    "entity expansion": "DTD or entities",
    "external entity": "DTD or entities",
    "malformed xml": "not well-formed XML",
    "not openimmo": "not an OpenImmo export",
    "missing attachment": "missing from the export",
    "attachment outside the export": "unsafe path",
    "not a zip": "not a ZIP archive",
    "damaged member": "damaged in the export",
    "folder with a symlink": "symbolic link",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_export_is_a_clear_error_and_creates_nothing(cli, config, tmp_path, case):
    result = cli("import", "openimmo", str(_hostile(case, tmp_path)))
    assert result.exit_code == 1, result.output
    assert HOSTILE[case] in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    if case == "damaged member":
        # Checked listing by listing: the damaged one is not there, nothing is half-written.
        assert Property.get_or_none(Property.key == KEY) is None
        assert not (config.properties_dir / KEY).exists()
    else:
        assert Property.select().count() == 0
        assert list(config.properties_dir.iterdir()) == []
    leftovers = [p.name for p in config.properties_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_replaced_attachment_stays_retrievable_as_served(cli, config, export, server, tmp_path):
    run_import(cli, export)
    make_contact("4711")
    Property.update(requires_consent=False).where(Property.key == KEY).execute()
    link = urlsplit(make_grant(config, KEY, "4711").link).path
    served = requests.get(server.url + link + "/download/" + quote("Grundrisse/Grundriss EG.pdf"))
    assert served.content == b"%PDF-1.4 eg"
    assert served_versions.wait_idle()
    listings = sample_listings()
    listings[0].anhaenge[4].data = b"%PDF-1.4 eg neu gezeichnet"
    run_import(cli, write_export(tmp_path / "again.zip", listings))
    out = tmp_path / "as-served.pdf"
    result = cli("evidence", "get", hashlib.sha256(b"%PDF-1.4 eg").hexdigest(), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b"%PDF-1.4 eg"
    assert files_of(config, KEY)["Grundrisse/Grundriss EG.pdf"] == b"%PDF-1.4 eg neu gezeichnet"
