"""Keeps the file catalog current while the server runs: a watchdog ``Observer``
over ``properties/`` and one debounced worker thread.

The watcher is an optimisation, not the source of truth: ``catalog.file_version``
re-checks every served file anyway. The event handler only queues paths; the
worker first runs a full scan, then reconciles each queued path once no new
change for it has arrived for ``debounce`` seconds, so a file copied in many
writes is hashed once. Reconciling is idempotent, so several processes may watch
the same folder.

Caches of what a folder holds (the contact page's listing) subscribe with
``add_change_listener``: they hear of every change at once, not after the debounce,
and ``watching`` tells them whether a running watcher sees the folder at all. inotify
reports a write to the inode whoever makes it, so every process on the machine hears
of the changes made by the others; writes made on another NFS client are not seen.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from watchdog.events import (
    EVENT_TYPE_CLOSED_NO_WRITE,
    EVENT_TYPE_OPENED,
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from gateway.config import Config
from gateway.services import catalog
from gateway.shares import is_hidden_from_contacts

log = logging.getLogger("immoshare.catalog")

#: Reading a file (our own hashing included) is no change.
IGNORED_EVENTS = (EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE)
#: What the watcher subscribes to. Without opens and read-only closes the kernel does
#: not report every served file to the watcher thread (it took 5% of a busy
#: server's time for 4 KiB GETs). Attribute changes count: a new modification time
#: (``touch``, ``rsync -t``) or a second hard link changes what a contact sees.
WATCHED_EVENTS = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileAttribEvent,
    FileMovedEvent,
    FileDeletedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]


ChangeListener = Callable[[str], None]
_listeners: list[ChangeListener] = []
_running: list[CatalogWatcher] = []  # the watchers of this process that see changes now


def add_change_listener(listener: ChangeListener) -> None:
    """Call ``listener(absolute_path)`` for every change any watcher of this process
    sees, from the watcher's thread, before the catalog's debounce."""
    _listeners.append(listener)


def watching(path: str) -> bool:
    """True while a running watcher of this process sees every change below the
    absolute ``path``; a cache that trusts the watcher must check this first."""
    return any(watcher.sees(path) for watcher in tuple(_running))


def _tell_listeners(path: str) -> None:
    for listener in tuple(_listeners):
        try:
            listener(path)
        except Exception:  # noqa: BLE001 - a listener's bug must not stop the watcher
            log.exception("catalog: change listener failed for %s", path)


class _QueueingHandler(FileSystemEventHandler):
    def __init__(self, watcher: CatalogWatcher):
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in IGNORED_EVENTS:
            return
        if event.is_directory and event.event_type == "modified":
            return  # its entries report their own changes
        for path in (event.src_path, getattr(event, "dest_path", "")):
            if path:
                _tell_listeners(_text(path))
                self._watcher.queue_path(Path(_text(path)))


def _text(path: str | bytes) -> str:
    return path.decode(errors="surrogateescape") if isinstance(path, bytes) else path


class CatalogWatcher:
    """Watch ``properties/`` and reconcile the catalog (see the module docstring)."""

    def __init__(self, config: Config, *, debounce: float = 0.5):
        self._config = config
        self._root = config.properties_dir.resolve()
        self._debounce = debounce
        self._pending: dict[tuple[str, str], float] = {}
        self._changed = threading.Condition()
        self._stopping = False
        self._observer = None
        self._worker = threading.Thread(target=self._run, name="immoshare-catalog", daemon=True)

    def start(self) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        self._observer = Observer()
        self._observer.schedule(
            _QueueingHandler(self), str(self._root), recursive=True, event_filter=WATCHED_EVENTS
        )
        self._observer.daemon = True
        self._observer.start()  # the inotify watches exist once this returns
        _running.append(self)
        self._worker.start()

    def stop(self) -> None:
        if self in _running:
            _running.remove(self)
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._worker.is_alive():
            self._worker.join()

    def sees(self, path: str) -> bool:
        """``path`` is below the watched folder and no watchdog thread has died (an
        emitter stops, for example, when inotify runs out of watches)."""
        observer = self._observer
        root = str(self._root)
        return (
            (path == root or path.startswith(root + os.sep))
            and observer is not None
            and observer.is_alive()
            and all(emitter.is_alive() for emitter in observer.emitters)
        )

    def queue_path(self, path: Path) -> None:
        """Note a changed path; ignored outside a property or for hidden names."""
        try:
            parts = PurePosixPath(path.relative_to(self._root).as_posix()).parts
        except ValueError:
            return
        if not parts or any(is_hidden_from_contacts(p) for p in parts):
            return
        with self._changed:
            self._pending[(parts[0], "/".join(parts[1:]))] = time.monotonic()
            self._changed.notify_all()

    def _run(self) -> None:
        try:
            count = catalog.scan_all(self._config)
            log.info("catalog: %d file(s) after the start-up scan", count)
        except Exception:  # noqa: BLE001 - served files are still checked one by one
            log.exception("catalog: start-up scan failed")
        while True:
            due = self._next_due()
            if due is None:
                return
            for key, rel_path in due:
                try:
                    catalog.reconcile_path(self._config, key, rel_path)
                except Exception:  # noqa: BLE001 - the next change or start retries
                    log.exception("catalog: reconciling %s/%s failed", key, rel_path)

    def _next_due(self) -> list[tuple[str, str]] | None:
        """Wait for paths that have been quiet for ``debounce``; None when stopping."""
        with self._changed:
            while True:
                if self._stopping:
                    return None
                now = time.monotonic()
                due = [p for p, seen in self._pending.items() if now - seen >= self._debounce]
                if due:
                    for path in due:
                        del self._pending[path]
                    return due
                if self._pending:
                    oldest = min(self._pending.values())
                    self._changed.wait(max(self._debounce - (now - oldest), 0.01))
                else:
                    self._changed.wait()
