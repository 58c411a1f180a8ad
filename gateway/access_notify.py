"""The access stamp on PostgreSQL: a change to who may see what, broadcast by
``LISTEN``/``NOTIFY`` to every process on every host (README, "Scaling out").

On SQLite every process maps one stamp next to the database file
(``gateway.access_stamp``). Processes on PostgreSQL may share no host, so each keeps
its own stamp and a thread that listens on :data:`CHANNEL`:

- A transaction that changes an access table (``gateway.db.changes_access``) sends
  ``NOTIFY`` before its ``COMMIT``, so the notice goes out if and only if the change
  commits (``GatewayPostgresDatabase`` in ``gateway.db``).
- Each process's listener bumps its stamp on every notice and answers it on
  :data:`ACK_CHANNEL`. The committer waits until every connected listener has
  answered (at most :data:`ACK_TIMEOUT`): when a ``revoke`` returns, no process
  still reuses an answer from before it, so the next request is refused everywhere.
- While the listener is not connected the stamp reads ``None``: nothing is reused
  and every request asks the database. A fresh connection bumps the stamp, since
  notices sent meanwhile are lost.

``REUSE_SECONDS`` in ``gateway.services.access`` stays the backstop for what no
notice reports (a listener cut off without noticing, a hand edit in ``psql``); the
committer never waits longer than that, because after it every older answer is
gone anyway.
"""

from __future__ import annotations

import logging
import os
import secrets
import select
import threading
import time

log = logging.getLogger("immoshare.access")

CHANNEL = "immoshare_access"
ACK_CHANNEL = "immoshare_access_ack"
#: ``application_name`` of the listeners' connections: the committer counts them.
LISTENER_NAME = "immoshare-access-listener"
#: Longest wait of a committer for the listeners' answers, in seconds: the reuse
#: limit (``gateway.services.access.REUSE_SECONDS``), after which no answer from
#: before the commit is given again anyway.
ACK_TIMEOUT = 1.0
#: Seconds between checks that an idle listener's connection is still there.
KEEPALIVE_SECONDS = 10.0
#: Seconds before a lost listener connects again.
RECONNECT_SECONDS = 1.0
#: Longest a listener waits before it looks whether it was stopped.
STOP_CHECK_SECONDS = 1.0

_COUNT_LISTENERS = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND application_name = %s"
)


def new_token() -> str:
    return secrets.token_hex(8)


def announce_sql(token: str) -> str:
    """Statements that, run inside the committing transaction, send the notice and
    subscribe to its answers; both take effect at ``COMMIT`` (``token`` is hex)."""
    return f"LISTEN {ACK_CHANNEL}; NOTIFY {CHANNEL}, '{token}'"


def await_answers(conn, token: str, timeout: float = ACK_TIMEOUT) -> int:
    """After the commit that announced ``token`` on ``conn``: wait until every
    connected listener has answered it, or ``timeout``. Returns the answers missing."""
    cursor = conn.cursor()
    try:
        cursor.execute(_COUNT_LISTENERS, (LISTENER_NAME,))
        missing = cursor.fetchone()[0]
        deadline = time.monotonic() + timeout
        while True:
            missing -= _take(conn, ACK_CHANNEL, token)
            left = deadline - time.monotonic()
            if missing <= 0 or left <= 0:
                break
            if _readable(conn, left):
                conn.poll()
        cursor.execute(f"UNLISTEN {ACK_CHANNEL}")
        _take(conn, ACK_CHANNEL, None)  # answers that came late, to nobody
    finally:
        cursor.close()
    return max(missing, 0)


def _take(conn, channel: str, payload: str | None) -> int:
    """Remove the connection's received notices on ``channel`` (with ``payload``
    where given); returns how many matched."""
    kept, taken = [], 0
    for notice in conn.notifies:
        if notice.channel == channel and payload in (None, notice.payload):
            taken += 1
        else:
            kept.append(notice)
    conn.notifies[:] = kept
    return taken


def _readable(conn, timeout: float) -> bool:
    poller = select.poll()  # not select(): a busy server has descriptors above 1024
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(timeout * 1000))


def pending(conn) -> bool:
    """Whether the server sent something to an idle connection (a notice, or its
    goodbye when it shut down or dropped us), without a round trip."""
    return _readable(conn, 0)


class NotifiedStamp:
    """The access stamp of one process on PostgreSQL; :meth:`current` is ``None``
    while the listener is not connected. The listener starts on the first read,
    so commands that never reuse an answer hold no connection for it."""

    def __init__(self, connect):
        self._connect = connect  # () -> a new psycopg2 connection
        self._lock = threading.Lock()
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._value: bytes | None = None
        self._thread: threading.Thread | None = None
        self._warned = False
        self._stopped = threading.Event()

    def stop(self) -> None:
        """End the listener (within :data:`STOP_CHECK_SECONDS`) and reuse nothing
        more: its database is no longer the one this process uses."""
        self._stopped.set()
        self._value = None

    def current(self) -> bytes | None:
        if self._thread is None and not self._stopped.is_set():
            self._start()
        return self._value

    def bump(self) -> None:
        if self._value is not None:
            self._value = secrets.token_bytes(8)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._listen_forever, name="immoshare-access-listener", daemon=True
                )
                self._thread.start()

    def _listen_forever(self) -> None:
        while not self._stopped.is_set():
            conn = None
            try:
                conn = self._connect()
                self._listen(conn)
            except Exception as exc:  # noqa: BLE001 - any failure: reuse stops, reconnect
                self._value = None
                if not self._warned:
                    self._warned = True
                    log.warning("access notices unavailable, every request asks: %s", exc)
            finally:
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001, S110 - it is gone either way
                        pass
            self._stopped.wait(RECONNECT_SECONDS)
        self._value = None

    def _listen(self, conn) -> None:
        conn.autocommit = True
        cursor = conn.cursor()
        cursor.execute(f"LISTEN {CHANNEL}")
        self._value = secrets.token_bytes(8)  # notices before now were not heard
        if self._warned:
            self._warned = False
            log.warning("access notices available again")
        quiet_since = time.monotonic()
        while not self._stopped.is_set():
            if not _readable(conn, STOP_CHECK_SECONDS):
                if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                    cursor.execute("SELECT 1")  # raises when the server is gone
                    quiet_since = time.monotonic()
                continue
            quiet_since = time.monotonic()
            conn.poll()
            tokens = [n.payload for n in conn.notifies if n.channel == CHANNEL]
            conn.notifies[:] = []
            if tokens:
                self._value = secrets.token_bytes(8)
                cursor.execute(
                    "SELECT pg_notify(%s, token) FROM unnest(%s::text[]) AS token",
                    (ACK_CHANNEL, tokens),
                )
