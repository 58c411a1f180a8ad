"""A stamp that changes whenever who-may-see-what changes, readable without a
system call by every process on the host (README, "Speed").

A WebDAV GET asks the database for the login, the grant and the consent; that query
lets go of the GIL several times, which under 16 connections cost more than the
rest of the request. Its answer can be reused while nothing it reads has changed.
Every process that uses the SQLite database maps the same 8 bytes next to the
database file; a process that commits a change to the access tables writes fresh
random bytes there (``AccessStampedSqliteDatabase`` in ``gateway.db``), and a
reader compares them with the bytes it saw when it queried. Random bytes, not a
counter: two processes that bump at once cannot write the same value back, so a
change is never hidden.

PostgreSQL serves processes on several hosts, which share no memory: there each
process keeps its own stamp, bumped by a notice (``gateway.access_notify``).
"""

from __future__ import annotations

import mmap
import os
import secrets
from pathlib import Path

SIZE = 8


class AccessStamp:
    """The shared stamp in ``path`` (created if missing)."""

    def __init__(self, path: Path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < SIZE:
                os.ftruncate(fd, SIZE)
            self._map = mmap.mmap(fd, SIZE)
        finally:
            os.close(fd)

    def current(self) -> bytes:
        return self._map[:SIZE]

    def bump(self) -> None:
        self._map[:SIZE] = secrets.token_bytes(SIZE)


class LocalStamp:
    """The stamp of a database only this process can see (``:memory:``)."""

    def __init__(self):
        self._value = b""

    def current(self) -> bytes:
        return self._value

    def bump(self) -> None:
        self._value = secrets.token_bytes(SIZE)
