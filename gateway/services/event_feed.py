"""Following the tracking events for webhooks and agents' notifications.

One cursor (``FeedCursor`` "events") says how far the events have been read. Each
round reads the events after it in id order (ids are handed out in commit order,
``gateway.services.tracking``, so none is skipped), decides which is a first open
(``gateway.services.first_open``), queues webhook deliveries and notifications, and
moves the cursor, all in one transaction. Queueing is idempotent, so processes that
read the same events at once queue everything once; the queues are in the database,
so a restart loses nothing. :class:`EventFeedWorker` runs the rounds and the sending
in a thread beside the server's request workers, never in a request.
"""

from __future__ import annotations

import logging
import threading

from gateway.config import Config
from gateway.db import database
from gateway.models import AccessEvent, FeedCursor
from gateway.services import notifications, webhook_sender, webhooks
from gateway.services.first_open import FIRST_OPEN, first_open_id, is_access

log = logging.getLogger("immoshare.events")

CURSOR = "events"
BATCH = 500
#: Seconds between rounds: how soon after an access a delivery goes out.
POLL_SECONDS = 1.0


def cursor() -> int:
    """The id of the last event read (0 for a home whose cursor row is missing)."""
    row = FeedCursor.get_or_none(FeedCursor.name == CURSOR)
    if row is None:
        FeedCursor.insert(name=CURSOR, position=0).on_conflict_ignore().execute()
        return 0
    return row.position


#: What a round reads of each event: enough to decide first opens and what to queue.
#: Plain tuples, not model objects: the round reads every event the server writes, and
#: building a model per event cost a tenth of a small download's CPU.
_FEED_FIELDS = (
    AccessEvent.id,
    AccessEvent.property,
    AccessEvent.contact,
    AccessEvent.agent,
    AccessEvent.action,
    AccessEvent.status,
)


def advance(config: Config, limit: int = BATCH) -> int:
    """Read up to ``limit`` events after the cursor, queue what they cause, move the
    cursor; return how many were read."""
    position = cursor()
    events = list(
        AccessEvent.select(*_FEED_FIELDS)
        .where(AccessEvent.id > position)
        .order_by(AccessEvent.id)
        .limit(limit)
        .namedtuples()
    )
    if not events:
        return 0
    with database.atomic():
        hooks = webhooks.active_hooks()
        notifying = notifications.notifying(config)
        deliveries, notices = [], []
        # A batch holds many events of the same contact and property (a contact
        # browsing): ask for each pair's first open once, not once per event. It is
        # decided (and kept) even when nobody listens: pruning must not move it.
        first_ids: dict[tuple[str, str], int | None] = {}
        for event in events:
            first = False
            if is_access(event):
                pair = (event.property, event.contact)
                if pair not in first_ids:
                    first_ids[pair] = first_open_id(*pair)
                first = first_ids[pair] == event.id
            if hooks:
                deliveries.append((event, (event.action, FIRST_OPEN) if first else (event.action,)))
            if notifying:
                kind = notifications.notification_kind(config, event, first)
                if kind is not None:
                    notices.append((event, kind))
        webhooks.queue_deliveries(deliveries, hooks)
        notifications.queue_notifications(config, notices)
        last = events[-1].id
        FeedCursor.update(position=last).where(
            (FeedCursor.name == CURSOR) & (FeedCursor.position < last)
        ).execute()
    return len(events)


def run_round(config: Config, stop: threading.Event | None = None) -> None:
    """Read every new event, then send what is due."""
    while advance(config) == BATCH and not (stop is not None and stop.is_set()):
        pass
    webhook_sender.deliver_due(stop=stop)
    notifications.send_due(config)


class EventFeedWorker:
    """The thread that runs :func:`run_round` every ``POLL_SECONDS`` while the server
    serves. A failed round (database away, a bug) is logged and the next one tries
    again: a dead receiver or SMTP server must not end the worker."""

    def __init__(self, config: Config):
        self.config = config
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="immoshare-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the request in flight (each is bounded by its timeouts)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(webhook_sender.REQUEST_TIMEOUT + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with database.connection_context():
                    run_round(self.config, self._stop)
            except Exception:  # noqa: BLE001 — logged; the next round tries again
                log.exception("event feed round failed")
            self._stop.wait(POLL_SECONDS)
