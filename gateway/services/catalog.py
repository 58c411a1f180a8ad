"""The file catalog: size, mtime, sha256 and CRC-32 of every file of every property.

The catalog names the version of a file that a tracking event served. It is kept
current three ways, each idempotent on (property, path, size, mtime, sha256):

- ``file_version`` on every served file: when size, mtime and ctime match the
  catalog its hash is reused, otherwise the file is hashed now and stored, so an
  event never carries the hash of an older version;
- ``reconcile_path`` for paths the watcher (``gateway.watcher``) saw change;
- ``scan_all`` at start-up, a full pass that also forgets files that are gone.

The CRC-32 comes from the same read as the sha256: a zip member whose file is still
the catalogued version goes out by ``sendfile`` without being read (``known_crc32``).
Rows catalogued before the CRC existed get one at the next scan.

Scans walk what a contact's listing shows (``gateway.shares.listed_members``): names
hidden from contacts (OS junk, Office lock files, upload temporaries, dot files),
symbolic links and hard-linked files are not scanned, watched or hashed ahead; a
file served to an agent is still hashed when it is served.

Writes are upserts on the unique (property, path) pair, so several processes
watching one folder only ever write the same facts twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import zlib
from collections import OrderedDict
from pathlib import Path
from stat import S_ISDIR, S_ISREG

from gateway.config import Config
from gateway.db import database
from gateway.models import CatalogEntry
from gateway.shares import is_hidden_from_contacts, listed_members

HASH_CHUNK = 1024 * 1024
_MEMO_SIZE = 4096


@dataclasses.dataclass(frozen=True)
class Version:
    """One file version as seen on disk."""

    size: int
    mtime_ns: int
    ctime_ns: int
    sha256: str
    crc32: int | None = None

    def matches(self, stat: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns) == (
            stat.st_size,
            stat.st_mtime_ns,
            stat.st_ctime_ns,
        )


class _VersionMemo:
    """Per-process memo of recent versions, so a served file costs no query while
    its size, mtime and ctime are unchanged. Only a cache: the database stays the truth."""

    def __init__(self, capacity: int = _MEMO_SIZE):
        self._items: OrderedDict[tuple[str, str, str], Version] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str], stat: os.stat_result) -> Version | None:
        with self._lock:
            version = self._items.get(key)
            if version is None or not version.matches(stat):
                return None
            self._items.move_to_end(key)
            return version

    def put(self, key: tuple[str, str, str], version: Version) -> None:
        with self._lock:
            self._items[key] = version
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def forget(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._items.pop(key, None)


_memo = _VersionMemo()


def _file_path(config: Config, property_key: str, rel_path: str) -> Path:
    return config.properties_dir / property_key / rel_path


def hash_file(path: Path) -> Version | None:
    """Hash ``path`` (sha256 and CRC-32 in one read); None if it is gone or not a
    regular file. A file that changes while it is read is read again, so the hash
    belongs to the stat it is stored with."""
    for _ in range(3):
        try:
            before = os.stat(path)
            if not _is_regular(before):
                return None
            digest = hashlib.sha256()
            crc = 0
            with open(path, "rb") as fh:
                while chunk := fh.read(HASH_CHUNK):
                    digest.update(chunk)
                    crc = zlib.crc32(chunk, crc)
            after = os.stat(path)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        if (before.st_size, before.st_mtime_ns, before.st_ctime_ns, before.st_ino) == (
            after.st_size,
            after.st_mtime_ns,
            after.st_ctime_ns,
            after.st_ino,
        ):
            break
    return Version(after.st_size, after.st_mtime_ns, after.st_ctime_ns, digest.hexdigest(), crc)


def _is_regular(stat: os.stat_result) -> bool:
    return S_ISREG(stat.st_mode)


def _memo_key(config: Config, property_key: str, rel_path: str) -> tuple[str, str, str]:
    return (str(config.home), property_key, rel_path)


def _store(config: Config, property_key: str, rel_path: str, version: Version) -> None:
    with database.atomic():
        (
            CatalogEntry.insert(
                property=property_key,
                path=rel_path,
                size=version.size,
                mtime_ns=version.mtime_ns,
                ctime_ns=version.ctime_ns,
                sha256=version.sha256,
                crc32=version.crc32,
            )
            .on_conflict(
                conflict_target=[CatalogEntry.property, CatalogEntry.path],
                update={
                    CatalogEntry.size: version.size,
                    CatalogEntry.mtime_ns: version.mtime_ns,
                    CatalogEntry.ctime_ns: version.ctime_ns,
                    CatalogEntry.sha256: version.sha256,
                    CatalogEntry.crc32: version.crc32,
                },
            )
            .execute()
        )
    _memo.put(_memo_key(config, property_key, rel_path), version)


def record_written(
    config: Config, property_key: str, rel_path: str, sha256: str, crc32: int | None
) -> None:
    """Catalogue a file immoshare itself has just written and hashed while writing
    (an import), so it is not read a second time; its stat is taken now."""
    info = os.stat(_file_path(config, property_key, rel_path))
    _store(
        config,
        property_key,
        rel_path,
        Version(info.st_size, info.st_mtime_ns, info.st_ctime_ns, sha256, crc32),
    )


def _forget(config: Config, property_key: str, rel_path: str) -> int:
    """Remove the entry of ``rel_path`` and of everything below it (a folder)."""
    with database.atomic():
        removed = (
            CatalogEntry.delete()
            .where(
                (CatalogEntry.property == property_key)
                & ((CatalogEntry.path == rel_path) | CatalogEntry.path.startswith(rel_path + "/"))
            )
            .execute()
        )
    _memo.forget(_memo_key(config, property_key, rel_path))
    return removed


def file_version(
    config: Config, property_key: str, rel_path: str, stat: os.stat_result | None = None
) -> str | None:
    """The sha256 of the version of ``rel_path`` now on disk, or None if no such file.

    From the catalog when size, mtime and ctime match it (ctime changes on every
    write or replace, even one that keeps size and mtime, like ``cp -p``), else
    hashed now and stored.
    ``rel_path`` is relative to the property folder, ``/``-separated. ``stat`` is
    the caller's stat of the file it serves; if that version has been replaced
    meanwhile and was never catalogued, the answer is None rather than the hash of
    another version.
    """
    version = _version(config, property_key, rel_path, stat, with_crc=False)
    return None if version is None else version.sha256


def known_crc32(
    config: Config, property_key: str, rel_path: str, stat: os.stat_result
) -> int | None:
    """The CRC-32 of ``rel_path`` if ``stat`` is its catalogued version, else None.

    Never reads the file: a zip asks for each big member as it opens it, and reads
    (and CRCs) itself whatever the catalog cannot vouch for.
    """
    rel_path = rel_path.strip("/")
    key = _memo_key(config, property_key, rel_path)
    version = _memo.get(key, stat) or _stored(key, stat)
    return None if version is None else version.crc32


def _stored(key: tuple[str, str, str], stat: os.stat_result) -> Version | None:
    """The catalogued version of ``key`` if ``stat`` matches it (then memoised)."""
    _, property_key, rel_path = key
    entry = CatalogEntry.get_or_none(
        (CatalogEntry.property == property_key) & (CatalogEntry.path == rel_path)
    )
    if entry is None:
        return None
    stored = Version(entry.size, entry.mtime_ns, entry.ctime_ns, entry.sha256, entry.crc32)
    if not stored.matches(stat):
        return None
    _memo.put(key, stored)
    return stored


def _version(
    config: Config,
    property_key: str,
    rel_path: str,
    stat: os.stat_result | None,
    *,
    with_crc: bool,
) -> Version | None:
    """The version behind ``file_version``; ``with_crc`` treats a catalogued version
    without a CRC as unknown, so scans fill in rows from before the CRC."""
    rel_path = rel_path.strip("/")
    if not rel_path:
        return None
    key = _memo_key(config, property_key, rel_path)
    if stat is not None:
        known = _memo.get(key, stat)  # the hot path of every download: no Path built
        if known is not None and (known.crc32 is not None or not with_crc):
            return known
    path = _file_path(config, property_key, rel_path)
    if stat is None:
        try:
            stat = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
    if not _is_regular(stat):
        return None
    known = _memo.get(key, stat) or _stored(key, stat)
    if known is not None and (known.crc32 is not None or not with_crc):
        return known
    version = hash_file(path)
    if version is None:
        return None
    _store(config, property_key, rel_path, version)
    if not version.matches(stat):
        return None  # the version the caller served is no longer on disk
    return version


def reconcile_path(config: Config, property_key: str, rel_path: str) -> None:
    """Bring the catalog in line with ``rel_path`` of a property: a changed file is
    hashed, a vanished file or folder forgotten, a folder walked."""
    rel_path = rel_path.strip("/")
    path = (
        _file_path(config, property_key, rel_path)
        if rel_path
        else (config.properties_dir / property_key)
    )
    if path.is_dir() and not path.is_symlink():
        _reconcile_folder(config, property_key, rel_path)
    elif path.is_file() and not path.is_symlink():
        if rel_path and not is_hidden_from_contacts(path.name):
            _version(config, property_key, rel_path, None, with_crc=True)
    elif rel_path:
        _forget(config, property_key, rel_path)
    else:
        with database.atomic():
            CatalogEntry.delete().where(CatalogEntry.property == property_key).execute()


def _walk_files(folder: Path):
    """Every file below ``folder`` that a contact's listing shows (``listed_members``):
    no symbolic link is followed, hard-linked files and hidden names are left out."""
    pending = [str(folder)]
    while pending:
        try:
            members = list(listed_members(pending.pop(), is_hidden_from_contacts))
        except OSError:
            continue  # gone meanwhile, or not a folder
        for entry, info in members:
            if S_ISDIR(info.st_mode):
                pending.append(entry.path)
            else:
                yield Path(entry.path)


def _reconcile_folder(config: Config, property_key: str, rel_path: str) -> None:
    root = config.properties_dir / property_key
    folder = root / rel_path if rel_path else root
    seen = set()
    for file in _walk_files(folder):
        relative = file.relative_to(root).as_posix()
        seen.add(relative)
        _version(config, property_key, relative, None, with_crc=True)
    query = CatalogEntry.select(CatalogEntry.path).where(CatalogEntry.property == property_key)
    if rel_path:
        query = query.where(CatalogEntry.path.startswith(rel_path + "/"))
    gone = [entry.path for entry in query if entry.path not in seen]
    for relative in gone:
        _forget(config, property_key, relative)


def property_folders(config: Config) -> list[str]:
    """Names of the property folders under ``properties/``."""
    try:
        return sorted(
            entry.name
            for entry in os.scandir(config.properties_dir)
            if entry.is_dir(follow_symlinks=False) and not is_hidden_from_contacts(entry.name)
        )
    except FileNotFoundError:
        return []


def scan_all(config: Config) -> int:
    """Full reconcile of every property folder; returns how many files are catalogued.
    Entries of property folders that no longer exist are forgotten too."""
    keys = property_folders(config)
    for key in keys:
        reconcile_path(config, key, "")
    with database.atomic():
        CatalogEntry.delete().where(CatalogEntry.property.not_in(keys)).execute()
    return CatalogEntry.select().count()


def catalog_entries(property_key: str) -> list[CatalogEntry]:
    """The catalogued files of a property, by path (for search and reports)."""
    return list(
        CatalogEntry.select()
        .where(CatalogEntry.property == property_key)
        .order_by(CatalogEntry.path)
    )


@dataclasses.dataclass(frozen=True)
class CatalogDrift:
    """How far the catalog of one property is from its folder right now."""

    uncatalogued: int  # files on disk the catalog does not know
    vanished: int  # catalogued files no longer on disk
    changed: int  # files whose size or modification time differ from the catalog

    @property
    def total(self) -> int:
        return self.uncatalogued + self.vanished + self.changed


def catalog_drift(config: Config, property_key: str) -> CatalogDrift:
    """Compare the catalog of ``property_key`` with a walk of its folder, by size
    and modification time (nothing is hashed, nothing stored)."""
    root = config.properties_dir / property_key
    on_disk = {}
    for file in _walk_files(root):
        try:
            stat = os.stat(file)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if _is_regular(stat):
            on_disk[file.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    catalogued = {
        entry.path: (entry.size, entry.mtime_ns)
        for entry in CatalogEntry.select(
            CatalogEntry.path, CatalogEntry.size, CatalogEntry.mtime_ns
        ).where(CatalogEntry.property == property_key)
    }
    both = on_disk.keys() & catalogued.keys()
    return CatalogDrift(
        uncatalogued=len(on_disk.keys() - catalogued.keys()),
        vanished=len(catalogued.keys() - on_disk.keys()),
        changed=sum(1 for path in both if on_disk[path] != catalogued[path]),
    )
