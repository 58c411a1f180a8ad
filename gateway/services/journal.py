"""The tracking journal and its writer thread: events survive a killed process, and
request threads never wait for the database.

Each server process appends one JSON line per event to its own journal file in
``journal/`` of the home, with a single ``os.write`` on an ``O_APPEND`` descriptor:
once that call returns the line is in the kernel's page cache and survives a
SIGKILL of the process (not a power cut). A body's event is journaled twice: when
its first byte is about to go out (``begin``) and when it ends (``finish``); only
finished events are queued for the database. One writer thread appends queued
events in batches through the ``append`` callable (``tracking.append_rows``).

The process holds an exclusive ``flock`` on each of its journal files. At start-up
(and from ``replay_dead_journals``) every journal whose lock can be taken belongs to
a process that is gone: its events, the finished version where there is one, are
appended (the unique ``uid`` makes a second replay harmless) and the file removed.

Files rotate: when the current one grows past ``rotate_bytes``, new lines go to a
fresh file that starts with the begun-but-unfinished events, and the old file is
removed once every event finished in it is in the database.
"""

from __future__ import annotations

import collections
import dataclasses
import fcntl
import itertools
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("immoshare.tracking")

SUFFIX = ".jsonl"
BATCH = 500
#: How long the writer waits for more events before appending a short batch. Each
#: append is one transaction with a few queries, about 0.8 ms of CPU whatever its size,
#: plus about 10 µs per event: under a load of small downloads a batch of 50 cost
#: 26 µs per event, one of 150 15 µs. Events are journaled before this wait, and
#: ``flush`` cuts it short.
LINGER_SECONDS = 0.05
ROTATE_BYTES = 1024 * 1024
SEALED_RECHECK_SECONDS = 1.0
RETRY_SECONDS = (0.1, 0.5, 2.0, 5.0)

Append = Callable[[list[dict]], int]


