"""The data every server serves: one folder per case, generated once per profile.

The folder is immoshare's ``properties/`` directory, so each case's folder is also an
immoshare property; the peers serve the same directory as their root. Content is
pseudo-random (a seeded block, rotated per file) so nothing compresses or dedups, and
a manifest lets the next run reuse the data instead of writing gigabytes again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
from pathlib import Path

from bench.profiles import MIB, Profile

SMALL = "files/small.bin"  # case 1, 2
BIG = "files/big.bin"  # case 3
LISTING = "list"  # case 4, and the search share of case 6
ZIP = "zip"  # case 5
PAGE = "page"  # case 6
DOWNLOADS = "dl"  # case 7
KEYS = ("files", LISTING, ZIP, PAGE, DOWNLOADS)  # the folders, i.e. the properties

_BLOCK = random.Random(6).randbytes(MIB)


@dataclasses.dataclass(frozen=True)
class Dataset:
    root: Path  # the folder every server serves
    profile: Profile

    def path(self, relative: str) -> Path:
        return self.root / relative

    def names(self, folder: str) -> list[str]:
        return sorted(os.listdir(self.root / folder))

    def warm(self, relative: str) -> None:
        """Read a file, or every file of a folder, into the page cache."""
        path = self.path(relative)
        files = [path / name for name in self.names(relative)] if path.is_dir() else [path]
        buffer = bytearray(MIB)
        for file in files:
            with open(file, "rb", buffering=0) as fh:
                while fh.readinto(buffer):
                    pass


def _write(path: Path, size: int, seed: int) -> None:
    start = (seed * 7919) % len(_BLOCK)
    rotated = memoryview(_BLOCK[start:] + _BLOCK[:start])
    with open(path, "wb") as fh:
        left = size
        while left:
            chunk = rotated[: min(left, len(rotated))]
            fh.write(chunk)
            left -= len(chunk)


def _spec(profile: Profile) -> dict:
    return {"version": 1, **dataclasses.asdict(profile)}


def ensure_dataset(root: Path, profile: Profile, manifest: Path) -> Dataset:
    """Write the data below ``root`` unless ``manifest`` says it is there already."""
    spec = _spec(profile)
    if manifest.exists() and json.loads(manifest.read_text()) == spec:
        return Dataset(root, profile)
    for key in KEYS:
        (root / key).mkdir(parents=True, exist_ok=True)
    _write(root / SMALL, profile.small_bytes, 1)
    _write(root / BIG, profile.big_bytes, 2)
    _fill(root / LISTING, "Unterlage-{:05d}.pdf", profile.listing_files, 1024)
    _fill(root / PAGE, "Dokument-{:04d}.pdf", profile.page_files, 2048)
    _fill(root / ZIP, "Foto-{:03d}.jpg", profile.zip_files, profile.zip_file_bytes)
    _fill(root / DOWNLOADS, "Expose-{:03d}.pdf", profile.download_files, profile.download_bytes)
    manifest.write_text(json.dumps(spec))
    return Dataset(root, profile)


def _fill(folder: Path, pattern: str, count: int, size: int) -> None:
    """Exactly ``count`` files of ``size`` bytes named by ``pattern`` in ``folder``."""
    wanted = {pattern.format(i) for i in range(count)}
    for stale in set(os.listdir(folder)) - wanted:
        os.unlink(folder / stale)
    for i in range(count):
        _write(folder / pattern.format(i), size, 1000 + i)
