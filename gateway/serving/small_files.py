"""Small files served from memory while their ``stat`` says they are unchanged: the
memory of file bytes that the lean WebDAV GET and the contact page's file path share.

Serving a 4 KiB file from disk takes four system calls: the confined open, its
``fstat``, the ``pread`` and the ``close``, and each one lets go of the GIL, which
under a load of small downloads costs more than the call itself. :class:`SmallFiles`
keeps the bytes of small files it has read, and answers the next request for the same
path with one ``stat``: only if that file is still the very one read (same device,
inode, link count, size, and change and modification times to the nanosecond) are
the kept bytes served.

Why that is as safe as opening the file again:

- the bytes were read through :class:`~gateway.shares.ConfinedFiles`, so the path
  led to that inode inside the share without any symbolic link. If the path later
  leads elsewhere, ``stat`` sees another inode (or a folder, or a link) and the file
  is opened the confined way again;
- every write to a file, and every rename or link of it, sets its change time to
  the current time. A file is kept only once its change time is ``SETTLED_SECONDS``
  old, so a write in the same clock tick as the read cannot go unnoticed;
- a second hard link raises the link count, and hard-linked files are never served.

Grants, consent and tracking are checked per request before the file is looked up,
exactly as before.

Only on SQLite, i.e. one host (:func:`for_share`). Several gateway hosts share their
files over the network (NFS), where ``stat`` may answer from an attribute cache for
seconds while ``open`` asks the server again: there every file is opened.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time

from gateway.db import is_postgres
from gateway.shares import ConfinedFiles, is_served_file

#: Files up to this size are kept: they go out in one send with their headers.
MAX_FILE_BYTES = 64 * 1024
#: All kept bytes together; the oldest entries make room.
MAX_TOTAL_BYTES = 16 * 1024 * 1024
#: A file changed more recently than this is read from disk and not kept.
SETTLED_SECONDS = 2.0


def _identity(info: os.stat_result) -> tuple:
    return (
        info.st_dev,
        info.st_ino,
        info.st_mode,
        info.st_nlink,
        info.st_size,
        info.st_mtime_ns,
        info.st_ctime_ns,
    )


@dataclasses.dataclass
class OpenedFile:
    """A regular file with one link, found below a share: its ``lstat``/``fstat``
    and either its kept bytes or an open descriptor (which the user closes)."""

    source: SmallFiles
    path: str
    info: os.stat_result
    fd: int | None = None
    data: bytes | None = None

    def read(self, start: int, length: int) -> bytes:
        """``length`` bytes from ``start``; fewer if the file shrank meanwhile."""
        return self.source.read(self, start, length)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class SmallFiles:
    """The files below one share root, opened confined or taken from memory."""

    def __init__(
        self,
        files: ConfinedFiles,
        *,
        max_file_bytes: int = MAX_FILE_BYTES,
        max_total_bytes: int = MAX_TOTAL_BYTES,
        settled_seconds: float = SETTLED_SECONDS,
        remember: bool = True,
    ):
        self.files = files
        self.remember = remember
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        self.settled_ns = int(settled_seconds * 1e9)
        # path -> (identity, bytes). Read without a lock (one dict lookup, atomic
        # under the GIL); changed under ``_lock``.
        self._kept: dict[str, tuple[tuple, bytes]] = {}
        self._total = 0
        self._lock = threading.Lock()

    def open(self, parts: list[str]) -> OpenedFile | None:
        """The regular, singly linked file at ``parts``; None when there is none, it
        is a folder, a link or hard-linked, or it lies outside the share."""
        path = os.path.join(self.files.real_root, *parts)
        kept = self._kept.get(path)
        if kept is not None:
            try:
                info = os.stat(path, follow_symlinks=False)
            except OSError:
                info = None
            if info is not None and _identity(info) == kept[0]:
                return OpenedFile(self, path, info, data=kept[1])
            self._forget(path)
        opened = self.files.open(parts)
        if opened is None:
            return None
        fd = opened[0]
        try:
            info = os.fstat(fd)
        except OSError:
            os.close(fd)
            return None
        if not is_served_file(info):
            os.close(fd)
            return None
        return OpenedFile(self, path, info, fd=fd)

    def read(self, opened: OpenedFile, start: int, length: int) -> bytes:
        """``length`` bytes from ``start`` (fewer if the file shrank meanwhile); a whole
        small, settled file read from disk is kept for the next request."""
        if opened.data is not None:
            return opened.data[start : start + length]
        data = os.pread(opened.fd, length, start)
        info = opened.info
        if (
            self.remember
            and start == 0
            and len(data) == info.st_size
            and info.st_size <= self.max_file_bytes
            and time.time_ns() - info.st_ctime_ns > self.settled_ns
        ):
            self._keep(opened.path, _identity(info), data)
        return data

    def _keep(self, path: str, identity: tuple, data: bytes) -> None:
        with self._lock:
            self._drop(path)
            while self._kept and self._total + len(data) > self.max_total_bytes:
                self._drop(next(iter(self._kept)))  # the oldest entry
            self._kept[path] = (identity, data)
            self._total += len(data)

    def _forget(self, path: str) -> None:
        with self._lock:
            self._drop(path)

    def _drop(self, path: str) -> None:
        kept = self._kept.pop(path, None)
        if kept is not None:
            self._total -= len(kept[1])


def for_share(real_root: str) -> SmallFiles:
    """The files below ``real_root``, small ones kept in memory on a single host
    (SQLite) only: see the module docstring."""
    return SmallFiles(ConfinedFiles(real_root), remember=not is_postgres())
