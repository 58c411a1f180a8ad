"""The sample property of ``immoshare demo``: a realistic folder tree of small
generated PDFs and JPEGs, an agent, two contacts, the demo's own consent texts, and
a local mailbox folder that receives every mail (the consent confirmations with
their PDF), so that the whole consent can be tried without a mail server."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml
from PIL import Image, ImageDraw

from gateway import demo_texts
from gateway.config import CONFIG_FILE, Config
from gateway.services import agents, branding, consent, contacts, grants, properties

DEMO_PROPERTY = "musterstrasse-5"
#: The demo's mailbox, a folder in its home: every mail lands there as an .eml file.
DEMO_MAILBOX = "mailbox"
DEMO_TITLE = "Musterstraße 5, 90402 Nürnberg — Unterlagen"

# (relative path, heading drawn on the page)
DEMO_DOCUMENTS = (
    ("Exposé Musterstraße 5.pdf", "Exposé"),
    ("Grundrisse/Grundriss EG.pdf", "Grundriss Erdgeschoss"),
    ("Grundrisse/Grundriss OG.pdf", "Grundriss Obergeschoss"),
    ("Grundrisse/Grundriß Keller.pdf", "Grundriss Keller"),
    ("Energieausweis/Energieausweis 2024.pdf", "Energieausweis"),
    ("Lageplan/Lageplan Flurstück 112-4.pdf", "Lageplan"),
)
DEMO_PHOTOS = (
    ("Fotos/Ansicht Straße.jpg", (176, 196, 222)),
    ("Fotos/Garten.jpg", (144, 190, 109)),
    ("Fotos/Wohnzimmer.jpg", (222, 196, 160)),
)


@dataclasses.dataclass(frozen=True)
class DemoLogin:
    """A login the demo prints; its URL is asked for once the server listens
    (:func:`login_url`), so that it names the server's real address."""

    role: str
    name: str
    username: str
    password: str
    contact_ref: str | None = None


def _page(heading: str) -> Image.Image:
    page = Image.new("RGB", (595, 842), "white")  # A4 at 72 dpi
    draw = ImageDraw.Draw(page)
    draw.text((60, 60), heading, fill="black")
    draw.text((60, 90), DEMO_TITLE, fill="gray")
    draw.rectangle((60, 140, 535, 520), outline="black", width=3)
    draw.line((300, 140, 300, 520), fill="black", width=2)
    draw.line((60, 330, 300, 330), fill="black", width=2)
    return page


def write_sample_files(folder: Path) -> list[Path]:
    written = []
    for relative, heading in DEMO_DOCUMENTS:
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        _page(heading).save(target, "PDF", resolution=72)
        written.append(target)
    for relative, colour in DEMO_PHOTOS:
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        photo = Image.new("RGB", (640, 427), colour)
        ImageDraw.Draw(photo).text((20, 20), target.stem, fill="black")
        photo.save(target, "JPEG", quality=80)
        written.append(target)
    return written


def configure_demo_home(home: Path) -> Path:
    """Settings of a fresh demo home: mail goes to the mailbox folder in the home.
    Returns that folder."""
    settings = {"mail_dir": DEMO_MAILBOX, "smtp_from": demo_texts.DEMO_SENDER}
    with open(home / CONFIG_FILE, "a", encoding="utf-8") as fh:
        fh.write("\n# immoshare demo: mails are written to this folder, not sent.\n")
        fh.write(yaml.safe_dump(settings, allow_unicode=True))
    mailbox = home / DEMO_MAILBOX
    mailbox.mkdir(exist_ok=True)
    return mailbox


def install_demo_texts(config: Config) -> None:
    """The demo agency's name and its complete consent texts, set as ``immoshare
    branding set`` and ``immoshare consent set`` would."""
    branding.set_branding(config, name=demo_texts.DEMO_AGENCY)
    for kind, text in (("widerruf", demo_texts.WIDERRUF), ("agb", demo_texts.AGB)):
        consent.add_text(kind, consent.parse_text(text.encode("utf-8"), f"the demo {kind} text"))


def create_demo(config: Config) -> list[DemoLogin]:
    """Fill a fresh home with the sample property, agent, contacts and texts."""
    install_demo_texts(config)
    prop = properties.add_property(config, DEMO_PROPERTY, DEMO_TITLE)
    write_sample_files(properties.storage_folder(config, prop.key))
    _, agent_password = agents.add_agent("makler", None)
    logins = [DemoLogin("agent", "makler", "makler", agent_password)]
    for ref, name, email in (
        ("4711", "Erika Mustermann", "erika@example.de"),
        ("4712", "Max Mustermann", "max@example.de"),
    ):
        contacts.add_contact(ref, name, email)
        result = grants.grant_access(config, prop.key, ref)
        logins.append(DemoLogin("contact", name, result.username, result.password or "", ref))
    return logins


def login_url(config: Config, login: DemoLogin) -> str:
    """The agent's WebDAV URL, or the contact's personal link."""
    if login.contact_ref is None:
        return grants.agent_dav_url(config)
    return grants.personal_link(config, grants.get_grant(DEMO_PROPERTY, login.contact_ref))


def preview_url(config: Config) -> str:
    """The agent's preview of the sample property's contact page."""
    return grants.preview_link(config, DEMO_PROPERTY)
