"""The mail queue: one rule for every mail immoshare sends to a contact.

A mail is a row whose ``mail_*`` columns say where it stands (consent confirmations
on ``ConsentRecord``, invitations on ``OutboxMail``). Queueing never waits for the
SMTP server: a row starts ``pending`` and a worker thread delivers it, retrying
with growing pauses, then gives up as ``failed`` (``immoshare users`` and
``immoshare doctor`` show both). While one process sends a row, the row is leased,
so that of several processes (or a CLI beside the server) only one sends it. The
Message-ID and the sha256 of the exact bytes handed over are recorded as evidence.

The message is built again at each attempt from the row (:class:`MailQueue`
``build``), so that nothing secret, such as a personal link, is stored with it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
import weakref
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage

from gateway.clock import utc_now
from gateway.config import Config
from gateway.db import database
from gateway.models import OutboxMail
from gateway.services import leases, mail_transport

log = logging.getLogger("immoshare")

# Pause after the 1st, 2nd, ... failed attempt; after the last one the state is
# "failed" and the agent sees it in `immoshare users`.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
# While one worker sends, the row is leased so no other process sends it too.
LEASE = timedelta(minutes=2)
DUE_STATES = ("pending", "retrying")
# An idle worker looks for mails queued by other processes this often (seconds).
POLL_SECONDS = 30.0

#: ``mail_state`` values: ``none`` (no mail: mail was not required and could not be
#: sent), ``pending``, ``retrying``, ``sent``, ``failed`` (gave up after the retries).
NONE, PENDING, RETRYING, SENT, FAILED = "none", "pending", "retrying", "sent", "failed"


@dataclasses.dataclass(frozen=True)
class MailQueue:
    """Rows of ``model`` (with the ``mail_*`` columns) and how to build each one's mail."""

    name: str
    model: type
    build: Callable[[Config, object], EmailMessage]


def _row(queue: MailQueue, row_id: int):
    return queue.model.get_by_id(row_id)


def _claim(queue: MailQueue, row_id: int, now) -> bool:
    """Lease a due row (``gateway.services.leases``), so that of several processes only
    one sends it."""
    model = queue.model
    due = (model.id == row_id) & model.mail_state.in_(DUE_STATES)
    return leases.claim(model, due, until=model.mail_next_at, now=now, lease=LEASE) == 1


def deliver(config: Config, queue: MailQueue, row_id: int, now=None) -> str:
    """Try to send one row's mail now if it is due; return its new ``mail_state``."""
    now = now or utc_now()
    if not _claim(queue, row_id, now):
        return _row(queue, row_id).mail_state
    model = queue.model
    row = _row(queue, row_id)
    attempts = row.mail_attempts + 1
    try:
        message = queue.build(config, row)
        data = mail_transport.send(config, message)
    except mail_transport.DELIVERY_ERRORS as exc:
        gave_up = attempts > len(RETRY_DELAYS)
        model.update(
            mail_state=FAILED if gave_up else RETRYING,
            mail_attempts=attempts,
            mail_error=f"{type(exc).__name__}: {exc}"[:300],
            mail_next_at=None if gave_up else now + RETRY_DELAYS[attempts - 1],
        ).where(model.id == row_id).execute()
        return FAILED if gave_up else RETRYING
    model.update(
        mail_state=SENT,
        mail_attempts=attempts,
        mail_error=None,
        mail_next_at=None,
        mail_message_id=message["Message-ID"],
        mail_sha256=hashlib.sha256(data).hexdigest(),
    ).where(model.id == row_id).execute()
    return SENT


def deliver_due(config: Config, queue: MailQueue, now=None) -> int:
    """Send every mail of ``queue`` that is due at ``now``; return how many were tried."""
    now = now or utc_now()
    model = queue.model
    due = [
        r.id
        for r in model.select(model.id)
        .where(model.mail_state.in_(DUE_STATES) & (model.mail_next_at <= now))
        .order_by(model.mail_next_at)
    ]
    for row_id in due:
        deliver(config, queue, row_id, now)
    return len(due)


def next_due(queue: MailQueue):
    """When the next queued mail of ``queue`` is due, or None when nothing is queued."""
    model = queue.model
    row = (
        model.select(model.mail_next_at)
        .where(model.mail_state.in_(DUE_STATES))
        .order_by(model.mail_next_at)
        .first()
    )
    return row.mail_next_at if row else None


def _target() -> tuple[str, str]:
    """Which database is open (kind and name), however often it was reopened."""
    return type(database.obj).__name__, str(database.obj.database)


#: The workers of this process, so that a service that queued a mail wakes them.
_WORKERS: weakref.WeakSet[MailWorker] = weakref.WeakSet()


def wake_workers() -> bool:
    """Tell this process's mail workers that a mail was queued (after its commit);
    False when none runs on the open database (the CLI), so the caller sends itself."""
    woken = False
    for worker in list(_WORKERS):
        woken = worker.kick() or woken
    return woken


#: Kinds of ``OutboxMail``.
INVITATION = "invitation"


def latest_mail(kind: str, grant) -> OutboxMail | None:
    """The newest mail of ``kind`` about ``grant``, or None."""
    return (
        OutboxMail.select()
        .where((OutboxMail.grant == grant) & (OutboxMail.kind == kind))
        .order_by(OutboxMail.id.desc())
        .first()
    )


class MailWorker:
    """A thread that delivers the mails of its queues as they fall due.

    ``kick()`` after a mail is queued (and once at start, to resume after a
    restart); while running, it also looks every ``POLL_SECONDS`` for mails another
    process queued (``immoshare grant --send`` beside the server). ``stop()`` ends
    it for good; it ends too when another database has been opened in this process.
    """

    def __init__(self, config: Config, queues: tuple[MailQueue, ...]):
        self.config = config
        self.queues = queues
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._database = _target()
        _WORKERS.add(self)

    def kick(self) -> bool:
        """Wake the thread, or start it; False when it cannot run here."""
        if not mail_transport.mail_configured(self.config) or _target() != self._database:
            return False
        with self._lock:
            if self._stopping.is_set():
                return False
            self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="immoshare-mail", daemon=True
                )
                self._thread.start()
        return True

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._stopping.set()
            self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)

    def _run(self) -> None:
        while not self._stopping.is_set() and _target() == self._database:
            self._wake.clear()
            try:
                with database.connection_context():
                    for queue in self.queues:
                        deliver_due(self.config, queue)
                    due = [d for d in (next_due(q) for q in self.queues) if d is not None]
            except Exception:  # the database went away: the next kick starts anew
                log.exception("mail worker stopped")
                with self._lock:
                    if self._thread is threading.current_thread():
                        self._thread = None
                return
            wait = POLL_SECONDS
            if due:
                first = min(d if d.tzinfo else d.replace(tzinfo=utc_now().tzinfo) for d in due)
                wait = min(wait, max(0.0, (first - utc_now()).total_seconds()))
            self._wake.wait(wait)
