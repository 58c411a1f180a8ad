"""Thumbnails for the tile view: images and the first page of PDFs, within a budget.

Made once per file version (path, size, modification time, inode) and kept in
``cache/thumbnails/`` in the home; a changed file gets a new one. A file that
cannot be read as an image or PDF, or whose rendering would cost more than the
budget, gets none (remembered beside the cache, so it is not tried again), and the
page shows an icon instead.

The budget, because an image file is a small description of a big picture (a PNG
of one colour with 59 million pixels is a few kilobytes and 240 MB decoded):

- the pixels in the file's header, read before anything is decoded, at most
  ``MAX_SOURCE_PIXELS``; image files themselves at most ``MAX_IMAGE_FILE_BYTES``;
- the memory decoding takes, worked out from the header, at most
  ``MAX_DECODE_BYTES``: JPEGs decode at up to an eighth of their size (``draft``),
  but a progressive one keeps all its coefficients; other formats decode whole;
- a PDF page is rendered straight at thumbnail size, whatever its page size
  (PDFium decodes its images at the scale it draws them);
- ``MAX_RENDERS`` renderings at once in a process; one per file version at a time,
  so twenty requests for one new file render it once and the others read the
  cache. A request waits at most ``WAIT_SECONDS`` for its turn, then
  :class:`ThumbnailBusy`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pypdfium2
from PIL import Image, ImageOps

from gateway.config import Config
from gateway.errors import GatewayError

log = logging.getLogger("immoshare.thumbnails")

THUMBNAIL_BOX = (320, 320)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"})
PDF_SUFFIXES = frozenset({".pdf"})
#: What Pillow may read a file as, whatever its name says: never one of its other
#: formats (EPS would start Ghostscript). Some cameras' JPEGs open as "MPO".
IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF")
CACHE_DIR = Path("cache") / "thumbnails"

#: A camera's largest photos; anything bigger is refused from its header.
MAX_SOURCE_PIXELS = 40_000_000
#: Some formats (WebP) read the whole file before decoding.
MAX_IMAGE_FILE_BYTES = 64 * 1024 * 1024
#: What one rendering may take to decode: a 12-megapixel PNG in colour.
MAX_DECODE_BYTES = 48 * 1024 * 1024
#: Renderings at once in one process; with ``MAX_DECODE_BYTES``, some 100 MB at most.
MAX_RENDERS = 2
#: How long a request waits for its turn to render before it gets "busy".
WAIT_SECONDS = 10.0

#: Bytes per pixel of Pillow's decoded image: 1 for these modes, 2 for 16-bit ones,
#: else 4 (Pillow keeps RGB, RGBA, CMYK, I and F in 32 bits).
_ONE_BYTE_MODES = frozenset({"1", "L", "P"})


class ThumbnailBusy(GatewayError):
    """Every rendering slot stayed busy for ``WAIT_SECONDS``: try again shortly."""


def has_thumbnail(name: str) -> bool:
    suffix = os.path.splitext(name)[1].lower()
    return suffix in IMAGE_SUFFIXES or suffix in PDF_SUFFIXES


def _cache_key(file_path: str, stat: os.stat_result) -> str:
    version = f"{file_path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}"
    return hashlib.sha256(version.encode("utf-8", "surrogateescape")).hexdigest()


def _cache_file(config: Config, key: str) -> Path:
    return config.home / CACHE_DIR / key[:2] / f"{key}.jpg"


def _refused_file(target: Path) -> Path:
    """Marks a version that gets no thumbnail, so that it is not tried again."""
    return target.with_suffix(".none")


class _Turns:
    """One rendering per file version at a time, and ``MAX_RENDERS`` in all."""

    def __init__(self, renders: int):
        self._slots = threading.BoundedSemaphore(renders)
        self._guard = threading.Lock()
        self._files: dict[str, list] = {}  # key: [lock, holders and waiters]

    @contextlib.contextmanager
    def file(self, key: str, deadline: float) -> Iterator[None]:
        with self._guard:
            entry = self._files.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            if not entry[0].acquire(timeout=_left(deadline)):
                raise ThumbnailBusy("thumbnails are being made: try again shortly")
            try:
                yield
            finally:
                entry[0].release()
        finally:
            with self._guard:
                entry[1] -= 1
                if not entry[1]:
                    del self._files[key]

    @contextlib.contextmanager
    def render(self, deadline: float) -> Iterator[None]:
        if not self._slots.acquire(timeout=_left(deadline)):
            raise ThumbnailBusy("thumbnails are being made: try again shortly")
        try:
            yield
        finally:
            self._slots.release()


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


Image.init()  # registers every format, so that IMAGE_FORMATS can name them
_turns = _Turns(MAX_RENDERS)
# PDFium is not thread-safe: one PDF at a time in this process.
_pdfium_lock = threading.Lock()


def thumbnail(config: Config, file_path: str, stat: os.stat_result) -> Path | None:
    """The cached JPEG thumbnail of ``file_path``, made now if needed; None if the file
    is no readable image or PDF, or beyond the budget (see the module docstring).

    :raises ThumbnailBusy: no turn to render within ``WAIT_SECONDS``.
    """
    key = _cache_key(file_path, stat)
    target = _cache_file(config, key)
    cached = _cached(target)
    if cached is not False:
        return cached
    deadline = time.monotonic() + WAIT_SECONDS
    with _turns.file(key, deadline):
        cached = _cached(target)  # made while this request waited for the file
        if cached is not False:
            return cached
        with _turns.render(deadline):
            image = _render(file_path, stat)
        target.parent.mkdir(parents=True, exist_ok=True)
        if image is None:
            _refused_file(target).touch()
            return None
        partial = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        image.save(partial, "JPEG", quality=80, optimize=True)
        os.replace(partial, target)
        return target


def _cached(target: Path) -> Path | None | bool:
    """The thumbnail, None when the version was refused, False when not yet tried."""
    if target.is_file():
        return target
    if _refused_file(target).is_file():
        return None
    return False


def _render(file_path: str, stat: os.stat_result) -> Image.Image | None:
    suffix = os.path.splitext(file_path)[1].lower()
    try:
        if suffix in PDF_SUFFIXES:
            return _from_pdf(file_path)
        if suffix in IMAGE_SUFFIXES and stat.st_size <= MAX_IMAGE_FILE_BYTES:
            return _from_image(file_path)
    except Exception:  # noqa: BLE001 - a hostile file makes Pillow or PDFium raise anything
        log.info("no thumbnail for %s", file_path, exc_info=True)
    return None  # not an image or PDF this can read, or beyond the budget: the icon


def _from_image(file_path: str) -> Image.Image | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(file_path, formats=IMAGE_FORMATS) as image:
            width, height = image.size
            if width * height > MAX_SOURCE_PIXELS:
                return None
            held = _coefficient_bytes(image)  # before draft: of the whole picture
            image.draft("RGB", _fitted(image.size))  # JPEG: decode at 1/2 to 1/8 size
            if held + _decoded_bytes(image) > MAX_DECODE_BYTES:
                return None
            image.thumbnail(THUMBNAIL_BOX)
            return _flatten(ImageOps.exif_transpose(image))  # turned once it is small


def _fitted(size: tuple[int, int]) -> tuple[int, int]:
    """The thumbnail's size for a picture of ``size``: ``draft`` reduces to no less."""
    scale = min(THUMBNAIL_BOX[0] / size[0], THUMBNAIL_BOX[1] / size[1], 1.0)
    return max(1, math.ceil(size[0] * scale)), max(1, math.ceil(size[1] * scale))


