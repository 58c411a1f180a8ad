"""A deadline for receiving a request line and its headers: the defence against slowloris.

The server's socket timeout limits each read, so a client sending one header byte
per second would hold a worker thread for ever; enough such clients starve everyone
else. The server registers each connection while it reads a request's headers; a
watcher thread shuts down any that is still reading when its deadline passes, which
ends the blocked read and frees the worker. The thread runs only while something is
being watched, so idle servers (and stopped test servers) keep no thread.
"""

from __future__ import annotations

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
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    @contextmanager
    def watching(self, sock: socket.socket):
        """Watch ``sock`` for the duration of the block (reading one request's headers)."""
        key = id(sock)
        with self._lock:
            self._deadlines[key] = (time.monotonic() + self.seconds, sock)
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch, daemon=True, name="immoshare-header-deadline"
                )
                self._watcher.start()
        try:
            yield
        finally:
            with self._lock:
                self._deadlines.pop(key, None)

    def _watch(self) -> None:
        while True:
            time.sleep(TICK_SECONDS)
            now = time.monotonic()
            with self._lock:
                if not self._deadlines:
                    self._watcher = None
                    return
                expired = [k for k, (deadline, _) in self._deadlines.items() if deadline <= now]
                victims = [self._deadlines.pop(k)[1] for k in expired]
            for sock in victims:
                try:
                    # The plain socket's shutdown, also for TLS sockets: ends the read
                    # blocked in the worker without touching the TLS state it uses.
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by the client
