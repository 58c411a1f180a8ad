"""Daily pruning of tracking events older than ``retention_days`` (GDPR Art. 5(1)(e)).

Runs in every server process; pruning takes the chain lock and deletes a prefix,
so two processes pruning at once only do the work once.
"""

from __future__ import annotations

import datetime
import logging
import threading

from gateway.clock import utc_now

log = logging.getLogger("immoshare.tracking")

DAY_SECONDS = 24 * 3600


def retention_cutoff(days: int, now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or utc_now()) - datetime.timedelta(days=days)


class RetentionTimer:
    """Prunes at start and then once a day until stopped."""

    def __init__(self, days: int, interval: float = DAY_SECONDS):
        self._days = days
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="immoshare-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        from gateway.services.tracking import prune_before

        while not self._stopped.is_set():
            try:
                result = prune_before(retention_cutoff(self._days))
                if result.pruned:
                    log.info(
                        "tracking: pruned %d event(s) older than %d days", result.pruned, self._days
                    )
            except Exception:  # noqa: BLE001 - try again tomorrow
                log.exception("tracking: daily pruning failed")
            self._stopped.wait(self._interval)
