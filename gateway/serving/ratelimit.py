"""Counting failed attempts per client and refusing more once there were too many.

Wrong passwords, unknown link tokens and bad API keys each count against the client's
address (see :func:`gateway.serving.clientaddr.limit_key`). After ``limit`` failures within
``window`` seconds of the first one, that client gets 429 with ``Retry-After`` until
the window ends; other clients are not affected.

The counters live behind :class:`CounterStore`: :class:`MemoryStore` for one process;
several processes sharing a home (README, "Scaling out") plug in a Redis store with the
same two methods (``INCR`` + ``EXPIRE`` on the first hit, ``GET`` + ``TTL`` to peek).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol


class CounterStore(Protocol):
    """Counters that expire ``window`` seconds after their first increment."""

    def increment(self, key: str, window: float) -> tuple[int, float]:
        """Add one to ``key``; return the new count and the seconds until it expires."""

    def peek(self, key: str) -> tuple[int, float]:
        """The count of ``key`` (0 when absent or expired) and the seconds left."""


class MemoryStore:
    """:class:`CounterStore` in this process's memory, bounded in size."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self._clock = clock
        self._max_keys = max_keys
        self._counters: dict[str, list[float]] = {}  # key -> [count, expires_at]
        self._lock = threading.Lock()

    def increment(self, key: str, window: float) -> tuple[int, float]:
        now = self._clock()
        with self._lock:
            entry = self._counters.get(key)
            if entry is None or entry[1] <= now:
                if len(self._counters) >= self._max_keys:
                    self._purge(now)
                entry = self._counters[key] = [0, now + window]
            entry[0] += 1
            return int(entry[0]), entry[1] - now

    def peek(self, key: str) -> tuple[int, float]:
        now = self._clock()
        with self._lock:
            entry = self._counters.get(key)
            if entry is None or entry[1] <= now:
                return 0, 0.0
            return int(entry[0]), entry[1] - now

    def _purge(self, now: float) -> None:
        self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        if len(self._counters) >= self._max_keys:  # a flood of fresh addresses
            self._counters.clear()


class RateLimiter:
    """Failures per (scope, client); ``retry_after`` says whether a client must wait."""

    def __init__(self, store: CounterStore, *, limit: int, window: float):
        self.store = store
        self.limit = limit
        self.window = window

    def retry_after(self, scope: str, client: str) -> int | None:
        """Whole seconds the client must wait before trying ``scope`` again, or None."""
        if self.limit <= 0:
            return None
        count, left = self.store.peek(f"{scope}:{client}")
        if count < self.limit:
            return None
        return max(1, math.ceil(left))

    def failed(self, scope: str, client: str) -> None:
        if self.limit > 0:
            self.store.increment(f"{scope}:{client}", self.window)