def _decoded_bytes(image: Image.Image) -> int:
    """The memory of ``image`` decoded at its (drafted) size."""
    mode = image.mode
    per_pixel = 1 if mode in _ONE_BYTE_MODES else 2 if mode.startswith("I;16") else 4
    return image.width * image.height * per_pixel


def _coefficient_bytes(image: Image.Image) -> int:
    """A progressive JPEG keeps the coefficients of the whole picture (2 bytes each,
    per component and its sampling) however small it is decoded; other images none."""
    if image.format not in ("JPEG", "MPO") or not image.info.get("progressive"):
        return 0
    layers = getattr(image, "layer", None) or [("", 1, 1, 0)] * len(image.getbands())
    most = max(h * v for _, h, v, _ in layers)
    return sum(2 * image.width * image.height * h * v // most for _, h, v, _ in layers)


def _from_pdf(file_path: str) -> Image.Image | None:
    with _pdfium_lock:
        document = pypdfium2.PdfDocument(file_path)
        try:
            if len(document) == 0:
                return None
            page = document[0]
            try:
                width, height = page.get_size()
                if not (0 < width < math.inf and 0 < height < math.inf):
                    return None  # no page size to scale to a thumbnail
                scale = min(THUMBNAIL_BOX[0] / width, THUMBNAIL_BOX[1] / height)
                image = page.render(scale=scale).to_pil()  # at most THUMBNAIL_BOX
            finally:
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
