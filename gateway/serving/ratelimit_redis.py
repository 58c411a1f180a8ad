"""Failure counters of the rate limiter in Redis, shared by every gateway process.

The same :class:`gateway.serving.ratelimit.CounterStore` as ``MemoryStore``: with several
processes behind a load balancer, a client spreading wrong passwords over them is
counted once. When Redis does not answer, the counters fail open (nothing counted,
nobody refused, one warning per outage) rather than refusing every login while
downloads still work.
"""

from __future__ import annotations

import logging
import threading

import redis

log = logging.getLogger("immoshare.ratelimit")

#: INCR, and start the window on the first hit; atomic, so concurrent first hits
#: from two processes cannot both (re)set the expiry.
_INCREMENT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
"""


class RedisCounterStore:
    """:class:`gateway.serving.ratelimit.CounterStore` in Redis under ``prefix``."""

    def __init__(self, url: str, *, prefix: str = "immoshare:ratelimit:"):
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._increment = self._redis.register_script(_INCREMENT)
        self._failing = threading.Event()

    def increment(self, key: str, window: float) -> tuple[int, float]:
        try:
            count, ttl_ms = self._increment(
                keys=[self._prefix + key], args=[max(1, int(window * 1000))]
            )
        except redis.RedisError as exc:
            return self._unavailable(exc)
        self._failing.clear()
        return int(count), max(ttl_ms, 0) / 1000

    def peek(self, key: str) -> tuple[int, float]:
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                count, ttl_ms = pipe.get(self._prefix + key).pttl(self._prefix + key).execute()
        except redis.RedisError as exc:
            return self._unavailable(exc)
        self._failing.clear()
        if count is None or ttl_ms == -2:
            return 0, 0.0
        return int(count), max(ttl_ms, 0) / 1000

    def _unavailable(self, exc: Exception) -> tuple[int, float]:
        if not self._failing.is_set():
            self._failing.set()
            log.warning("rate-limit counters unavailable, not counting: Redis: %s", exc)
        return 0, 0.0
