"""WebDAV locks in Redis, so a LOCK taken through one gateway process holds on all.

WsgiDAV's own ``LockStorageRedis`` (4.4) is close but not usable as is: it takes host
and port instead of a URL (no password in a URL, no ``rediss://``, no socket), stores
locks with ``pickle`` (whoever can write to Redis could run code in every gateway),
and finds a folder's child locks with ``KEYS root/*``, where ``[``, ``*`` or ``?`` in a
folder name (``Grundrisse [alt]``) are glob syntax and hide the children. This
storage keeps WsgiDAV's storage interface and lock dictionaries, stores JSON, and
indexes lock roots in a sorted set searched by prefix.

Keys, below ``prefix``: ``lock:<token>`` (the lock, expiring with it),
``root:<path>`` (the set of tokens at that path) and ``roots`` (every path with
locks). Index entries of expired locks are dropped when next read.
"""

from __future__ import annotations

import redis
from wsgidav import util
from wsgidav.lock_man.lock_manager import normalize_lock_root

from dav_provider.lock_records import decode_lock as _decode
from dav_provider.lock_records import encode_lock as _encode
from dav_provider.lock_records import has_expired, new_lock, renew
from gateway.errors import SetupError


class RedisLockStorage:
    """WsgiDAV lock storage (``lock_storage`` setting) shared through Redis."""

    def __init__(self, url: str, *, prefix: str = "immoshare:dav:"):
        self._url = url
        self._prefix = prefix
        self._redis: redis.Redis | None = None

    def __repr__(self):
        return f"{self.__class__.__name__}({self._prefix!r})"

    # -- WsgiDAV's storage interface -------------------------------------------------

    def open(self) -> None:
        """Connect, and fail at start-up rather than at the first LOCK.

        :raises SetupError: the URL is malformed or Redis does not answer.
        """
        try:
            self._redis = redis.Redis.from_url(self._url)
            self._redis.ping()
        except (ValueError, redis.RedisError) as exc:
            raise SetupError(f"Redis unreachable at redis_url: {exc}") from None

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
        self._redis = None

    def cleanup(self) -> None:
        """Expired locks vanish by themselves (Redis expiry)."""

    def clear(self) -> None:
        keys = list(self._redis.scan_iter(match=_escape_glob(self._prefix) + "*"))
        if keys:
            self._redis.delete(*keys)

    def get(self, token: str) -> dict | None:
        """The lock of ``token``, or None when unknown or expired."""
        raw = self._redis.get(self._lock_key(token))
        if raw is None:
            return None
        lock = _decode(raw)
        if has_expired(lock):
            self.delete(token)
            return None
        return lock

    def create(self, path: str, lock: dict) -> dict:
        """Store a new lock on ``path``; adds ``root``, ``expire`` and ``token``."""
        new_lock(path, lock)
        root, timeout, token = lock["root"], lock["timeout"], lock["token"]
        with self._redis.pipeline() as pipe:
            pipe.set(self._lock_key(token), _encode(lock), ex=_ttl(timeout))
            pipe.sadd(self._root_key(root), token)
            pipe.zadd(self._roots_key(), {root: 0})
            pipe.execute()
        return lock

    def refresh(self, token: str, *, timeout: float) -> dict:
        """Extend a lock. :raises ValueError: the token is unknown or expired."""
        lock = self.get(token)
        if lock is None:
            raise ValueError(f"lock {token} not found")
        renew(lock, timeout)
        self._redis.set(self._lock_key(token), _encode(lock), ex=_ttl(lock["timeout"]))
        return lock

    def delete(self, token: str) -> bool:
        """Remove a lock; False when it did not exist."""
        raw = self._redis.get(self._lock_key(token))
        if raw is None:
            return False
        root = _decode(raw)["root"]
        with self._redis.pipeline() as pipe:
            pipe.delete(self._lock_key(token))
            pipe.srem(self._root_key(root), token)
            pipe.execute()
        # Atomic in Redis, so a lock created meanwhile on the same root keeps its entry.
        self._redis.eval(_DROP_EMPTY_ROOT, 2, self._root_key(root), self._roots_key(), root)
        return True

    def get_lock_list(
        self, path: str, *, include_root: bool, include_children: bool, token_only: bool
    ) -> list:
        """Live locks directly on ``path`` and/or on paths below it."""
        assert util.is_str(path) and path.startswith("/")
        assert include_root or include_children
        root = normalize_lock_root(path)
        roots = [root] if include_root else []
        if include_children:
            below = root.rstrip("/") + "/"
            # Every path starting with "<root>/" sorts between "<root>/" and "<root>0".
            roots += [
                r.decode()
                for r in self._redis.zrangebylex(
                    self._roots_key(), "[" + below, "(" + below[:-1] + "0"
                )
            ]
        found = []
        for lock_root in roots:
            for token in self._redis.smembers(self._root_key(lock_root)):
                lock = self.get(token.decode())
                if lock is None:
                    self._redis.srem(self._root_key(lock_root), token)
                    continue
                found.append(lock["token"] if token_only else lock)
        return found

    # -- keys ---------------------------------------------------------------------------

    def _lock_key(self, token: str) -> str:
        return f"{self._prefix}lock:{token}"

    def _root_key(self, root: str) -> str:
        return f"{self._prefix}root:{root}"

    def _roots_key(self) -> str:
        return f"{self._prefix}roots"


_DROP_EMPTY_ROOT = """
if redis.call('scard', KEYS[1]) == 0 then redis.call('zrem', KEYS[2], ARGV[1]) end
"""


def _ttl(timeout: float) -> int:
    return max(1, int(timeout) + 1)


def _escape_glob(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
