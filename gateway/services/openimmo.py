"""OpenImmo import: the CRM's export becomes properties with their documents in folders.

An export is one XML file (root ``openimmo``, one ``immobilie`` per listing) and the
attachments it names (README, "OpenImmo import"). Each listing becomes the property
named by ``verwaltung_techn/objektnr_extern`` (``openimmo_obid`` as fallback), titled
by ``freitexte/objekttitel`` or its address; its attachments go into one folder per
``gruppe`` (:data:`FOLDER_OF_GROUP`) under a name made from ``anhangtitel``.

The import is safe to repeat: a file whose bytes are already there is left alone, a
changed one is replaced (the version contacts received stays in the evidence store),
one no longer in the export stays and is reported, and ``aktion DELETE`` archives the
property without touching its files. Everything is checked before anything is
written — unsafe archives (:mod:`gateway.services.openimmo_source`), XML with a DTD
or entities, an XML that is not OpenImmo, an attachment that is missing — and each
property is written all-or-nothing: its files are unpacked into a hidden staging
folder first and moved into place only when all of them are complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import secrets
import shutil
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from lxml import etree

from gateway.clock import utc_now
from gateway.config import Config
from gateway.db import database
from gateway.errors import InvalidInput
from gateway.models import CatalogEntry, Property
from gateway.services import catalog, energy_certificate, properties
from gateway.services.openimmo_source import (
    MAX_XML_BYTES,
    ExportSource,
    open_export,
    read_member,
)
from gateway.shares import UPLOAD_PREFIX, is_hidden_from_contacts, is_share_name

COPY_CHUNK = 1024 * 1024

PHOTOS, DOCUMENTS, ENERGY = "Fotos", "Dokumente", "Energieausweis"
FOLDER_OF_GROUP = {
    "GRUNDRISS": "Grundrisse",
    "TITELBILD": PHOTOS,
    "BILD": PHOTOS,
    "INNENANSICHTEN": PHOTOS,
    "AUSSENANSICHTEN": PHOTOS,
    "KARTEN_LAGEPLAN": "Lageplan",
    "EPASS_SKALA": ENERGY,
    "DOKUMENTE": DOCUMENTS,
}
ENERGY_WORD = "energieausweis"
MAX_TITLE = 300
MAX_FILE_STEM = 120

_NOT_IN_FILE_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_NOT_IN_KEYS = re.compile(r"[^A-Za-z0-9._-]+")
_TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)


# ----------------------------------------------------------------------------- reading


@dataclasses.dataclass
class Attachment:
    """One ``anhang`` as planned: where it comes from, where it goes, what happens."""

    title: str
    group: str
    source: str  # the member of the export, or the URL of a remote attachment
    path: str = ""  # relative to the property folder
    state: str = ""  # added, replaced, unchanged, skipped
    reason: str = ""
    energy_certificate: bool = False
    size: int = 0


@dataclasses.dataclass
class Listing:
    """One ``immobilie`` as planned."""

    key: str
    title: str
    delete: bool
    attachments: list[Attachment]
    state: str = ""  # created, updated, unchanged, archived
    kept: list[str] = dataclasses.field(default_factory=list)  # files not in the export

    @property
    def energy_certificate(self) -> str | None:
        """The file to mark as the energy certificate: a document titled so before the
        scale graphic of ``EPASS_SKALA``."""
        marked = [a for a in self.attachments if a.energy_certificate and a.path]
        marked.sort(key=lambda a: ENERGY_WORD not in a.title.casefold())
        return marked[0].path if marked else None


@dataclasses.dataclass
class ImportReport:
    source: str
    dry_run: bool
    listings: list[Listing]

    LISTING_STATES = ("created", "updated", "unchanged", "archived", "not_found")
    FILE_STATES = ("added", "replaced", "unchanged_files", "skipped", "kept")

    def totals(self) -> dict[str, int]:
        counts = dict.fromkeys(self.LISTING_STATES + self.FILE_STATES, 0)
        for listing in self.listings:
            counts[listing.state] += 1
            counts["kept"] += len(listing.kept)
            for attachment in listing.attachments:
                name = "unchanged_files" if attachment.state == "unchanged" else attachment.state
                counts[name] += 1
        return counts

    def as_json(self) -> dict:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "totals": self.totals(),
            "properties": [
                {
                    "key": listing.key,
                    "title": listing.title,
                    "state": listing.state,
                    "energy_certificate": listing.energy_certificate,
                    "files": [
                        {
                            "path": a.path or None,
                            "title": a.title,
                            "group": a.group,
                            "state": a.state,
                            "reason": a.reason or None,
                        }
                        for a in listing.attachments
                    ],
                    "kept": listing.kept,
                }
                for listing in self.listings
            ],
        }


def parse_xml(data: bytes, name: str) -> etree._Element:
    """The export's root element, parsed without DTDs, entities or network access.

    :raises InvalidInput: not well-formed, has a DOCTYPE (the only way to declare
        entities or name external files), or is not OpenImmo.
    """
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"{name} is not well-formed XML: {exc.msg}") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise InvalidInput(f"{name} declares a DTD or entities: refused")
    if _local(root) != "openimmo":
        raise InvalidInput(f"{name} is not an OpenImmo export (its root is <{_local(root)}>)")
    return root


def _local(element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _children(element, name: str) -> list:
    return [child for child in element if _local(child) == name]


def _child(element, *path: str):
    for name in path:
        if element is None:
            return None
        found = _children(element, name)
        element = found[0] if found else None
    return element


def _text(element, *path: str) -> str:
    found = _child(element, *path)
    if found is None:
        return ""
    return " ".join("".join(found.itertext()).split())


def make_key(text: str) -> str:
    """A property KEY from a CRM's object number: umlauts spelled out, every other
    character a KEY cannot hold becomes ``-``, at most 64 characters."""
    ascii_text = (
        unicodedata.normalize("NFKD", text.translate(_TRANSLITERATION))
        .encode("ascii", "ignore")
        .decode()
    )
    key = _NOT_IN_KEYS.sub("-", ascii_text).strip("-.")[:64].strip("-.")
    return key


def safe_file_name(title: str, reference: str) -> str:
    """The file name of an attachment: its title made safe, the extension of the file."""
    suffix = PurePosixPath(reference).suffix
    suffix = suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", suffix or "") else ""
    stem = _NOT_IN_FILE_NAMES.sub("-", title)
    stem = " ".join(stem.split()).strip(" .-")[:MAX_FILE_STEM].strip(" .")
    if stem.lower().endswith(suffix.lower()) and suffix:
        stem = stem[: -len(suffix)].strip(" .")
    if not stem:
        stem = PurePosixPath(reference).stem.strip(" .")[:MAX_FILE_STEM] or "Anhang"
    name = stem + suffix
    if not is_share_name(name) or is_hidden_from_contacts(name):
        name = "Anhang" + suffix
    return name


def _title(immobilie) -> str:
    title = _text(immobilie, "freitexte", "objekttitel")
    if not title:
        geo = _child(immobilie, "geo")
        street = " ".join(filter(None, (_text(geo, "strasse"), _text(geo, "hausnummer"))))
        place = " ".join(filter(None, (_text(geo, "plz"), _text(geo, "ort"))))
        title = ", ".join(filter(None, (street, place)))
    return title[:MAX_TITLE]


def _is_remote(anhang, reference: str) -> bool:
    return anhang.get("location", "").upper() == "REMOTE" or bool(
        re.match(r"^[a-z][a-z0-9+.-]*://", reference, re.IGNORECASE)
    )


def _attachments(immobilie, source: ExportSource, key: str) -> list[Attachment]:
    planned = []
    container = _child(immobilie, "anhaenge")
    for anhang in _children(container, "anhang") if container is not None else []:
        group = anhang.get("gruppe", "").upper()
        title = _text(anhang, "anhangtitel")
        reference = _text(anhang, "daten", "pfad")
        if not reference:
            raise InvalidInput(
                f"{key}: an attachment ({title or group}) names no file (daten/pfad)"
            )
        if _is_remote(anhang, reference):
            planned.append(
                Attachment(
                    title, group, reference, state="skipped", reason="remote (URL): not fetched"
                )
            )
            continue
        member = source.find(reference)
        if member is None:
            raise InvalidInput(
                f"{key}: the attachment file {reference!r} is missing from the export"
            )
        is_energy = group == "EPASS_SKALA" or ENERGY_WORD in title.casefold()
        folder = ENERGY if is_energy else FOLDER_OF_GROUP.get(group, DOCUMENTS)
        name = safe_file_name(title or PurePosixPath(member).stem, member)
        planned.append(
            Attachment(
                title,
                group,
                member,
                path=f"{folder}/{name}",
                energy_certificate=is_energy,
                size=source.sizes[member],
            )
        )
    _make_unique(planned)
    return planned


def _make_unique(planned: list[Attachment]) -> None:
    """Two attachments with one title get ``Name (2).pdf``; case-insensitively, as
    agents' Windows and macOS file managers compare."""
    taken: set[str] = set()
    for attachment in planned:
        if not attachment.path:
            continue
        path = PurePosixPath(attachment.path)
        candidate, number = attachment.path, 1
        while candidate.casefold() in taken:
            number += 1
            candidate = str(path.with_name(f"{path.stem} ({number}){path.suffix}"))
        taken.add(candidate.casefold())
        attachment.path = candidate


