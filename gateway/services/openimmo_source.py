"""Where an OpenImmo export comes from: a ZIP archive or an unpacked folder, read safely.

An export is someone else's file, so nothing in it is trusted: member names with
``..``, absolute paths, drive letters or backslash tricks, symbolic links, more
members than a listing needs, more unpacked bytes than the import allows, or a
packing ratio no real photo or PDF has (a ZIP bomb) are refused before a single byte
is written. Members are read as streams, so memory stays flat whatever their size;
a member that unpacks to more than its header said fails its CRC check in
:mod:`zipfile` instead of filling the disk.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from gateway.errors import InvalidInput

#: Members (or files of a folder) an export may hold.
MAX_MEMBERS = 20_000
#: Unpacked bytes of all attachments together.
MAX_TOTAL_BYTES = 16 * 1024**3
#: The XML file itself; real exports of a few hundred listings stay far below.
MAX_XML_BYTES = 64 * 1024**2
#: Largest packing ratio of a member above :data:`RATIO_FLOOR` bytes; photos and PDFs
#: pack hardly at all, XML about 10:1; a ZIP bomb packs thousands to one.
MAX_RATIO = 100
RATIO_FLOOR = 1024 * 1024


class ExportSource:
    """The members of an export by their normalised relative path (``bilder/1.jpg``)."""

    def __init__(self, label: str, sizes: dict[str, int]) -> None:
        self.label = label
        self.sizes = sizes
        self._folded = {name.casefold(): name for name in sizes}

    def find(self, reference: str) -> str | None:
        """The member an attachment's ``pfad`` names, or None. Exports are made on
        Windows as often as not, so a reference matches case-insensitively and with
        either slash, and a bare file name also matches a member in a subfolder when
        only one member has that name."""
        name = normalise(reference, reference)
        if name in self.sizes:
            return name
        if name.casefold() in self._folded:
            return self._folded[name.casefold()]
        matches = [m for m in self.sizes if PurePosixPath(m).name.casefold() == name.casefold()]
        return matches[0] if len(matches) == 1 else None

    def xml_members(self) -> list[str]:
        return sorted(name for name in self.sizes if name.lower().endswith(".xml"))

    def open(self, name: str) -> BinaryIO:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def crc32(self, name: str) -> int | None:
        """The member's CRC-32 if the source knows it without reading it."""
        return None


def normalise(name: str, shown: str) -> str:
    """``name`` as a safe relative POSIX path. :raises InvalidInput: it could point
    outside the export (``..``, absolute, drive letter) or is empty."""
    cleaned = name.replace("\\", "/")
    path = PurePosixPath(cleaned)
    if (
        not cleaned
        or cleaned.startswith("/")
        or (len(cleaned) > 1 and cleaned[1] == ":")
        or any(part in ("..", "") for part in cleaned.rstrip("/").split("/"))
        or "\x00" in cleaned
    ):
        raise InvalidInput(f"the export holds an unsafe path: {shown!r}")
    return str(path)


class _ZipSource(ExportSource):
    def __init__(self, archive: zipfile.ZipFile, label: str) -> None:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise InvalidInput(f"{label} holds more than {MAX_MEMBERS} members")
        sizes, total = {}, 0
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in members:
            name = normalise(info.filename, info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise InvalidInput(f"the export holds a symbolic link: {info.filename!r}")
            if info.is_dir():
                continue
            if name in sizes:
                raise InvalidInput(f"the export holds {info.filename!r} twice")
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(
                info.compress_size, 1
            ):
                raise InvalidInput(
                    f"{info.filename!r} would unpack to {info.file_size:,} bytes from "
                    f"{info.compress_size:,}: refused as a ZIP bomb"
                )
            total += info.file_size
            sizes[name] = info.file_size
            self._infos[name] = info
        if total > MAX_TOTAL_BYTES:
            raise InvalidInput(
                f"{label} would unpack to {total:,} bytes, more than the "
                f"{MAX_TOTAL_BYTES:,} an import takes"
            )
        super().__init__(label, sizes)
        self._archive = archive

    def open(self, name: str) -> BinaryIO:
        return self._archive.open(self._infos[name])

    def crc32(self, name: str) -> int | None:
        return self._infos[name].CRC


class _FolderSource(ExportSource):
    def __init__(self, root: Path) -> None:
        sizes, total = {}, 0
        for folder, subfolders, names in os.walk(root, followlinks=False):
            for name in subfolders + names:
                path = Path(folder) / name
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode):
                    raise InvalidInput(
                        f"the export holds a symbolic link: {path.relative_to(root)}"
                    )
                if stat.S_ISREG(info.st_mode):
                    relative = path.relative_to(root).as_posix()
                    sizes[normalise(relative, relative)] = info.st_size
                    total += info.st_size
                elif not stat.S_ISDIR(info.st_mode):
                    raise InvalidInput(f"the export holds a special file: {name}")
            if len(sizes) > MAX_MEMBERS:
                raise InvalidInput(f"{root.name} holds more than {MAX_MEMBERS} files")
        if total > MAX_TOTAL_BYTES:
            raise InvalidInput(
                f"{root.name} holds more than the {MAX_TOTAL_BYTES:,} bytes an import takes"
            )
        super().__init__(root.name, sizes)
        self._root = root

    def open(self, name: str) -> BinaryIO:
        # O_NOFOLLOW on every component would need openat2; the walk refused links and
        # the path is normalised, and the file itself must not be a link.
        fd = os.open(self._root / name, os.O_RDONLY | os.O_NOFOLLOW)
        return os.fdopen(fd, "rb")


@contextmanager
def open_export(path: Path) -> Iterator[ExportSource]:
    """The export at ``path``: a ZIP archive or a folder.

    :raises InvalidInput: missing, neither a ZIP nor a folder, or unsafe.
    """
    if path.is_symlink():
        raise InvalidInput(f"{path.name} is a symbolic link; give the export itself")
    if path.is_dir():
        yield _FolderSource(path)
        return
    if not path.is_file():
        raise InvalidInput(f"{path} does not exist")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise InvalidInput(f"{path.name} is not a ZIP archive (nor a folder)") from None
    with archive:
        yield _ZipSource(archive, path.name)


def read_member(source: ExportSource, name: str, limit: int) -> bytes:
    """A small member whole (the XML). :raises InvalidInput: larger than ``limit``."""
    if source.sizes[name] > limit:
        raise InvalidInput(f"{name} is larger than {limit:,} bytes")
    try:
        with source.open(name) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(f"{name} cannot be read from the export: {exc}") from None
    if len(data) > limit:
        raise InvalidInput(f"{name} is larger than {limit:,} bytes")
    return data
