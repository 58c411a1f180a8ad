"""Reference screenshots of the contact pages, kept under ``tests/screenshots/``.

A test takes the viewport of a page, halves it (small files, and less noise from
anti-aliasing) and compares it with the reference: it fails when more than
:data:`TOLERANCE` of the pixels differ clearly, which a moved or missing block does
and a font's hinting does not. ``IMMOSHARE_UPDATE_SCREENSHOTS=1`` writes the
references instead, on purpose, after a change to the layout was looked at.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, ImageChops

FOLDER = Path(__file__).parent / "screenshots"
UPDATE = os.environ.get("IMMOSHARE_UPDATE_SCREENSHOTS") == "1"
TOLERANCE = 0.02  # share of pixels
CLEAR_DIFFERENCE = 48  # of 255, in any channel


def _viewport_image(page) -> Image.Image:
    shot = page.screenshot(full_page=False, animations="disabled", caret="hide")
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    return image.resize((image.width // 2, image.height // 2), Image.LANCZOS)


def differing_share(a: Image.Image, b: Image.Image) -> float:
    """The share of pixels where ``a`` and ``b`` differ clearly."""
    difference = ImageChops.difference(a, b).convert("L")
    clear = difference.point(lambda value: 255 if value > CLEAR_DIFFERENCE else 0)
    return clear.histogram()[255] / (a.width * a.height)


def check_screenshot(page, name: str, failures: Path) -> None:
    """Compare the page's viewport with ``tests/screenshots/NAME.png`` (or write it
    under ``IMMOSHARE_UPDATE_SCREENSHOTS=1``); a failure keeps the actual image in
    ``failures``."""
    actual = _viewport_image(page)
    reference = FOLDER / f"{name}.png"
    if UPDATE:
        FOLDER.mkdir(exist_ok=True)
        actual.quantize(colors=256).save(reference, optimize=True)
        return
    assert reference.is_file(), (
        f"no reference {reference}: look at the page, then run with IMMOSHARE_UPDATE_SCREENSHOTS=1"
    )
    expected = Image.open(reference).convert("RGB")
    kept = failures / f"{name}.actual.png"
    if expected.size != actual.size:
        actual.save(kept)
        raise AssertionError(f"{name}: size {actual.size} != {expected.size}; see {kept}")
    share = differing_share(expected, actual)
    if share > TOLERANCE:
        actual.save(kept)
        raise AssertionError(f"{name}: {share:.1%} of the pixels differ; see {kept}")