def read_listings(source: ExportSource) -> list[Listing]:
    """Every listing of the export, checked whole. :raises InvalidInput: see module."""
    candidates = source.xml_members()
    if not candidates:
        raise InvalidInput(f"{source.label} holds no XML file: not an OpenImmo export")
    roots = []
    for name in candidates:
        data = read_member(source, name, MAX_XML_BYTES)
        try:
            roots.append(parse_xml(data, name))
        except InvalidInput:
            if len(candidates) == 1:
                raise
    if len(roots) != 1:
        raise InvalidInput(
            f"{source.label} must hold exactly one OpenImmo XML file, it holds {len(roots)}"
        )
    listings, seen = [], set()
    for anbieter in _children(roots[0], "anbieter"):
        for immobilie in _children(anbieter, "immobilie"):
            number = _text(immobilie, "verwaltung_techn", "objektnr_extern")
            key = make_key(number) or make_key(
                _text(immobilie, "verwaltung_techn", "openimmo_obid")
            )
            if not key:
                raise InvalidInput("a listing has neither objektnr_extern nor openimmo_obid")
            properties.validate_key(key)
            if key in seen:
                raise InvalidInput(f"the export holds the listing {key!r} twice")
            seen.add(key)
            action = _child(immobilie, "verwaltung_techn", "aktion")
            delete = action is not None and action.get("aktionart", "").upper() == "DELETE"
            title = _title(immobilie) or key
            listings.append(Listing(key, title, delete, _attachments(immobilie, source, key)))
    if not listings:
        raise InvalidInput(f"{source.label} holds no listing (<immobilie>)")
    return listings


