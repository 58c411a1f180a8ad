"""The data every server serves: one folder per case, generated once per profile.

The folder is immoshare's ``properties/`` directory, so each case's folder is also an
immoshare property; the peers serve the same directory as their root. Content is
pseudo-random (a seeded block, rotated per file) so nothing compresses or dedups, and
a manifest lets the next run reuse the data instead of writing gigabytes again; when
only the profile changed, files of the right size are kept (the generator is the
same while ``VERSION`` is).

The large property (``LARGE``) is a real listing's folder: a 4 KiB file like
``SMALL`` beside ten thousand small documents, one 256 MiB video and 320 MiB of
photos in 40 files (full profile), so cases 3 and 12 show whether a file's neighbours
change what serving it costs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
from pathlib import Path

from bench.profiles import MIB, Profile

VERSION = 1  # of the generator: a new one rewrites every file
SMALL = "files/small.bin"  # case 1, 2, 12, 13
BIG = "files/big.bin"  # case 3, 13
LISTING = "list"  # case 4, and the search share of case 6
ZIP = "zip"  # case 5
PAGE = "page"  # case 6
DOWNLOADS = "dl"  # case 7
LARGE = "large"  # case 3, 12: the large property
LARGE_SMALL = f"{LARGE}/small.bin"
LARGE_BIG = f"{LARGE}/Rundgang.mp4"
KEYS = ("files", LISTING, ZIP, PAGE, DOWNLOADS, LARGE)  # the folders, i.e. the properties

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


def _write(path: Path, size: int, seed: int, *, keep: bool = False) -> None:
    """``size`` bytes of the seeded content; with ``keep``, a file of that size stays."""
    if keep and path.exists() and path.stat().st_size == size:
        return
    start = (seed * 7919) % len(_BLOCK)
    rotated = memoryview(_BLOCK[start:] + _BLOCK[:start])
    with open(path, "wb") as fh:
        left = size
        while left:
            chunk = rotated[: min(left, len(rotated))]
            fh.write(chunk)
            left -= len(chunk)


def _spec(profile: Profile) -> dict:
    return {"version": VERSION, **dataclasses.asdict(profile)}


def ensure_dataset(root: Path, profile: Profile, manifest: Path) -> Dataset:
    """Write the data below ``root`` unless ``manifest`` says it is there already."""
    spec = _spec(profile)
    old = json.loads(manifest.read_text()) if manifest.exists() else {}
    if old == spec:
        return Dataset(root, profile)
    keep = old.get("version") == VERSION
    for key in KEYS:
        (root / key).mkdir(parents=True, exist_ok=True)
    _write(root / SMALL, profile.small_bytes, 1, keep=keep)
    _write(root / BIG, profile.big_bytes, 2, keep=keep)
    _fill(root / LISTING, _series("Unterlage-{:05d}.pdf", profile.listing_files, 1024), keep)
    _fill(root / PAGE, _series("Dokument-{:04d}.pdf", profile.page_files, 2048), keep)
    _fill(root / ZIP, _series("Foto-{:03d}.jpg", profile.zip_files, profile.zip_file_bytes), keep)
    downloads = _series("Expose-{:03d}.pdf", profile.download_files, profile.download_bytes)
    _fill(root / DOWNLOADS, downloads, keep)
    _fill(root / LARGE, _large(profile), keep)
    manifest.write_text(json.dumps(spec))
    return Dataset(root, profile)


def _series(pattern: str, count: int, size: int) -> dict[str, int]:
    """``count`` names made by ``pattern``, each for ``size`` bytes."""
    return {pattern.format(i): size for i in range(count)}


def _large(profile: Profile) -> dict[str, int]:
    """The large property's files: name → size."""
    return {
        LARGE_SMALL.rpartition("/")[2]: profile.small_bytes,
        LARGE_BIG.rpartition("/")[2]: profile.large_big_bytes,
        **_series("Unterlage-{:05d}.pdf", profile.large_files, 1024),
        **_series("Foto-{:02d}.jpg", profile.large_batch_files, profile.large_batch_file_bytes),
    }


def _fill(folder: Path, files: dict[str, int], keep: bool) -> None:
    """Exactly ``files`` (name → size) in ``folder``, each with content of its own."""
    for stale in set(os.listdir(folder)) - set(files):
        os.unlink(folder / stale)
    for i, (name, size) in enumerate(sorted(files.items())):
        _write(folder / name, size, 1000 + i, keep=keep)
