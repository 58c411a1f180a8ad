"""Counting what actually goes out: a response-body wrapper that finalises on close().

The server (cheroot) calls ``close()`` on normal completion, on a client hang-up and
on a stalled reader's timeout, so this is where an access is judged complete or not.
A chunk counts as sent once the server comes back for the next one (or the body
ends): it has been handed to the socket by then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


class CountingBody:
    """Wraps a WSGI body; calls ``on_close(sent, exhausted)`` exactly once."""

    def __init__(self, body: Iterable[bytes], on_close: Callable[[int, bool], None],
                 on_first_chunk: Callable[[], None] | None = None):
        self._body = body
        self._iterator = iter(body)
        self._on_close = on_close
        self._on_first_chunk = on_first_chunk
        self._pending = 0
        self.sent = 0
        self.exhausted = False
        self._closed = False

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        self.sent += self._pending
        self._pending = 0
        try:
            chunk = next(self._iterator)
        except StopIteration:
            self.exhausted = True
            raise
        if self._on_first_chunk is not None:
            first, self._on_first_chunk = self._on_first_chunk, None
            first()
        self._pending = len(chunk)
        return chunk

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
            self._on_close(self.sent, self.exhausted)
