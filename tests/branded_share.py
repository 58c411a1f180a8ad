"""A share as an agency really sends it: branding with logo, Impressum and privacy
contact, the property's contact person and a link that runs out on a fixed day. The
files carry fixed dates so that the page looks the same on every run (screenshots)."""

from __future__ import annotations

import datetime
import os

from PIL import Image

from gateway.services import branding, grants
from gateway.services.contact_person import set_contact_person
from gateway.services.properties import storage_folder
from tests.contact_page import Share, make_share

AGENCY = "Muster Immobilien GmbH"
IMPRINT_URL = "https://www.muster-immobilien.example/impressum"
PRIVACY_CONTACT = (
    "Muster Immobilien GmbH, Hauptstraße 1, 90402 Nürnberg, datenschutz@muster.example"
)
PERSON = ("Anna Agentin", "+49 911 123456-7", "anna.agentin@muster.example")
EXPIRES = datetime.date(2099, 3, 31)
# 12.11.2026 10:00 UTC: the date every file shows.
FILE_TIME = datetime.datetime(2026, 11, 12, 10, 0, tzinfo=datetime.UTC).timestamp()

FILES = {
    "Exposé Musterstraße 5.pdf": b"%PDF-1.4 expose " + b"x" * 2_400_000,
    "Grundrisse/Grundriss EG.pdf": b"%PDF-1.4 eg " + b"e" * 1200,
    "Energieausweis/Energieausweis 2024.pdf": b"%PDF-1.4 energie " + b"n" * 500,
    "Lageplan.docx": b"PK docx " + b"d" * 40_000,
    "Kosten.xlsx": b"PK xlsx " + b"s" * 9_000,
    "notizen.txt": b"Besichtigung am Montag",
}
PHOTO = "Garten.jpg"


def write_logo(path) -> None:
    """A small square logo: a blue square with a white house."""
    image = Image.new("RGB", (60, 60), (255, 255, 255))
    for x in range(8, 52):
        for y in range(8, 52):
            image.putpixel((x, y), (10, 79, 150))
    for x in range(16, 44):
        top = 30 - min(x - 16, 44 - x) // 2
        for y in range(top, 44):
            image.putpixel((x, y), (255, 255, 255))
    image.save(path)


def make_branded_share(config, tmp_path, *, requires_consent=True, brand=True, email=None) -> Share:
    share = make_share(config, requires_consent=requires_consent, files=FILES, email=email)
    folder = storage_folder(config, "obj-1")
    Image.new("RGB", (640, 480), (60, 140, 70)).save(folder / PHOTO, quality=70)
    for root, _dirs, names in os.walk(folder):
        for name in names:
            os.utime(os.path.join(root, name), (FILE_TIME, FILE_TIME))
    if brand:
        write_logo(tmp_path / "logo.png")
        branding.set_branding(
            config,
            name=AGENCY,
            logo=tmp_path / "logo.png",
            imprint=IMPRINT_URL,
            privacy_contact=PRIVACY_CONTACT,
        )
        set_contact_person("obj-1", *PERSON)
    grants.grant_access(config, "obj-1", "4711", expires=EXPIRES)
    return share
