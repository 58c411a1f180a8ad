"""Failure counters of the rate limiter in Redis, shared by every gateway process.

The same :class:`gateway.serving.ratelimit.CounterStore` as ``MemoryStore``: with several
processes behind a load balancer, a client spreading wrong passwords over them is
counted once. When Redis does not answer, the counters fail open (nothing counted,
nobody refused, one warning per outage) rather than refusing every login while
downloads still work.

Every limited request peeks before anything is looked up, and a round trip to Redis
for it was the largest part of a small download's time. So, given the ``limit``,
each process keeps the keys that reached it in memory: the failure that reaches the
limit publishes the key, every process's subscriber takes it and confirms, and the
failing request waits for all confirmations (at most :data:`CONFIRM_TIMEOUT`) before
its answer goes out. A peek is then a lookup here. While the subscriber is not
connected, peeks ask Redis as before; a subscriber that (re)connects first reads the
keys that are over the limit now.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time

import redis

log = logging.getLogger("immoshare.ratelimit")

#: INCR, and start the window on the first hit; atomic, so concurrent first hits
#: from two processes cannot both (re)set the expiry.
_INCREMENT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
"""
#: GET and PTTL in one command (a MULTI/EXEC pipeline of the two is four).
_PEEK = """
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}
"""
#: Longest wait, in seconds, of a failure that reached the limit for the other
#: processes to confirm it.
CONFIRM_TIMEOUT = 1.0
#: Seconds between checks that an idle subscriber is still connected, and before a
#: lost one connects again.
KEEPALIVE_SECONDS = 10.0
RECONNECT_SECONDS = 1.0
#: Keys over the limit kept per process; expired ones are dropped when it is full.
MAX_BLOCKED = 100_000


class RedisCounterStore:
    """:class:`gateway.serving.ratelimit.CounterStore` in Redis under ``prefix``.

    With ``limit``, :meth:`peek` answers from this process's copy of the keys at or
    over the limit while its subscriber listens: a key below the limit peeks as 0,
    which is all :class:`gateway.serving.ratelimit.RateLimiter` asks of it.
    """

    def __init__(self, url: str, *, prefix: str = "immoshare:ratelimit:", limit: int | None = None):
        # named for its process: an operator's CLIENT LIST says whose connection it is
        self._redis = redis.Redis.from_url(url, client_name=f"immoshare-{os.getpid()}")
        self._prefix = prefix
        self._increment = self._redis.register_script(_INCREMENT)
        self._peek = self._redis.register_script(_PEEK)
        self._failing = threading.Event()
        self._limit = limit if limit and limit > 0 else None
        self._channel = prefix.rstrip(":") + "-over-limit"
        self._blocked: dict[str, float] = {}  # key -> monotonic time it expires
        self._listening = False
        self._subscriber: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def increment(self, key: str, window: float) -> tuple[int, float]:
        try:
            count, ttl_ms = self._increment(
                keys=[self._prefix + key], args=[max(1, int(window * 1000))]
            )
            if self._limit is not None and count >= self._limit:
                self._announce(key, ttl_ms)
        except redis.RedisError as exc:
            return self._unavailable(exc)
        self._failing.clear()
        return int(count), max(ttl_ms, 0) / 1000

    def peek(self, key: str) -> tuple[int, float]:
        if self._limit is not None:
            if self._subscriber is None:
                self._start()
            if self._listening:
                expires = self._blocked.get(key)
                left = 0.0 if expires is None else expires - time.monotonic()
                return (self._limit, left) if left > 0 else (0, 0.0)
        try:
            count, ttl_ms = self._peek(keys=[self._prefix + key])
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

    # -- the copy of the keys over the limit --------------------------------------

    def _announce(self, key: str, ttl_ms: int) -> None:
        """Tell every subscriber that ``key`` is over the limit; wait for each."""
        self._keep(key, ttl_ms)
        confirm = f"{self._prefix.rstrip(':')}-confirm:{secrets.token_hex(8)}"
        told = self._redis.publish(
            self._channel, json.dumps({"key": key, "ttl_ms": ttl_ms, "confirm": confirm})
        )
        deadline = time.monotonic() + CONFIRM_TIMEOUT
        for _ in range(told):
            left = deadline - time.monotonic()
            if left <= 0 or self._redis.blpop([confirm], timeout=left) is None:
                break
        self._redis.delete(confirm)

    def _keep(self, key: str, ttl_ms: int) -> None:
        now = time.monotonic()
        if len(self._blocked) >= MAX_BLOCKED:
            self._blocked = {k: v for k, v in self._blocked.items() if v > now}
            if len(self._blocked) >= MAX_BLOCKED:  # a flood of fresh addresses
                self._blocked = {}
        self._blocked[key] = now + max(ttl_ms, 0) / 1000

    def _start(self) -> None:
        with self._start_lock:
            if self._subscriber is None:
                self._subscriber = threading.Thread(
                    target=self._subscribe_forever, name="immoshare-ratelimit", daemon=True
                )
                self._subscriber.start()

    def _subscribe_forever(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                self._subscribe(pubsub)
            except (redis.RedisError, OSError, ValueError):
                pass  # peeks ask Redis until it listens again
            finally:
                self._listening = False
                try:
                    pubsub.close()
                except redis.RedisError:
                    pass
            time.sleep(RECONNECT_SECONDS)

    def _subscribe(self, pubsub) -> None:
        pubsub.subscribe(self._channel)
        while pubsub.get_message(timeout=KEEPALIVE_SECONDS) is None:
            pass  # the subscription's confirmation: from now on no key is missed
        self._read_over_limit()
        self._listening = True
        while True:
            message = pubsub.get_message(timeout=KEEPALIVE_SECONDS)
            if message is None:
                pubsub.ping()  # raises when the connection is gone
                continue
            if message["type"] != "message":
                continue
            notice = json.loads(message["data"])
            self._keep(notice["key"], int(notice["ttl_ms"]))
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.rpush(notice["confirm"], 1).pexpire(notice["confirm"], 10_000).execute()

    def _read_over_limit(self) -> None:
        """The keys at or over the limit now (a subscriber that just connected)."""
        for name in self._redis.scan_iter(match=_glob_escape(self._prefix) + "*", count=1000):
            count, ttl_ms = self._peek(keys=[name])
            if count is not None and int(count) >= self._limit and ttl_ms > 0:
                self._keep(name.decode()[len(self._prefix) :], ttl_ms)


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