# ------------------------------------------------------------------------------ planning


def _plan(config: Config, source: ExportSource, listing: Listing) -> None:
    """Decide each file's state against what is on disk and in the catalog."""
    prop = Property.get_or_none(Property.key == listing.key)
    if prop is None and listing.delete:
        listing.state = "not_found"  # withdrawn before it ever came here: nothing to do
        for attachment in listing.attachments:
            attachment.state, attachment.reason = "skipped", "listing withdrawn (aktion DELETE)"
        return
    if prop is None:
        listing.state = "created"
    elif listing.delete:
        listing.state = "archived"
    else:
        listing.state = "updated" if prop.title != listing.title else "unchanged"
    folder = properties.storage_folder(config, listing.key)
    known = {
        entry.path: entry
        for entry in CatalogEntry.select().where(CatalogEntry.property == listing.key)
    }
    for attachment in listing.attachments:
        if attachment.state == "skipped":
            continue
        if listing.delete:
            attachment.state, attachment.reason = "skipped", "listing archived (aktion DELETE)"
            continue
        target = folder / attachment.path
        if not target.exists():
            attachment.state = "added"
            continue
        entry = known.get(attachment.path)
        crc = source.crc32(attachment.source)
        same = (
            entry is not None
            and entry.size == attachment.size == target.stat().st_size
            and crc is not None
            and entry.crc32 == crc
        )
        attachment.state = "unchanged" if same else "replaced"
    if listing.state == "unchanged" and any(
        a.state in ("added", "replaced") for a in listing.attachments
    ):
        listing.state = "updated"
    if prop is not None and folder.is_dir():
        in_export = {a.path for a in listing.attachments if a.path}
        listing.kept = sorted(
            path for path in known if path not in in_export and path.split("/")[0] in _FOLDERS
        )


