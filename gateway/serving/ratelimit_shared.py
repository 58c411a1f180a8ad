"""Failure counters of the rate limiter shared by the worker processes of one
``serve --workers N`` (README, "Several cores"), without Redis.

A limit counted per worker would give an attacker N times the attempts, so the
workers count in one table in memory that the parent maps before it forks them
(anonymous shared memory: gone with the server, never stale after a restart). Each
slot holds a 16-byte digest of the counter's key, the count and the moment it
expires on ``CLOCK_MONOTONIC``, which every process of the machine shares. A key
lives in one of :data:`PROBES` slots after its hash; a new key takes a free or
expired one, or else evicts the one that expires first. Reads and writes hold a
POSIX record lock on a file every worker inherited: the kernel drops it when a
process dies, so a worker killed while counting blocks nobody.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: One slot: key digest, count, (padding), expiry in seconds of CLOCK_MONOTONIC.
_SLOT = struct.Struct("<16sIxxxxd")
#: Slots looked at per key.
PROBES = 8


class SharedMemoryStore:
    """:class:`gateway.serving.ratelimit.CounterStore` for the processes forked after
    it was made."""

    def __init__(self, slots: int = 1 << 16, clock: Callable[[], float] = time.monotonic) -> None:
        self._slots = slots
        self._clock = clock
        self._map = mmap.mmap(-1, slots * _SLOT.size)  # MAP_SHARED | MAP_ANONYMOUS
        self._lock_file = tempfile.TemporaryFile()  # noqa: SIM115  (lives as long as the store)
        self._threads = threading.Lock()  # record locks do not exclude threads of a process

    def increment(self, key: str, window: float) -> tuple[int, float]:
        digest = _digest(key)
        with self._locked():
            now = self._clock()
            found, free = self._find(digest, now)
            if found is None:
                count, expires, slot = 1, now + window, free
            else:
                slot = found
                _, count, expires = _SLOT.unpack_from(self._map, slot * _SLOT.size)
                count += 1
            _SLOT.pack_into(self._map, slot * _SLOT.size, digest, min(count, 2**32 - 1), expires)
        return count, expires - now

    def peek(self, key: str) -> tuple[int, float]:
        digest = _digest(key)
        with self._locked():
            now = self._clock()
            found, _ = self._find(digest, now)
            if found is None:
                return 0, 0.0
            _, count, expires = _SLOT.unpack_from(self._map, found * _SLOT.size)
        return count, expires - now

    def _find(self, digest: bytes, now: float) -> tuple[int | None, int]:
        """The live slot of ``digest`` (or None), and the slot a new counter takes."""
        start = int.from_bytes(digest[:8], "little") % self._slots
        take, take_expires = start, float("inf")
        for probe in range(PROBES):
            slot = (start + probe) % self._slots
            held, _, expires = _SLOT.unpack_from(self._map, slot * _SLOT.size)
            live = expires > now
            if live and held == digest:
                return slot, slot
            if not live:
                expires = float("-inf")  # free or expired: the best to take
            if expires < take_expires:
                take, take_expires = slot, expires
        return None, take

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._threads:
            fcntl.lockf(self._lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.lockf(self._lock_file, fcntl.LOCK_UN)


def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()
