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
import fcntl
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
#: append is one transaction with a few queries; one event per transaction cost about
#: 0.45 ms of CPU, a batch of ten 0.1 ms per event (issue 6). Events are journaled
#: before this wait, and ``flush`` cuts it short.
LINGER_SECONDS = 0.02
ROTATE_BYTES = 1024 * 1024
RETRY_SECONDS = (0.1, 0.5, 2.0, 5.0)

Append = Callable[[list[dict]], int]


class _Segment:
    """One journal file, open for appending and locked by this process."""

    def __init__(self, path: Path):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.size = 0
        self.writers = 0  # request threads writing to it now: it stays open until 0

    def write(self, data: bytes) -> None:
        """One ``os.write`` on the O_APPEND descriptor: lines of concurrent writers
        never interleave, so callers need no lock around it."""
        try:
            os.write(self.fd, data)
        except OSError:  # a full disk must not stop serving; the queue still has it
            log.exception("tracking: journal write failed")

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        finally:
            if not self.writers:  # a late writer at shutdown keeps it until exit
                os.close(self.fd)

    def close(self) -> None:
        os.close(self.fd)


def _line(row: dict, final: bool) -> bytes:
    return (
        json.dumps({"final": final, "event": row}, ensure_ascii=False, separators=(",", ":")) + "\n"
    ).encode()


class Recorder:
    """Journal plus writer thread for one process (see the module docstring)."""

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
        self._lock = threading.Lock()  # journal descriptor and the counters below
        self._changed = threading.Condition(self._lock)
        self._segment: _Segment | None = None
        self._sealed: list[tuple[_Segment, int]] = []  # (file, events enqueued before it)
        self._open: dict[str, tuple[dict, Callable[[], int] | None]] = {}
        self._queue: collections.deque[dict] = collections.deque()
        self._enqueued = 0
        self._committed = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- life cycle

    def start(self) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        replay_dead_journals(self._folder, self._append)
        self._segment = self._new_segment()
        self._thread = threading.Thread(target=self._run, name="immoshare-tracking", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Drain the queue, append events begun but not finished (with the bytes
        sent so far), and remove the journal files once all is stored."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            unfinished = [
                dict(row, bytes=_progress(row, progress)) for row, progress in self._open.values()
            ]
            self._open.clear()
            segments = [segment for segment, _ in self._sealed] + [self._segment]
            self._sealed, self._segment = [], None
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

    # -- called by request threads

    # The lock is never held across a system call: ``os.write`` lets go of the GIL,
    # and a thread holding the lock while it waits to get the GIL back stalls every
    # request thread behind it (issue 6: half of the samples of a 4 KiB GET load).

    def begin(self, row: dict, progress: Callable[[], int] | None = None) -> None:
        line = _line(row, final=False)
        with self._lock:
            segment = self._claim(len(line))
            if segment is None:
                return
            # Registered before the write: a rotation meanwhile journals it anew.
            self._open[row["uid"]] = (row, progress)
        segment.write(line)
        with self._lock:
            segment.writers -= 1

    def finish(self, row: dict) -> bool:
        """Journal and queue a finished event; False once the recorder is stopped."""
        line = _line(row, final=True)
        with self._lock:
            segment = None if self._stopping else self._claim(len(line))
            if segment is None:
                return False
        segment.write(line)  # in the journal before the writer thread can store it
        with self._changed:
            segment.writers -= 1
            if segment is not self._segment and self._segment is not None:
                self._segment.write(line)  # rotated meanwhile: the old file may go first
            self._open.pop(row["uid"], None)
            self._queue.append(row)
            self._enqueued += 1
            if len(self._queue) == 1 or len(self._queue) >= self._batch:
                self._changed.notify_all()  # the writer waits for the first or a full batch
        return True

    def _claim(self, size: int) -> _Segment | None:
        """With the lock held: the current journal file, kept open for one write."""
        segment = self._segment
        if segment is not None:
            segment.writers += 1
            segment.size += size
        return segment

    def flush(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            target = self._enqueued
            self._flushing += 1
            self._changed.notify_all()
            try:
                while self._committed < target:
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
                while not self._queue and not self._stopping:
                    self._changed.wait()
                if not self._queue:
                    return
                self._linger_for_more()
                batch = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
            try:
                self._append_with_retry(batch)
            except Exception:  # noqa: BLE001 - stopping; stop() retries with the rest
                with self._lock:
                    self._queue.extendleft(reversed(batch))
                return
            with self._changed:
                self._committed += len(batch)
                self._changed.notify_all()
            self._rotate_if_large()

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
        with self._lock:
            if self._segment is not None and self._segment.size > self._rotate_bytes:
                old, self._segment = self._segment, self._new_segment()
                for row, _ in self._open.values():
                    self._segment.write(_line(row, final=False))
                self._sealed.append((old, self._enqueued))
            done = [s for s, n in self._sealed if n <= self._committed and not s.writers]
            self._sealed = [(s, n) for s, n in self._sealed if s not in done]
        for segment in done:
            segment.remove()

    def _new_segment(self) -> _Segment:
        self._sequence += 1
        return _Segment(self._folder / f"{self._name}.{self._sequence}{SUFFIX}")

    def journal_files(self) -> list[Path]:
        with self._lock:
            return [s.path for s, _ in self._sealed] + (
                [self._segment.path] if self._segment else []
            )


def _progress(row: dict, progress: Callable[[], int] | None) -> int:
    try:
        return int(progress()) if progress is not None else row["bytes"]
    except Exception:  # noqa: BLE001 - a best effort at shutdown
        return row["bytes"]


def read_journal(path: Path) -> list[dict]:
    """The events of a journal file in order, each uid once, the finished version
    where there is one. A torn last line (the process died mid-write) is skipped."""
    events: dict[str, dict] = {}
    finished: set[str] = set()
    with open(path, "rb") as fh:
        for raw in fh:
            try:
                entry = json.loads(raw)
                row, final = entry["event"], bool(entry["final"])
                uid = row["uid"]
            except (ValueError, KeyError, TypeError):
                continue
            if final or uid not in finished:
                events[uid] = row
            if final:
                finished.add(uid)
    return list(events.values())


def replay_dead_journals(folder: Path, append: Append) -> int:
    """Append the events of every journal in ``folder`` whose process is gone, then
    remove it. Journals of live processes are locked and left alone."""
    if not folder.is_dir():
        return 0
    added = 0
    for path in sorted(folder.glob("*" + SUFFIX)):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is alive
            if os.fstat(fd).st_nlink == 0:
                continue  # replayed and removed by another process meanwhile
            rows = read_journal(path)
            for start in range(0, len(rows), BATCH):
                added += append(rows[start : start + BATCH])
            os.unlink(path)
            if rows:
                log.warning("tracking: recovered %d event(s) from %s", len(rows), path.name)
        finally:
            os.close(fd)
    return added
