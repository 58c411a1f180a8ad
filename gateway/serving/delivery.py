"""Counting what actually goes out: a response-body wrapper that finalises on close().

The server (cheroot) calls ``close()`` on normal completion, on a client hang-up and
on a stalled reader's timeout, so this is where an access is judged complete or not.
A chunk counts as sent once the server comes back for the next one (or the body
ends): it has been handed to the socket by then. "Sent" is what the kernel took,
so a client that hangs up mid-file may be credited up to a socket buffer more than
it received.

``tracked_body`` wires a body to the tracking service, the one way every tracked
transfer (WebDAV GET, web download, zip) is counted: the event is journaled before
its first byte goes out and recorded with the bytes sent on close.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import socket
import time
from collections.abc import Callable, Iterable

from gateway.services import tracking

log = logging.getLogger("immoshare.tracking")


#: Files up to this size are read in one piece; larger ones stream in blocks this big.
BIG_BLOCK = 1024 * 1024

#: The most one ``sendfile`` call moves, so that counting and ``still_allowed`` keep
#: their pace on a fast link.
SENDFILE_SLICE = 8 * 1024 * 1024

#: How often a running transfer asks ``still_allowed``: a revoke stops a running
#: download within a second (README, "Security").
RECHECK_SECONDS = 0.5


class AccessRevoked(ConnectionAbortedError):
    """Ends a transfer whose access was revoked. A connection error, so the server
    drops the connection quietly and the client sees a cut, not a short "complete"."""

    def __init__(self):
        super().__init__(errno.ECONNABORTED, "access revoked during the transfer")


class CountingBody:
    """Wraps a WSGI body; calls ``on_close(sent, exhausted)`` exactly once.

    ``on_first_chunk()`` runs once the first chunk is in hand, before the server
    sends it. Neither callback may break serving: their errors are logged.
    ``still_allowed()``, if given, is asked every :data:`RECHECK_SECONDS` while the
    body runs; once it says no, the transfer ends with :class:`AccessRevoked`.
    """

    def __init__(
        self,
        body: Iterable[bytes],
        on_close: Callable[[int, bool], None],
        on_first_chunk: Callable[[], None] | None = None,
        *,
        still_allowed: Callable[[], bool] | None = None,
    ):
        self._body = body
        self._iterator = iter(body)
        self._on_close = on_close
        self._on_first_chunk = on_first_chunk
        self._still_allowed = still_allowed
        self._next_check = time.monotonic() + RECHECK_SECONDS
        self._pending = 0
        self.sent = 0
        self.exhausted = False
        self._closed = False

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        self.sent += self._pending
        self._pending = 0
        self._check_allowed()
        try:
            chunk = next(self._iterator)
        except StopIteration:
            self.exhausted = True
            raise
        self._first_chunk()
        self._pending = len(chunk)
        return chunk

    @property
    def sendfile_to(self) -> Callable | None:
        """``send(sock, after_slice=None)`` when the body is a file that can go out by
        ``sendfile``, counted the same way; else None. ``after_slice()`` runs after each
        slice, as a wrapper's work runs after each chunk of the plain loop."""
        return self._send_file if hasattr(self._body, "send_some") else None

    def _send_file(self, sock, after_slice: Callable[[], None] | None = None) -> None:
        self._first_chunk()
        while True:
            self._check_allowed()
            sent = self._body.send_some(sock, SENDFILE_SLICE)
            if after_slice is not None:
                after_slice()
            if not sent:
                self.exhausted = True
                return
            self.sent += sent

    def _check_allowed(self) -> None:
        if self._still_allowed is not None and time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + RECHECK_SECONDS
            if not self._still_allowed():
                raise AccessRevoked()

    def _first_chunk(self) -> None:
        if self._on_first_chunk is not None:
            first, self._on_first_chunk = self._on_first_chunk, None
            _quietly(first)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.exhausted:
            self.sent += self._pending
            self._pending = 0
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            _quietly(self._on_close, self.sent, self.exhausted)


class FileShrank(ConnectionAbortedError):
    """Ends a transfer whose file got shorter while it was sent (truncated in place):
    the Content-Length promised more, so the connection must be dropped rather
    than kept for a next request that would read as the rest of this body."""

    def __init__(self):
        super().__init__(errno.ECONNABORTED, "the file got shorter during the transfer")


class FileBlocks:
    """A file's bytes (or one range of them) in blocks read with ``pread``; closes
    the descriptor at the end or on ``close()`` (a client that hangs up)."""

    def __init__(self, fd: int, start: int, length: int, block: int):
        self._fd = fd
        self._offset = start
        self._left = length
        self._block = block

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        if self._left <= 0 or self._fd < 0:
            self.close()
            raise StopIteration
        chunk = os.pread(self._fd, min(self._block, self._left), self._offset)
        if not chunk:
            self.close()
            raise FileShrank()
        self._offset += len(chunk)
        self._left -= len(chunk)
        return chunk

    def send_some(self, sock: socket.socket, limit: int) -> int:
        """Send up to ``limit`` of the bytes left straight from the file to ``sock``
        (``os.sendfile``, no copy in user space); the bytes sent, 0 at the end.
        Waits for the socket as long as its timeout allows."""
        if self._left <= 0 or self._fd < 0:
            return 0
        while True:
            try:
                sent = os.sendfile(sock.fileno(), self._fd, self._offset, min(limit, self._left))
            except BlockingIOError:  # cheroot's sockets have a timeout, so are non-blocking
                _wait_writable(sock)
                continue
            if not sent:
                raise FileShrank()
            self._offset += sent
            self._left -= sent
            return sent

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


def _wait_writable(sock: socket.socket) -> None:
    timeout = sock.gettimeout()
    poller = select.poll()
    poller.register(sock, select.POLLOUT)
    if not poller.poll(None if timeout is None else timeout * 1000):
        raise TimeoutError("timed out sending a file")


def _quietly(callback: Callable, *args) -> None:
    try:
        callback(*args)
    except Exception:  # noqa: BLE001 - tracking must never break a response
        log.exception("tracking callback failed")


def tracked_body(
    body: Iterable[bytes],
    event: tracking.Event | Callable[[], tracking.Event | None],
    *,
    settle: Callable[[int, bool], None] | None = None,
    still_allowed: Callable[[], bool] | None = None,
) -> CountingBody:
    """Count ``body`` as the transfer of ``event`` (with ``size`` and, for a 206,
    ``range_start`` set).

    Before the first byte: ``begin_event`` (journaled, survives a kill). On close:
    ``bytes`` and ``complete`` by ``tracking.settle_transfer`` (complete only when
    the whole file went out), then ``record_event``.

    ``event`` may be a function that returns the event, or None for nothing to
    record, when asked at the first chunk and on close: WebDAV learns the status and
    range only as the body starts. ``settle(sent, exhausted)`` runs on close after
    the event is recorded, for what else the transfer did (a zip's members).
    """
    counting: CountingBody | None = None

    def first_chunk() -> None:
        current = event() if callable(event) else event
        if current is not None:
            tracking.begin_event(current, progress=lambda: counting.sent)

    def finished(sent: int, exhausted: bool) -> None:
        current = event() if callable(event) else event
        if current is not None:
            tracking.settle_transfer(current, sent, exhausted=exhausted)
            tracking.record_event(current)
        if settle is not None:
            settle(sent, exhausted)

    counting = CountingBody(body, finished, first_chunk, still_allowed=still_allowed)
    return counting
