"""Database connections handed back between the chunks of a response.

On PostgreSQL the connections come from a bounded pool (``gateway.db``); a download
holds its worker thread for minutes, and with this wrapper it holds no connection
meanwhile. SQLite keeps its per-thread connections, so the composition root wraps the
site only when ``gateway.db.is_pooled()``.
"""

from __future__ import annotations

from gateway.db import database


def release_between_chunks(app):
    """Wrap a WSGI app to hand this thread's pooled connection back after the call,
    after each chunk of the body and after ``close()``.

    A download holds its worker thread for minutes; this way it holds no database
    connection meanwhile. Nothing is given back inside a transaction. Meant for pooled
    databases only: SQLite keeps its per-thread connections.
    """

    def app_releasing(environ, start_response):
        try:
            body = app(environ, start_response)
        finally:
            release_connection()
        return _ReleasingBody(body)

    return app_releasing


class _ReleasingBody:
    def __init__(self, body):
        self._body = body
        self._iterator = iter(body)

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._iterator)
        finally:
            release_connection()

    @property
    def sendfile_to(self):
        """The wrapped body's ``sendfile`` sender, handing the connection back after
        each slice as ``__next__`` does after each chunk; without it a pooled database
        would cost every download its ``sendfile``."""
        send = getattr(self._body, "sendfile_to", None)
        if send is None:
            return None
        return lambda sock: send(sock, after_slice=release_connection)

    def close(self):
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            release_connection()


def release_connection() -> None:
    """Hand this thread's pooled connection back, unless a transaction holds it."""
    if not database.is_closed() and not database.in_transaction():
        database.close()
