"""The agency's branding on every contact page: its name and logo.

Stored as operator settings in the database (so every process sees a change at its
next request) and the logo as a file in ``branding/`` in the home, named by its
content hash so that it can be cached forever.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from gateway.config import Config
from gateway.db import database
from gateway.errors import InvalidInput
from gateway.models import OperatorSetting

NAME_KEY = "branding.name"
LOGO_KEY = "branding.logo"
BRANDING_DIR = "branding"
MAX_LOGO_BYTES = 2 * 1024 * 1024
MAX_NAME_CHARS = 200
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


def set_branding(config: Config, *, name: str | None = None, logo: Path | None = None) -> Branding:
    """Change the agency name and/or logo; pages show it from the next request on.

    :raises InvalidInput: empty or long name; a logo that is not a raster image.
    """
    logo_value = None
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
    return get_branding(config)


def logo_path(config: Config, file_name: str) -> Path | None:
    """The current logo's file if ``file_name`` names it, else None."""
    current = get_branding(config)
    if current.logo_file is None or file_name != current.logo_file:
        return None
    return branding_dir(config) / current.logo_file