_FOLDERS = {*FOLDER_OF_GROUP.values(), DOCUMENTS, ENERGY}


# ------------------------------------------------------------------------------ writing


def _unpack(source: ExportSource, member: str, target: Path, progress) -> tuple[str, int]:
    """Copy ``member`` to ``target``; its sha256 and CRC-32, computed on the way."""
    digest, crc = hashlib.sha256(), 0
    try:
        with source.open(member) as reader, open(target, "xb") as writer:
            while chunk := reader.read(COPY_CHUNK):
                digest.update(chunk)
                crc = zlib.crc32(chunk, crc)
                writer.write(chunk)
                progress(len(chunk))
    except (zipfile.BadZipFile, EOFError) as exc:
        raise InvalidInput(f"{member} is damaged in the export: {exc}") from None
    return digest.hexdigest(), crc


def _write_listing(config: Config, source: ExportSource, listing: Listing, progress) -> None:
    """Stage, then commit one listing: the property row and every changed file, or nothing."""
    staging = config.properties_dir / f"{UPLOAD_PREFIX}import-{secrets.token_hex(8)}"
    to_write = [a for a in listing.attachments if a.state in ("added", "replaced")]
    staged: list[tuple[Attachment, Path, str, int]] = []
    try:
        staging.mkdir(parents=True)
        for number, attachment in enumerate(to_write):
            path = staging / str(number)
            sha256, crc = _unpack(source, attachment.source, path, progress)
            staged.append((attachment, path, sha256, crc))
        folder = properties.storage_folder(config, listing.key)
        with database.atomic():
            prop = Property.get_or_none(Property.key == listing.key)
            if prop is None:
                prop = properties.add_property(config, listing.key, listing.title)
            elif listing.delete:
                Property.update(archived_at=utc_now()).where(Property.id == prop.id).execute()
            elif prop.title != listing.title:
                Property.update(title=listing.title).where(Property.id == prop.id).execute()
            for attachment, path, _, _ in staged:
                target = folder / attachment.path
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
        for attachment, _, sha256, crc in staged:
            catalog.record_written(config, listing.key, attachment.path, sha256, crc)
        if listing.energy_certificate and not listing.delete:
            energy_certificate.set_energy_certificate(
                config, listing.key, listing.energy_certificate
            )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def import_openimmo(
    config: Config,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import the export at ``path``; with ``dry_run`` only report what would happen.

    ``on_plan`` is told how many bytes will be unpacked, ``progress`` each chunk as it
    is written (a progress bar).

    :raises InvalidInput: the export is unsafe, malformed, not OpenImmo, or incomplete;
        nothing was written.
    """
    progress = progress or (lambda _: None)
    with open_export(path) as source:
        listings = read_listings(source)
        for listing in listings:
            _plan(config, source, listing)
        report = ImportReport(source.label, dry_run, listings)
        if dry_run:
            return report
        if on_plan:
            on_plan(
                sum(
                    a.size
                    for listing in listings
                    for a in listing.attachments
                    if a.state in ("added", "replaced")
                )
            )
        for listing in listings:
            if listing.state != "not_found":
                _write_listing(config, source, listing, progress)
    return report