class _Segment:
    """One journal file, locked by this process for as long as it exists."""

    def __init__(self, path: Path):
        self.path = path
        # Locked before it has its name: a process replaying dead journals takes an
        # unlocked journal for a dead one, and two processes start at the same time.
        fresh = path.with_name(path.name + ".new")
        self.fd = os.open(fresh, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        os.rename(fresh, path)

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        finally:
            os.close(self.fd)

    def close(self) -> None:
        os.close(self.fd)


@dataclasses.dataclass
class _Sealed:
    """A journal file rotated away from, removed once every event finished in it is
    stored. ``finishing`` holds the request threads that were between their final
    line and the queue when it was sealed; ``stored_at`` (the count of stored
    events that covers them) is known once they are all through."""

    segment: _Segment
    finishing: set[int]
    stored_at: int | None = None


#: The journal's JSON encoder, made once: ``json.dumps`` with options builds a new one
#: per call, which cost more than encoding an event.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _line(row: dict, final: bool) -> bytes:
    return (_ENCODE({"final": final, "event": row}) + "\n").encode()


def _final_line(row: dict, begun: dict | None) -> bytes:
    """The final line of an event: only what changed since its first line (the
    bytes sent, whether complete) where that line was written by this recorder,
    else the whole event. Readers merge the two by uid (``_parse_lines``)."""
    if begun is None:
        return _line(row, final=True)
    changed = {name: value for name, value in row.items() if begun.get(name) != value}
    return (_ENCODE({"final": True, "uid": row["uid"], "changed": changed}) + "\n").encode()


class Recorder:
    """Journal plus writer thread for one process (see the module docstring).

    Request threads take no lock: under a load of small downloads, threads
    queueing on a lock that its holder kept while it waited for the GIL cost a third
    of the throughput. What they share is changed only by single operations that
    the GIL makes atomic (a dict or set item, a deque append, ``next`` of a counter),
    and they write to one descriptor number that rotation points at the new file
    with ``dup2``, so it is never closed under them.
    """

    def __init__(
        self,
        folder: Path,
        append: Append,
        *,
        batch: int = BATCH,
        rotate_bytes: int = ROTATE_BYTES,
        linger: float = LINGER_SECONDS,
    ):
        self._folder = folder
        self._append = append
        self._batch = batch
        self._linger = linger
        self._flushing = 0  # callers waiting in flush(): no lingering then
        self._rotate_bytes = rotate_bytes
        self._name = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._sequence = 0
        self._fd = -1  # the descriptor request threads write to: the current file
        self._written = 0  # bytes written since the last rotation (a hint: races lose some)
        self._current: _Segment | None = None
        self._sealed: list[_Sealed] = []
        self._open: dict[str, tuple[dict, Callable[[], int] | None]] = {}
        self._queue: collections.deque[dict] = collections.deque()
        self._writing: set[int] = set()  # request threads inside begin() or finish()
        self._tickets = itertools.count()
        self._lock = threading.Lock()  # the writer thread's state, flush() and stop()
        self._changed = threading.Condition(self._lock)
        self._idle = False  # the writer thread waits for a first event
        self._in_batch = 0
        self._stored = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- life cycle

    def start(self) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        replay_dead_journals(self._folder, self._append)
        self._current = self._new_segment()
        self._fd = os.dup(self._current.fd)
        self._thread = threading.Thread(target=self._run, name="immoshare-tracking", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Drain the queue, append events begun but not finished (with the bytes
        sent so far), and remove the journal files once all is stored."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        deadline = time.monotonic() + 5.0
        while self._writing and time.monotonic() < deadline:
            time.sleep(0.001)  # a request thread past the stopping check finishes its write
        if self._thread is not None:
            self._thread.join()
        unfinished = [
            dict(row, bytes=_progress(row, progress)) for row, progress in self._open.values()
        ]
        self._open.clear()
        segments = [sealed.segment for sealed in self._sealed] + [self._current]
        self._sealed, self._current = [], None
        os.close(self._fd)
        try:
            self._append_with_retry(list(self._queue) + unfinished, attempts=3)
        except Exception:  # noqa: BLE001 - keep the journal for the next start
            log.exception(
                "tracking: could not store the last events; the journal keeps "
                "them for the next start"
            )
            for segment in segments:
                segment.close()
            return
        for segment in segments:
            segment.remove()

    # -- called by request threads, without a lock

    def begin(self, row: dict, progress: Callable[[], int] | None = None) -> None:
        line = _line(row, final=False)
        ticket = next(self._tickets)
        self._writing.add(ticket)
        try:
            if self._stopping:
                return
            # Registered before the write: a rotation that starts after this copies
            # it into the new file; one that started before has moved the descriptor.
            self._open[row["uid"]] = (row, progress)
            self._write(line)
        finally:
            self._writing.discard(ticket)

    def finish(self, row: dict) -> bool:
        """Journal and queue a finished event; False once the recorder is stopped."""
        begun = self._open.get(row["uid"])
        line = _final_line(row, begun[0] if begun is not None else None)
        ticket = next(self._tickets)
        self._writing.add(ticket)
        try:
            if self._stopping:
                return False
            self._write(line)  # in the journal before the writer thread can store it
            self._open.pop(row["uid"], None)
            self._queue.append(row)
        finally:
            self._writing.discard(ticket)
        # The writer thread sets ``_idle`` before it looks at the queue, and this
        # thread appended before it looks at ``_idle``: one of the two sees the other.
        if self._idle or len(self._queue) >= self._batch:
            with self._changed:
                self._changed.notify_all()
        return True

    def _write(self, line: bytes) -> None:
        """One ``os.write`` on the O_APPEND descriptor: lines of concurrent writers
        never interleave."""
        try:
            os.write(self._fd, line)
        except OSError:  # a full disk must not stop serving; the queue still has it
            log.exception("tracking: journal write failed")
        self._written += len(line)

    def flush(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            target = self._stored + self._in_batch + len(self._queue)
            self._flushing += 1
            self._changed.notify_all()
            try:
                while self._stored < target:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._thread is None or not self._thread.is_alive():
                        return False
                    self._changed.wait(remaining)
            finally:
                self._flushing -= 1
        return True

    # -- the writer thread

    def _run(self) -> None:
        while True:
            with self._changed:
                self._idle = True
                while not self._queue and not self._stopping:
                    # a file sealed while a thread was only beginning waits for no event
                    self._changed.wait(SEALED_RECHECK_SECONDS if self._sealed else None)
                    self._remove_stored_segments()
                self._idle = False
                if not self._queue:
                    return
                self._linger_for_more()
                batch = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
                self._in_batch = len(batch)
            try:
                self._append_with_retry(batch)
            except Exception:  # noqa: BLE001 - stopping; stop() retries with the rest
                self._queue.extendleft(reversed(batch))
                return
            with self._changed:  # request threads never wait for this lock
                self._in_batch = 0
                self._stored += len(batch)
                self._rotate_if_large()
                self._remove_stored_segments()
                self._changed.notify_all()  # flush() returns with stored files gone

    def _linger_for_more(self) -> None:
        """With the lock held: wait up to ``linger`` seconds for a fuller batch."""
        deadline = time.monotonic() + self._linger
        while len(self._queue) < self._batch and not self._stopping and not self._flushing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._changed.wait(remaining)

    def _append_with_retry(self, rows: list[dict], attempts: int | None = None) -> None:
        """Append, retrying with back-off while the database fails; gives up after
        ``attempts`` tries, or once the recorder is stopping."""
        tries = 0
        for start in range(0, len(rows), self._batch):
            chunk = rows[start : start + self._batch]
            while True:
                try:
                    self._append(chunk)
                    break
                except Exception:
                    tries += 1
                    if (attempts is not None and tries >= attempts) or (
                        attempts is None and self._stopping
                    ):
                        raise
                    log.exception("tracking: appending %d event(s) failed; retrying", len(chunk))
                    time.sleep(RETRY_SECONDS[min(tries, len(RETRY_SECONDS)) - 1])

    def _rotate_if_large(self) -> None:
        """Point the descriptor at a fresh file, then copy into it the events begun
        and not finished: one registered later writes after the ``dup2``."""
        if self._written <= self._rotate_bytes:
            return
        old, self._current = self._current, self._new_segment()
        os.dup2(self._current.fd, self._fd)
        self._written = 0
        for row, _ in list(self._open.values()):
            os.write(self._current.fd, _line(row, final=False))
        self._sealed.append(_Sealed(old, set(self._writing)))

    def _remove_stored_segments(self) -> None:
        """Remove the sealed files whose finished events are all stored. Events are
        stored in the order they were queued, so once the threads that were still
        writing at the seal have queued theirs, the queue's end covers them all."""
        kept = []
        for sealed in self._sealed:
            if sealed.stored_at is None and not sealed.finishing & self._writing:
                sealed.stored_at = self._stored + len(self._queue)
            if sealed.stored_at is not None and sealed.stored_at <= self._stored:
                sealed.segment.remove()
            else:
                kept.append(sealed)
        self._sealed = kept

    def _new_segment(self) -> _Segment:
        self._sequence += 1
        return _Segment(self._folder / f"{self._name}.{self._sequence}{SUFFIX}")


def _progress(row: dict, progress: Callable[[], int] | None) -> int:
    try:
        return int(progress()) if progress is not None else row["bytes"]
    except Exception:  # noqa: BLE001 - a best effort at shutdown
        return row["bytes"]


def read_journal(*paths: Path) -> list[dict]:
    """The events of journal files in order, each uid once, the finished version
    where there is one in any of them (a rotation can leave an event's first line in
    the new file and its last in the old). A torn last line (the process died
    mid-write) is skipped."""
    return list(_read_entries(paths)[0].values())


def _read_entries(paths) -> tuple[dict[str, dict], set[str]]:
    """Events by uid (see ``read_journal``) and the uids that have a final line."""
    events: dict[str, dict] = {}
    finished: set[str] = set()
    changes: dict[str, dict] = {}
    for path in paths:
        with open(path, "rb") as fh:
            _parse_lines(fh, events, finished, changes)
    return events, finished


def _parse_lines(
    lines, events: dict[str, dict], finished: set[str], changes: dict[str, dict] | None = None
) -> None:
    """Read journal lines into ``events`` and ``finished``. A final line that holds
    only the changes (``_final_line``) is merged into its event's first line, which
    a rotation may have put into a later file: ``changes`` keeps it until then."""
    changes = {} if changes is None else changes
    for raw in lines:
        try:
            entry = json.loads(raw)
            final = bool(entry["final"])
            if "changed" in entry:
                uid, changed = entry["uid"], dict(entry["changed"])
                row = events.get(uid)
                if row is None or uid in finished:
                    changes[uid] = changed  # its first line comes later
                    continue
                row = {**row, **changed}
            else:
                row = entry["event"]
                uid = row["uid"]
                changed = changes.pop(uid, None)
                if changed is not None:
                    row, final = {**row, **changed}, True
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        if final or uid not in finished:
            events[uid] = row
        if final:
            finished.add(uid)


@dataclasses.dataclass(frozen=True)
class JournalFile:
    """One journal file as found on disk, for diagnosis (``immoshare doctor``)."""

    path: Path
    live: bool  # a running process holds its lock
    modified: float  # st_mtime: when its last line was written
    events: dict[str, dict]  # by uid, as ``read_journal`` reads them
    finished: frozenset[str]  # uids with a final line: due in the database


def journal_files(folder: Path) -> list[JournalFile]:
    """Every journal file in ``folder``, read without disturbing its writer: a
    shared lock that cannot be had means its process is alive."""
    found = []
    for path in sorted(folder.glob("*" + SUFFIX)) if folder.is_dir() else []:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # replayed or rotated away meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                live = False
            except BlockingIOError:
                live = True
            modified = os.fstat(fd).st_mtime
            events: dict[str, dict] = {}
            finished: set[str] = set()
            with os.fdopen(fd, "rb", closefd=False) as fh:
                _parse_lines(fh, events, finished)
        finally:
            os.close(fd)
        found.append(JournalFile(path, live, modified, events, frozenset(finished)))
    return found


def replay_dead_journals(folder: Path, append: Append) -> int:
    """Append the events of every journal in ``folder`` whose process is gone, read
    together, then remove them. Journals of live processes are locked and left alone."""
    if not folder.is_dir():
        return 0
    dead: dict[Path, int] = {}  # path -> descriptor holding its lock
    try:
        for path in sorted(folder.glob("*" + SUFFIX)):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # its process is alive
                continue
            if os.fstat(fd).st_nlink == 0:
                os.close(fd)  # replayed and removed by another process meanwhile
                continue
            dead[path] = fd
        rows = read_journal(*dead)
        added = 0
        for start in range(0, len(rows), BATCH):
            added += append(rows[start : start + BATCH])
        for path in dead:
            os.unlink(path)
        if rows:
            log.warning(
                "tracking: recovered %d event(s) from %d journal file(s)", len(rows), len(dead)
            )
        return added
    finally:
        for fd in dead.values():
            os.close(fd)
