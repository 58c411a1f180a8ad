"""OpenImmo exports as a CRM writes them, for the import tests and the bench.

The structure follows OpenImmo 1.2.x: ``openimmo`` > ``uebertragung`` and ``anbieter``
> ``immobilie`` (``geo``, ``freitexte``, ``anhaenge/anhang``, ``verwaltung_techn``);
attachments are files of the ZIP named by ``anhang/daten/pfad``.
"""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr


@dataclasses.dataclass
class Anhang:
    group: str
    title: str
    file: str  # the member name in the ZIP, or a URL for location="REMOTE"
    data: bytes = b""
    remote: bool = False


@dataclasses.dataclass
class Immobilie:
    number: str  # objektnr_extern
    title: str = ""
    street: str = "Musterstraße"
    house: str = "5"
    zip_code: str = "90402"
    town: str = "Nürnberg"
    obid: str = ""
    action: str = ""  # "", "CHANGE" or "DELETE"
    anhaenge: list[Anhang] = dataclasses.field(default_factory=list)


def immobilie_xml(item: Immobilie) -> str:
    anhaenge = "".join(
        f"<anhang location={quoteattr('REMOTE' if a.remote else 'EXTERN')} "
        f"gruppe={quoteattr(a.group)}>"
        f"<anhangtitel>{escape(a.title)}</anhangtitel>"
        f"<format>{escape(Path(a.file).suffix.lstrip('.').upper())}</format>"
        f"<daten><pfad>{escape(a.file)}</pfad></daten></anhang>"
        for a in item.anhaenge
    )
    title = (
        f"<freitexte><objekttitel>{escape(item.title)}</objekttitel></freitexte>"
        if item.title
        else ""
    )
    action = f'<aktion aktionart="{item.action}"/>' if item.action else ""
    return (
        "<immobilie>"
        '<objektkategorie><nutzungsart WOHNEN="true"/><vermarktungsart KAUF="true"/>'
        '<objektart><wohnung wohnungtyp="ETAGE"/></objektart></objektkategorie>'
        f"<geo><plz>{escape(item.zip_code)}</plz><ort>{escape(item.town)}</ort>"
        f"<strasse>{escape(item.street)}</strasse><hausnummer>{escape(item.house)}</hausnummer>"
        '<land iso_land="DEU"/></geo>'
        "<kontaktperson><name>Muster</name><email_zentrale>info@example.de</email_zentrale>"
        "</kontaktperson>"
        "<preise><kaufpreis>350000</kaufpreis></preise>"
        f"{title}<anhaenge>{anhaenge}</anhaenge>"
        f"<verwaltung_techn><objektnr_intern>{escape(item.number)}-i</objektnr_intern>"
        f"<objektnr_extern>{escape(item.number)}</objektnr_extern>{action}"
        f"<openimmo_obid>{escape(item.obid)}</openimmo_obid>"
        "<stand_vom>2026-11-30</stand_vom></verwaltung_techn>"
        "</immobilie>"
    )


def export_xml(items: list[Immobilie], *, prolog: str = "") -> bytes:
    body = "".join(immobilie_xml(item) for item in items)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"{prolog}<openimmo>"
        '<uebertragung art="OFFLINE" umfang="TEIL" modus="CHANGE" version="1.2.7" '
        'sendersoftware="Test-CRM" senderversion="1.0" techn_email="it@example.de"/>'
        "<anbieter><anbieternr>A1</anbieternr><firma>Muster Immobilien GmbH</firma>"
        f"<openimmo_anid>ANID1</openimmo_anid>{body}</anbieter></openimmo>"
    ).encode()


def write_export(
    path: Path,
    items: list[Immobilie],
    *,
    xml: bytes | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """An OpenImmo ZIP: ``openimmo.xml`` and every attachment that is not remote."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("openimmo.xml", xml if xml is not None else export_xml(items))
        written = set()
        for item in items:
            for anhang in item.anhaenge:
                if not anhang.remote and anhang.file not in written:
                    archive.writestr(anhang.file, anhang.data)
                    written.add(anhang.file)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def sample_listings() -> list[Immobilie]:
    """Two listings with every ``gruppe``, umlauts, duplicate titles and a remote link."""
    return [
        Immobilie(
            "OBJ-17/Süd",
            title="Wohnung Musterstraße 5 – Südbalkon",
            anhaenge=[
                Anhang("TITELBILD", "Ansicht Straße", "bilder/titel.jpg", b"\xff\xd8\xff titel"),
                Anhang("BILD", "Küche", "bilder/kueche.JPG", b"\xff\xd8\xff kueche"),
                Anhang("INNENANSICHTEN", "Wohnzimmer", "bilder/wz.jpg", b"\xff\xd8\xff wz"),
                Anhang("AUSSENANSICHTEN", "Garten", "bilder/garten.jpg", b"\xff\xd8\xff g"),
                Anhang("GRUNDRISS", "Grundriss EG", "plaene/eg.pdf", b"%PDF-1.4 eg"),
                Anhang("GRUNDRISS", "Grundriss EG", "plaene/eg2.pdf", b"%PDF-1.4 eg zweite"),
                Anhang("GRUNDRISS", "Grundriss OG/DG: 1:100", "plaene/og.pdf", b"%PDF-1.4 og"),
                Anhang("KARTEN_LAGEPLAN", "Lageplan Flurkarte", "karten/lage.pdf", b"%PDF lage"),
                Anhang("EPASS_SKALA", "Skala", "epass/skala.png", b"\x89PNG skala"),
                Anhang("DOKUMENTE", "Energieausweis 2024", "doc/ea.pdf", b"%PDF-1.4 energie"),
                Anhang("DOKUMENTE", "Teilungserklärung", "doc/te.pdf", b"%PDF-1.4 teilung"),
                Anhang("PANORAMA", "Rundgang", "doc/rundgang.jpg", b"\xff\xd8\xff rund"),
                Anhang("LINKS", "Virtuelle Tour", "https://tour.example.de/17", remote=True),
            ],
        ),
        Immobilie(
            "",
            obid="OBID-4711-ÄÖ",
            street="Königsweg",
            house="12a",
            zip_code="80331",
            town="München",
            anhaenge=[Anhang("DOKUMENTE", "Exposé", "doc/expose-2.pdf", b"%PDF-1.4 expose")],
        ),
    ]
