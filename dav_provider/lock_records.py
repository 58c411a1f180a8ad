"""What the shared WebDAV lock storages (Redis, ``dav_provider.locks``; SQLite,
``dav_provider.locks_sqlite``) agree on: how long a lock lasts and how a lock
dictionary is stored (JSON, never ``pickle``: whoever can write the store could
otherwise run code in every gateway process)."""

from __future__ import annotations

import json
import time

from wsgidav.lock_man.lock_manager import generate_lock_token, normalize_lock_root, validate_lock

#: WsgiDAV's limits: a week by default, at most four.
LOCK_TIME_OUT_DEFAULT = 604800
LOCK_TIME_OUT_MAX = 4 * 604800


def bounded_timeout(timeout: float | None) -> float:
    """A lock's timeout in seconds: the default when none, at most the maximum (also
    for a negative one, WsgiDAV's "infinite")."""
    timeout = LOCK_TIME_OUT_DEFAULT if timeout is None else float(timeout)
    if timeout < 0 or timeout > LOCK_TIME_OUT_MAX:
        timeout = LOCK_TIME_OUT_MAX
    return timeout


def encode_lock(lock: dict) -> str:
    # The owner is the client's XML as bytes; JSON carries it as text, any byte kept.
    return json.dumps({**lock, "owner": lock["owner"].decode("utf-8", "surrogateescape")})


def decode_lock(raw: bytes | str) -> dict:
    lock = json.loads(raw)
    lock["owner"] = lock["owner"].encode("utf-8", "surrogateescape")
    return lock


def new_lock(path: str, lock: dict) -> dict:
    """Complete a new lock on ``path`` as WsgiDAV's storages do: its ``root``, bounded
    ``timeout``, ``expire`` and a fresh ``token``; the caller stores it."""
    assert lock.get("token") is None and lock.get("expire") is None
    lock["root"] = normalize_lock_root(path)
    lock["timeout"] = timeout = bounded_timeout(lock.get("timeout"))
    lock["expire"] = time.time() + timeout
    validate_lock(lock)
    lock["token"] = generate_lock_token()
    return lock


def has_expired(lock: dict) -> bool:
    """Past its ``expire`` time (a negative one never expires)."""
    return 0 <= lock["expire"] < time.time()


def renew(lock: dict, timeout: float | None) -> dict:
    """Extend ``lock`` by a bounded ``timeout`` from now (a LOCK refresh)."""
    lock["timeout"] = timeout = bounded_timeout(timeout)
    lock["expire"] = time.time() + timeout
    return lock
