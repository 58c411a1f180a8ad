"""A deadline for receiving a request line and its headers: the defence against slowloris.

The server's socket timeout limits each read, so a client sending one header byte
per second would hold a worker thread for ever; enough such clients starve everyone
else. The server registers each connection while it reads a request's headers; a
watcher thread shuts down any that is still reading when its deadline passes, which
ends the blocked read and frees the worker. The thread runs only while something is
being watched, so idle servers (and stopped test servers) keep no thread.

Registering takes no lock: every request registers and unregisters, and a
lock held by a thread that is waiting for the GIL stalls all the others behind it
(with 200 downloads starting at once, each one in turn). Setting and popping a dict
item are atomic under the GIL; each registration has its own key, so the watcher
never confuses a connection's next request with the one whose deadline passed. The
lock is only taken to start or stop the watcher thread.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from contextlib import contextmanager

TICK_SECONDS = 0.25


class HeaderDeadline:
    """Shuts down sockets that take longer than ``seconds`` to send their headers."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._deadlines: dict[int, tuple[float, socket.socket]] = {}
        self._keys = itertools.count()  # next() is atomic: one key per registration
        self._lock = threading.Lock()  # starting and stopping the watcher only
        self._watcher: threading.Thread | None = None

    @contextmanager
    def watching(self, sock: socket.socket):
        """Watch ``sock`` for the duration of the block (reading one request's headers)."""
        key = next(self._keys)
        self._deadlines[key] = (time.monotonic() + self.seconds, sock)
        # Read after the entry is in: a watcher that saw no entries has already set
        # itself to None (see _watch), so this starts the next one.
        if self._watcher is None:
            self._start_watcher()
        try:
            yield
        finally:
            self._deadlines.pop(key, None)

    def _start_watcher(self) -> None:
        with self._lock:
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch, daemon=True, name="immoshare-header-deadline"
                )
                self._watcher.start()

    def _watch(self) -> None:
        while True:
            time.sleep(TICK_SECONDS)
            with self._lock:
                # None first, then look: an entry added after this look finds None
                # and starts a new watcher; one added before it keeps this one.
                me, self._watcher = self._watcher, None
                if not self._deadlines:
                    return
                self._watcher = me
            now = time.monotonic()
            for key, (deadline, sock) in self._deadlines.copy().items():
                if deadline <= now and self._deadlines.pop(key, None) is not None:
                    _cut(sock)


def _cut(sock: socket.socket) -> None:
    try:
        # The plain socket's shutdown, also for TLS sockets: ends the read blocked in
        # the worker without touching the TLS state it uses.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the client
