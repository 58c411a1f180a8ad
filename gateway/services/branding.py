"""The agency's branding on every contact page: its name and logo, its Impressum (a
URL or the text itself; a German business website needs one, § 5 DDG) and the
controller's contact for the privacy notice (Art. 13 GDPR).

Stored as operator settings in the database (so every process sees a change at its
next request) and the logo as a file in ``branding/`` in the home, named by its
content hash so that it can be cached forever.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from gateway.config import Config
from gateway.db import database
from gateway.errors import InvalidInput
from gateway.models import OperatorSetting, Property
from gateway.services.checkup import Checkup, Finding, warning

NAME_KEY = "branding.name"
LOGO_KEY = "branding.logo"
IMPRINT_KEY = "branding.imprint"
PRIVACY_CONTACT_KEY = "branding.privacy_contact"
BRANDING_DIR = "branding"
MAX_LOGO_BYTES = 2 * 1024 * 1024
MAX_NAME_CHARS = 200
MAX_IMPRINT_CHARS = 4000  # an Impressum is a few lines: address, register, VAT id
MAX_PRIVACY_CONTACT_CHARS = 1000
MAX_URL_CHARS = 2000
# An Impressum URL: http(s) only, no spaces or control characters, so that it can
# only ever be a plain link (never javascript:, data: or a broken attribute).
_IMPRINT_URL = re.compile(r"^https?://[^\s\x00-\x1f\x7f<>\"'`\\]+$", re.IGNORECASE)
# Control characters other than line breaks and tabs have no place in shown text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Raster formats browsers show; SVG is refused because it can carry script.
LOGO_FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "GIF": ("gif", "image/gif"),
    "WEBP": ("webp", "image/webp"),
}


@dataclasses.dataclass(frozen=True)
class Branding:
    name: str | None
    logo_file: str | None  # file name inside the home's branding/ folder
    logo_type: str | None
    imprint: str | None = None  # a URL or the Impressum's text
    privacy_contact: str | None = None

    @property
    def imprint_url(self) -> str | None:
        """The Impressum's address when it is given as a URL."""
        return self.imprint if self.imprint and is_imprint_url(self.imprint) else None

    @property
    def imprint_text(self) -> str | None:
        """The Impressum itself when it is given as text."""
        return self.imprint if self.imprint and not is_imprint_url(self.imprint) else None

    @property
    def is_empty(self) -> bool:
        return not (self.name or self.logo_file)


def is_imprint_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def branding_dir(config: Config) -> Path:
    return config.home / BRANDING_DIR


def _get(name: str) -> str | None:
    row = OperatorSetting.get_or_none(OperatorSetting.name == name)
    return row.value if row else None


def _put(name: str, value: str | None) -> None:
    (
        OperatorSetting.insert(name=name, value=value)
        .on_conflict(conflict_target=[OperatorSetting.name], update={OperatorSetting.value: value})
        .execute()
    )


def agency_name() -> str | None:
    """The agency's name as set with ``branding set --name``, or None."""
    return _get(NAME_KEY)


def get_branding(config: Config) -> Branding:
    logo = json.loads(_get(LOGO_KEY) or "null")
    if logo and not (branding_dir(config) / logo["file"]).is_file():
        logo = None
    return Branding(
        name=_get(NAME_KEY),
        logo_file=logo["file"] if logo else None,
        logo_type=logo["type"] if logo else None,
        imprint=_get(IMPRINT_KEY),
        privacy_contact=_get(PRIVACY_CONTACT_KEY),
    )


def _check_logo(data: bytes, origin: str) -> tuple[str, str]:
    if len(data) > MAX_LOGO_BYTES:
        raise InvalidInput(f"{origin} is larger than {MAX_LOGO_BYTES // (1024 * 1024)} MB")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            kind = image.format
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise InvalidInput(f"{origin} is not a PNG, JPEG, GIF or WebP image") from None
    if kind not in LOGO_FORMATS:
        raise InvalidInput(f"{origin} is a {kind} image; use PNG, JPEG, GIF or WebP")
    return LOGO_FORMATS[kind]


