"""WebDAV locks in a small SQLite file, so a LOCK taken through one worker of
``serve --workers N`` holds in all of them, without Redis (README, "Several cores").

The same storage interface and lock dictionaries as ``dav_provider.locks`` (Redis),
stored as JSON, one row per lock; a folder's child locks are found by a range of
``root`` (every path below ``/a/`` sorts between ``/a/`` and ``/a0``), so no
character of a folder name is pattern syntax. The file is the server's own,
made by the parent before it forks and removed when it stops: locks last as long as
the server, as they do in one process.

WsgiDAV checks a new lock against the existing ones and then stores it under its
lock manager's read-write lock, which only excludes the threads of one process.
:func:`share_between_processes` adds a POSIX record lock on a file beside the
database to it, so two LOCKs of one file through two workers cannot both pass the
check. The kernel releases a record lock when its process dies.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
import time
from pathlib import Path

from wsgidav import util
from wsgidav.lock_man.lock_manager import normalize_lock_root

from dav_provider.lock_records import (
    decode_lock,
    encode_lock,
    has_expired,
    new_lock,
    renew,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dav_lock (
    token TEXT PRIMARY KEY,
    root TEXT NOT NULL,
    expire REAL NOT NULL,
    lock TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dav_lock_root ON dav_lock (root);
"""


class SqliteLockStorage:
    """WsgiDAV lock storage (``lock_storage`` setting) in the SQLite file ``path``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()

    def __repr__(self):
        return f"{self.__class__.__name__}({self.path.name!r})"

    # -- WsgiDAV's storage interface -------------------------------------------------

    def open(self) -> None:
        self._db().executescript(_SCHEMA)

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def cleanup(self) -> None:
        self._db().execute("DELETE FROM dav_lock WHERE expire >= 0 AND expire < ?", (time.time(),))

    def clear(self) -> None:
        self._db().execute("DELETE FROM dav_lock")

    def get(self, token: str) -> dict | None:
        """The lock of ``token``, or None when unknown or expired."""
        row = self._db().execute("SELECT lock FROM dav_lock WHERE token = ?", (token,)).fetchone()
        if row is None:
            return None
        lock = decode_lock(row[0])
        if has_expired(lock):
            self.delete(token)
            return None
        return lock

    def create(self, path: str, lock: dict) -> dict:
        """Store a new lock on ``path``; adds ``root``, ``expire`` and ``token``."""
        new_lock(path, lock)
        root, token = lock["root"], lock["token"]
        self._db().execute(
            "INSERT INTO dav_lock (token, root, expire, lock) VALUES (?, ?, ?, ?)",
            (token, root, lock["expire"], encode_lock(lock)),
        )
        return lock

    def refresh(self, token: str, *, timeout: float) -> dict:
        """Extend a lock. :raises ValueError: the token is unknown or expired."""
        lock = self.get(token)
        if lock is None:
            raise ValueError(f"lock {token} not found")
        renew(lock, timeout)
        self._db().execute(
            "UPDATE dav_lock SET expire = ?, lock = ? WHERE token = ?",
            (lock["expire"], encode_lock(lock), token),
        )
        return lock

    def delete(self, token: str) -> bool:
        """Remove a lock; False when it did not exist."""
        return self._db().execute("DELETE FROM dav_lock WHERE token = ?", (token,)).rowcount > 0

    def get_lock_list(
        self, path: str, *, include_root: bool, include_children: bool, token_only: bool
    ) -> list:
        """Live locks directly on ``path`` and/or on paths below it."""
        assert util.is_str(path) and path.startswith("/")
        assert include_root or include_children
        root = normalize_lock_root(path)
        below = root.rstrip("/") + "/"
        clauses, params = [], []
        if include_root:
            clauses.append("root = ?")
            params.append(root)
        if include_children:
            clauses.append("(root >= ? AND root < ?)")
            params += [below, below[:-1] + "0"]
        now = time.time()
        rows = self._db().execute(
            f"SELECT token, lock FROM dav_lock WHERE ({' OR '.join(clauses)})"
            " AND (expire < 0 OR expire >= ?) ORDER BY rowid",
            (*params, now),
        )
        return [token if token_only else decode_lock(lock) for token, lock in rows]

    # -- connections --------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        """This thread's connection, in autocommit: every statement is its own
        transaction."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout = 10000")
            _use_wal(db)
            db.execute("PRAGMA synchronous = normal")
            self._local.db = db
        return db


def _use_wal(db: sqlite3.Connection) -> None:
    """Put the lock database into WAL mode once. Workers starting together all try;
    switching the mode is not covered by the busy timeout, so a worker that meets
    another one switching it waits briefly and looks again."""
    deadline = time.monotonic() + 10
    while db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            db.execute("PRAGMA journal_mode = wal")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class _ProcessSharedRWLock:
    """WsgiDAV's ``ReadWriteLock`` of one process, plus a POSIX record lock on
    ``path`` that the first holder in this process takes (shared for readers,
    exclusive for a writer) and the last one releases."""

    def __init__(self, inner, path: Path):
        self._inner = inner
        self._file = open(path, "a+b")  # noqa: SIM115  (held as long as the lock manager)
        self._mutex = threading.Lock()
        self._holders = 0

    def acquire_read(self, *, timeout=None):
        self._inner.acquire_read(timeout=timeout)
        self._enter(fcntl.LOCK_SH)

    def acquire_write(self, *, timeout=None):
        self._inner.acquire_write(timeout=timeout)
        self._enter(fcntl.LOCK_EX)

    def release(self):
        with self._mutex:
            self._holders -= 1
            if self._holders == 0:
                fcntl.lockf(self._file, fcntl.LOCK_UN)
        self._inner.release()

    def _enter(self, mode: int) -> None:
        # The inner lock admits either readers or one writer (who may also read), so
        # the first holder's mode is right for every holder until the count is 0.
        with self._mutex:
            if self._holders == 0:
                fcntl.lockf(self._file, mode)
            self._holders += 1


def share_between_processes(lock_manager, storage: SqliteLockStorage) -> None:
    """Make ``lock_manager``'s check-then-store exclusive between processes too."""
    lock_manager._lock = _ProcessSharedRWLock(
        lock_manager._lock, storage.path.with_name(storage.path.name + ".lock")
    )
