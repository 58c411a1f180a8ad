"""The daily clean-ups: tracking events older than ``retention_days`` (GDPR Art.
5(1)(e)), trash entries older than ``trash_days``, served versions whose
``evidence_retention_years`` ended, and the consent evidence of erased contacts whose
legal hold has ended (the same setting).

Runs in every server process. Pruning takes the chain lock and deletes a prefix, and
purging removes whole trash entries, so two processes at once only do the work once.
"""

from __future__ import annotations

import datetime
import functools
import logging
import threading
from collections.abc import Callable

from gateway.clock import utc_now
from gateway.config import Config
from gateway.db import database
from gateway.services import privacy, served_versions, trash
from gateway.services.tracking import prune_before

log = logging.getLogger("immoshare.tracking")

DAY_SECONDS = 24 * 3600


def retention_cutoff(days: int, now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or utc_now()) - datetime.timedelta(days=days)


def daily_cleanups(config: Config) -> list[Callable[[], None]]:
    """What is cleaned up every day: ended legal holds always, the rest as the
    settings ask."""
    jobs: list[Callable[[], None]] = [release_held_evidence]
    if config.retention_days > 0:
        jobs.append(functools.partial(prune_tracking, config.retention_days))
    if config.trash_days > 0:
        jobs.append(functools.partial(purge_trash, config))
    if config.evidence_retention_years > 0:
        jobs.append(functools.partial(prune_served_versions, config))
    return jobs


def start_daily_cleanups(config: Config) -> RetentionTimer | None:
    """Start the timer of :func:`daily_cleanups`. The server starts it beside the
    tracking writer and stops it first."""
    jobs = daily_cleanups(config)
    if not jobs:
        return None
    timer = RetentionTimer(jobs)
    timer.start()
    return timer


def prune_tracking(days: int) -> None:
    result = prune_before(retention_cutoff(days))
    if result.pruned:
        log.info("tracking: pruned %d event(s) older than %d days", result.pruned, days)


def release_held_evidence() -> None:
    released = privacy.release_expired_holds()
    if released:  # no refs in the log: they are what was just erased
        log.info("legal hold ended: consent evidence of %d erased contact(s) erased", len(released))


def purge_trash(config: Config) -> None:
    purged = trash.purge_trash(trash.trash_bin(config), config.trash_days)
    if purged:
        log.info("trash: purged %d entr(ies) older than %d days", len(purged), config.trash_days)


def prune_served_versions(config: Config) -> None:
    pruned = served_versions.prune(config, config.evidence_retention_years)
    if pruned:
        log.info("evidence: pruned %d served version(s) past their retention", len(pruned))


class RetentionTimer:
    """Runs ``jobs`` at start and then once a day until stopped."""

    def __init__(self, jobs: list[Callable[[], None]], interval: float = DAY_SECONDS):
        self._jobs = jobs
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="immoshare-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopped.is_set():
            for job in self._jobs:
                try:
                    # Hand the connection back after each job: the thread sleeps a
                    # day, and a pooled connection held that long starves requests.
                    with database.connection_context():
                        job()
                except Exception:  # noqa: BLE001 - try again tomorrow
                    log.exception("daily clean-up failed: %r", job)
            self._stopped.wait(self._interval)
