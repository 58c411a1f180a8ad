"""Thumbnails for the tile view: images and the first page of PDFs.

Made once per file version (path, size, modification time) and kept in
``cache/thumbnails/`` in the home; a changed file gets a new one. Files that cannot
be read as an image or PDF get none, and the page shows an icon instead.
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from pathlib import Path

import pypdfium2
from PIL import Image, ImageOps

from gateway.config import Config

THUMBNAIL_BOX = (320, 320)
MAX_SOURCE_PIXELS = 60_000_000  # larger images are skipped rather than decoded
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"})
PDF_SUFFIXES = frozenset({".pdf"})
CACHE_DIR = Path("cache") / "thumbnails"

# PDFium is not thread-safe: one rendering at a time in this process.
_pdfium_lock = threading.Lock()


def has_thumbnail(name: str) -> bool:
    suffix = os.path.splitext(name)[1].lower()
    return suffix in IMAGE_SUFFIXES or suffix in PDF_SUFFIXES


def _cache_file(config: Config, file_path: str, stat: os.stat_result) -> Path:
    version = f"{file_path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}"
    key = hashlib.sha256(version.encode("utf-8", "surrogateescape")).hexdigest()
    return config.home / CACHE_DIR / key[:2] / f"{key}.jpg"


def _from_image(file_path: str) -> Image.Image | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(file_path) as image:
            if image.width * image.height > MAX_SOURCE_PIXELS:
                return None
            image.draft("RGB", THUMBNAIL_BOX)
            image = ImageOps.exif_transpose(image)
            image.thumbnail(THUMBNAIL_BOX)
            return _flatten(image)


def _from_pdf(file_path: str) -> Image.Image | None:
    with _pdfium_lock:
        document = pypdfium2.PdfDocument(file_path)
        try:
            if len(document) == 0:
                return None
            page = document[0]
            width, height = page.get_size()
            scale = min(THUMBNAIL_BOX[0] / width, THUMBNAIL_BOX[1] / height)
            image = page.render(scale=scale).to_pil()
            page.close()
        finally:
            document.close()
    return _flatten(image)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white, as JPEG has no transparency."""
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def thumbnail(config: Config, file_path: str, stat: os.stat_result) -> Path | None:
    """The cached JPEG thumbnail of ``file_path``, made now if needed; None if the file
    is no readable image or PDF."""
    target = _cache_file(config, file_path, stat)
    if target.is_file():
        return target
    suffix = os.path.splitext(file_path)[1].lower()
    try:
        if suffix in PDF_SUFFIXES:
            image = _from_pdf(file_path)
        elif suffix in IMAGE_SUFFIXES:
            image = _from_image(file_path)
        else:
            return None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, pypdfium2.PdfiumError):
        return None
    if image is None:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{threading.get_ident()}.part")
    image.save(partial, "JPEG", quality=80, optimize=True)
    os.replace(partial, target)
    return target
