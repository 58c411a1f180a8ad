"""Work goes to the worker thread that went idle last (README, "Speed").

cheroot's 200 worker threads wait on one ``queue.Queue``, whose condition wakes
waiters in the order they began waiting: every new request went to the thread idle
the longest, so under light load all 200 threads took turns. Each thread that ever
serves a request keeps what it touched resident (its stack, its SQLite connection
and page cache, its share of the malloc arenas): ten PROPFINDs of a large folder on
ten fresh threads grew the process by 6 MiB, where ten on one thread grew it by
nothing. Waking the thread that waited least keeps the busy set as small as the
load, and its caches warm; which thread serves a connection makes no other
difference.
"""

from __future__ import annotations

import threading


class LastIdleFirst(threading.Condition):
    """A condition whose ``notify`` wakes the most recent waiters first.

    ``threading.Condition`` keeps one lock per waiter in ``_waiters`` (appended by
    ``wait``, which removes its own on a timeout); waking is releasing that lock.
    Only the order differs from the standard ``notify``.
    """

    def notify(self, n: int = 1) -> None:
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        waiters = self._waiters
        while waiters and n > 0:
            waiter = waiters.pop()
            waiter.release()
            n -= 1


def wake_last_idle_first(pool) -> None:
    """Make cheroot's ``ThreadPool`` hand work to its most recently idle worker."""
    pending = pool._queue  # cheroot's queue.Queue of accepted connections
    pending.not_empty = LastIdleFirst(pending.mutex)