def _check_text(value: str, what: str, limit: int) -> str:
    value = _CONTROL.sub("", value.replace("\r\n", "\n")).strip()
    if not value or len(value) > limit:
        raise InvalidInput(f"the {what} must be 1–{limit} characters")
    return value


def _check_imprint(value: str) -> str:
    value = value.strip()
    if is_imprint_url(value):
        if len(value) > MAX_URL_CHARS or not _IMPRINT_URL.match(value):
            raise InvalidInput(
                "the Impressum URL must be an http(s) address without spaces or quotes, "
                f"up to {MAX_URL_CHARS} characters"
            )
        return value
    return _check_text(value, "Impressum text", MAX_IMPRINT_CHARS)


def set_branding(
    config: Config,
    *,
    name: str | None = None,
    logo: Path | None = None,
    imprint: str | None = None,
    privacy_contact: str | None = None,
) -> Branding:
    """Change what is given; pages show it from the next request on.

    :raises InvalidInput: empty or long name or texts; an Impressum URL that is not a
        plain http(s) address; a logo that is not a raster image.
    """
    logo_value = None
    if imprint is not None:
        imprint = _check_imprint(imprint)
    if privacy_contact is not None:
        privacy_contact = _check_text(privacy_contact, "privacy contact", MAX_PRIVACY_CONTACT_CHARS)
    if name is not None:
        name = name.strip()
        if not name or len(name) > MAX_NAME_CHARS:
            raise InvalidInput(f"the name must be 1–{MAX_NAME_CHARS} characters")
    if logo is not None:
        data = logo.read_bytes()
        extension, content_type = _check_logo(data, logo.name)
        file_name = f"logo-{hashlib.sha256(data).hexdigest()[:16]}.{extension}"
        folder = branding_dir(config)
        folder.mkdir(exist_ok=True)
        partial = folder / (file_name + ".part")
        partial.write_bytes(data)
        partial.replace(folder / file_name)
        logo_value = json.dumps({"file": file_name, "type": content_type})
    with database.atomic():
        if name is not None:
            _put(NAME_KEY, name)
        if logo_value is not None:
            _put(LOGO_KEY, logo_value)
        if imprint is not None:
            _put(IMPRINT_KEY, imprint)
        if privacy_contact is not None:
            _put(PRIVACY_CONTACT_KEY, privacy_contact)
    return get_branding(config)


def logo_path(config: Config, file_name: str) -> Path | None:
    """The current logo's file if ``file_name`` names it, else None."""
    current = get_branding(config)
    if current.logo_file is None or file_name != current.logo_file:
        return None
    return branding_dir(config) / current.logo_file


def check_branding(checkup: Checkup) -> list[Finding]:
    """``immoshare doctor``: contacts are asked to waive a right, so the page must say
    who asks; a German business website needs an Impressum and the privacy notice a
    controller to contact."""
    if not Property.select().exists():
        return []
    current = get_branding(checkup.config)
    missing = [
        option
        for option, value in (
            ("--name", current.name),
            ("--imprint", current.imprint),
            ("--privacy-contact", current.privacy_contact),
        )
        if not value
    ]
    if not missing:
        return []
    words = {
        "--name": "agency name",
        "--imprint": "Impressum",
        "--privacy-contact": "privacy contact",
    }
    example = {
        "--name": '--name "Muster Immobilien GmbH"',
        "--imprint": "--imprint https://www.example.de/impressum",
        "--privacy-contact": '--privacy-contact "datenschutz@example.de"',
    }
    return [
        warning(
            "branding_incomplete",
            "branding",
            "contact pages show no "
            + ", no ".join(words[m] for m in missing)
            + ": contacts cannot see who asks them to waive their right of withdrawal",
            f"`{checkup.command('branding set ' + ' '.join(example[m] for m in missing))}`",
        )
    ]
