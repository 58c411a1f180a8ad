"""Served versions: every file version that went out to a contact is kept, named by
its sha256, in ``HOME/evidence/ab/abcdef…``, so that ``immoshare evidence get`` can
show months later exactly what a contact received, even after the agent replaced or
deleted the file (README, "Evidence").

**A copy, not a hard link.** The shares serve only files with one link
(``gateway.shares.is_served_file``: a second link may be a file outside every
property): a link into the evidence store would hide the file from contacts and
change its ctime, which makes the catalog hash it again. So each version is copied
once, off the serving path:

- :func:`keep` is called when a version starts going out: by ``tracking`` for every
  contact's ``open`` or ``download`` event (web, WebDAV and their lean paths), and by
  the zip for each member as its turn comes (its events are recorded only when the
  zip ends). For a version this process kept this year it is one dict lookup; else
  the version is queued (no system call on the serving path).
- One background thread copies each queued version into a temporary file, hashing
  as it goes, and renames it into place under its digest. A copy whose bytes are not
  the version served (the file changed before it was copied) is dropped: a digest
  always names exactly its bytes. An unchanged file is stored once, however often it
  is served.
- :func:`before_change`: the agent's changes through the gateway (WebDAV PUT, COPY or
  MOVE onto a file, MOVE away, DELETE to the trash) first finish a pending copy of
  that file on their own thread, so an overwrite right after a download never loses
  the version. A change made directly on disk within milliseconds of a serve can.

**Retention.** A kept file's modification time is its last serve (renewed once a
year per version and process); :func:`prune` deletes versions whose last serve lies
more than ``evidence_retention_years`` after the end of its year.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import errno
import hashlib
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from gateway.clock import utc_now
from gateway.config import Config
from gateway.errors import InvalidInput, NotFound
from gateway.shares import confine, is_served_file, split_share_path

log = logging.getLogger("immoshare.evidence")

EVIDENCE_FOLDER = "evidence"
_DIGEST = re.compile(r"[0-9a-f]{64}")
_TEMP_PREFIX = ".keeping-"
_BLOCK = 1024 * 1024
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
#: How long a change waits for the background thread to finish the copy it is making.
CHANGE_WAIT_SECONDS = 120.0
#: Versions a process remembers as kept; beyond, it forgets them all and asks the
#: disk again (one ``utime`` per version), so memory stays bounded.
MAX_REMEMBERED = 200_000


def evidence_folder(config: Config) -> Path:
    return config.home / EVIDENCE_FOLDER


def parse_digest(text: str) -> str:
    """``text`` as a sha256 digest (64 hex digits, case ignored).

    :raises InvalidInput: anything else.
    """
    digest = text.strip().lower()
    if not _DIGEST.fullmatch(digest):
        raise InvalidInput(f"{text[:80]!r} is not a sha256 digest (64 hex digits)")
    return digest


def kept_path(folder: Path, digest: str) -> Path:
    """Where the version ``digest`` is kept: ``folder/ab/abcdef…``."""
    return folder / digest[:2] / digest


def kept_version(config: Config, digest: str) -> Path:
    """The kept copy of ``digest``.

    :raises InvalidInput: not a sha256 digest.
    :raises NotFound: no version with that digest was served (or it was pruned).
    """
    digest = parse_digest(digest)
    path = kept_path(evidence_folder(config), digest)
    if not path.is_file():
        raise NotFound(f"no served version with sha256 {digest} is kept")
    return path


def copy_out(config: Config, digest: str, out: Path) -> int:
    """Write the kept bytes of ``digest`` to ``out`` (a new file), checking that they
    still have that digest; returns their size.

    :raises InvalidInput: not a digest, ``out`` exists, or the kept copy is damaged.
    :raises NotFound: see :func:`kept_version`.
    """
    source = kept_version(config, digest)
    if out.exists() or out.is_symlink():
        raise InvalidInput(f"{out} exists — choose another file name")
    temporary = out.with_name(f".{out.name}.{secrets.token_hex(4)}.part")
    hasher = hashlib.sha256()
    size = 0
    try:
        with source.open("rb") as reader, temporary.open("xb") as writer:
            while block := reader.read(_BLOCK):
                hasher.update(block)
                writer.write(block)
                size += len(block)
        if hasher.hexdigest() != source.name:
            raise InvalidInput(f"the kept copy of {source.name} is damaged: its bytes changed")
        os.link(temporary, out)  # never replaces a file that appeared meanwhile
    except FileExistsError:
        raise InvalidInput(f"{out} exists — choose another file name") from None
    finally:
        temporary.unlink(missing_ok=True)
    return size


# ------------------------------------------------------------------------ keeping


@dataclasses.dataclass(frozen=True, slots=True)
class _Job:
    """One version to keep: the file, and what it was when served (its digest, or
    its stat identity, or both)."""

    property_key: str
    parts: tuple[str, ...]
    sha256: str | None
    identity: tuple | None


def _identity(info: os.stat_result) -> tuple:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class Keeper:
    """The queue of versions to keep and the thread that copies them, for one home."""

    def __init__(self, config: Config):
        self.root = os.path.realpath(config.properties_dir)
        self.folder = evidence_folder(config)
        #: digest -> the year this process last kept or renewed it.
        self.kept: dict[str, int] = {}
        #: stat identity -> digest, for versions named by their stat (zip members).
        self.identities: dict[tuple, str] = {}
        self._jobs: collections.deque[_Job] = collections.deque()
        self._queued: set[_Job] = set()  # the same jobs, for a lookup without a scan
        self._queued_digests: set[str] = set()  # one job per digest is enough
        self._working: _Job | None = None
        self._condition = threading.Condition()
        self._stopped = False
        self._year, self._year_ends = 0, 0.0
        self._thread = threading.Thread(target=self._run, name="immoshare-evidence", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Copy what is queued, then stop."""
        with self._condition:
            self._stopped = True
            self._condition.notify_all()
        self._thread.join(timeout)

    def year(self) -> int:
        now = time.time()
        if now >= self._year_ends:
            year = time.gmtime(now).tm_year
            self._year = year
            self._year_ends = datetime.datetime(year + 1, 1, 1, tzinfo=datetime.UTC).timestamp()
        return self._year

    def keep(
        self, property_key: str, path: str, sha256: str | None, info: os.stat_result | None
    ) -> None:
        year = self.year()
        if sha256 is not None and self.kept.get(sha256) == year:
            return
        identity = None if info is None else _identity(info)
        if sha256 is None:
            if identity is None:
                return
            known = self.identities.get(identity)
            if known is not None and self.kept.get(known) == year:
                return
        parts = split_share_path(path)
        if not parts:
            return
        job = _Job(property_key, tuple(parts), sha256, identity)
        with self._condition:
            if job in self._queued or job == self._working or sha256 in self._queued_digests:
                return
            self._jobs.append(job)
            self._queued.add(job)
            if sha256 is not None:
                self._queued_digests.add(sha256)
            self._condition.notify()

    def before_change(self, property_key: str, path: str) -> None:
        """Finish the pending copies of the file or folder ``path`` now, here, and
        wait for the one the background thread is making."""
        parts = tuple(split_share_path(path) or ())

        def concerned(job: _Job | None) -> bool:
            return (
                job is not None
                and job.property_key == property_key
                and job.parts[: len(parts)] == parts
            )

        with self._condition:
            mine = [job for job in self._jobs if concerned(job)]
            if mine:
                self._queued.difference_update(mine)
                self._queued_digests.difference_update(job.sha256 for job in mine)
                self._jobs = collections.deque(job for job in self._jobs if not concerned(job))
        for job in mine:
            self._keep_quietly(job)
        deadline = time.monotonic() + CHANGE_WAIT_SECONDS
        with self._condition:
            while concerned(self._working) and time.monotonic() < deadline:
                self._condition.wait(deadline - time.monotonic())

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every queued version is kept (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._jobs or self._working is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._condition.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._jobs and not self._stopped:
                    self._condition.wait()
                if not self._jobs:
                    return
                job = self._working = self._jobs.popleft()
                self._queued.discard(job)
                self._queued_digests.discard(job.sha256)
            try:
                self._keep_quietly(job)
            finally:
                with self._condition:
                    self._working = None
                    self._condition.notify_all()

    def _keep_quietly(self, job: _Job) -> None:
        try:
            self._keep(job)
        except Exception:  # noqa: BLE001 - keeping must never break serving
            log.exception("evidence: keeping %s/%s failed", job.property_key, "/".join(job.parts))

    def _keep(self, job: _Job) -> None:
        year = self.year()
        if job.sha256 is not None and self._renew(job.sha256, year):
            return
        source = confine(self.root, [job.property_key, *job.parts])
        if source is None:
            return
        try:
            fd = os.open(source, _OPEN_FLAGS)
        except OSError:
            self._lost(job, "it is gone")
            return
        try:
            before = os.fstat(fd)
            if not is_served_file(before):
                return
            if job.identity is not None and _identity(before) != job.identity:
                self._lost(job, "it changed")
                return
            if job.identity is not None and job.sha256 is None:
                known = self.identities.get(job.identity)
                if known is not None and self._renew(known, year):
                    return
            digest = self._copy(fd, before, job)
        finally:
            os.close(fd)
        if digest is not None:
            self._remember(digest, year, job.identity)

    def _remember(self, digest: str, year: int, identity: tuple | None = None) -> None:
        for memory in (self.kept, self.identities):
            if len(memory) >= MAX_REMEMBERED:
                memory.clear()
        self.kept[digest] = year
        if identity is not None:
            self.identities[identity] = digest

    def _renew(self, digest: str, year: int) -> bool:
        """True if ``digest`` is kept; its last serve is now."""
        path = kept_path(self.folder, digest)
        try:
            os.utime(path)
        except FileNotFoundError:
            return False
        self._remember(digest, year)
        return True

    def _copy(self, fd: int, before: os.stat_result, job: _Job) -> str | None:
        """Copy the open file into the store; its digest, or None when the bytes are
        not the version served. The copy is made by the kernel and then hashed, so
        the digest is that of the bytes stored."""
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"
        try:
            with temporary.open("xb") as writer:
                _copy_file(fd, writer.fileno(), before.st_size)
                os.fsync(writer.fileno())
            if _identity(os.fstat(fd)) != _identity(before):
                self._lost(job, "it changed while it was copied")
                return None
            with temporary.open("rb") as reader:
                digest = hashlib.file_digest(reader, "sha256").hexdigest()
            if job.sha256 is not None and digest != job.sha256:
                self._lost(job, "it changed before it could be copied")
                return None
            target = kept_path(self.folder, digest)
            if target.exists():
                os.utime(target)
                return digest
            target.parent.mkdir(exist_ok=True)
            os.chmod(temporary, 0o440)
            os.replace(temporary, target)
            return digest
        finally:
            temporary.unlink(missing_ok=True)

    def _lost(self, job: _Job, why: str) -> None:
        log.warning(
            "evidence: the served version of %s/%s (%s) was not kept: %s",
            job.property_key,
            "/".join(job.parts),
            job.sha256 or "hashed on copy",
            why,
        )


def _copy_file(source: int, target: int, size: int) -> None:
    """Copy ``size`` bytes of ``source`` (from its start) to ``target``, in the kernel
    where it can (``copy_file_range``), else through a buffer."""
    offset = 0
    try:
        while offset < size:
            copied = os.copy_file_range(source, target, size - offset, offset_src=offset)
            if not copied:
                return  # shorter than its stat said: the identity check tells
            offset += copied
        return
    except OSError as exc:
        if offset or exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    while block := os.pread(source, _BLOCK, offset):
        offset += len(block)
        view = memoryview(block)
        while view:
            view = view[os.write(target, view) :]


_keeper: Keeper | None = None
_keeper_lock = threading.Lock()
_keeper_users = 0


def start(config: Config) -> Keeper:
    """Start keeping served versions of this home (the server does, beside the
    tracking writer). Nested starts for the same home are counted."""
    global _keeper, _keeper_users
    with _keeper_lock:
        if _keeper is None:
            _keeper = Keeper(config)
            _keeper.start()
        elif _keeper.folder != evidence_folder(config):
            raise InvalidInput("served versions are already kept for another home")
        _keeper_users += 1
        return _keeper


def stop() -> None:
    global _keeper, _keeper_users
    with _keeper_lock:
        if _keeper is None:
            return
        _keeper_users -= 1
        if _keeper_users:
            return
        keeper, _keeper = _keeper, None
    keeper.stop()


def keep(
    property_key: str,
    path: str,
    sha256: str | None = None,
    stat: os.stat_result | None = None,
) -> None:
    """Keep the version of ``path`` (inside property ``property_key``) that is going
    out to a contact: named by its ``sha256``, or by its ``stat`` where the digest is
    not known yet. Never raises, never blocks; nothing while no server runs."""
    keeper = _keeper
    if keeper is not None:
        keeper.keep(property_key, path, sha256, stat)


def before_change(property_key: str, path: str) -> None:
    """The file or folder ``path`` of ``property_key`` is about to be replaced,
    moved or deleted: finish keeping its served versions first."""
    keeper = _keeper
    if keeper is not None:
        keeper.before_change(property_key, path)


def wait_idle(timeout: float = 30.0) -> bool:
    keeper = _keeper
    return True if keeper is None else keeper.wait_idle(timeout)


# ------------------------------------------------------------------------ retention


def expires_at(last_served: datetime.datetime, years: int) -> datetime.datetime:
    """When a version last served at ``last_served`` may go: ``years`` after the end
    of that year."""
    return datetime.datetime(last_served.year + years + 1, 1, 1, tzinfo=datetime.UTC)


def _kept_files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for bucket in sorted(folder.iterdir()):
        if bucket.is_dir() and len(bucket.name) == 2:
            for path in bucket.iterdir():
                if _DIGEST.fullmatch(path.name):
                    yield path


def prune(config: Config, years: int, now: datetime.datetime | None = None) -> list[str]:
    """Delete the kept versions whose retention ended; their digests. Also removes
    the temporary files of copies a killed process left behind."""
    now = now or utc_now()
    folder = evidence_folder(config)
    for stale in folder.glob(_TEMP_PREFIX + "*") if folder.is_dir() else ():
        if stale.stat().st_mtime < now.timestamp() - 24 * 3600:
            stale.unlink(missing_ok=True)
    pruned = []
    for path in _kept_files(folder):
        try:
            last = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC)
        except FileNotFoundError:
            continue
        if now >= expires_at(last, years):
            path.unlink(missing_ok=True)
            pruned.append(path.name)
    return pruned
