"""What the shared WebDAV lock storages (Redis, ``dav_provider.locks``; SQLite,
``dav_provider.locks_sqlite``) agree on: how long a lock lasts and how a lock
dictionary is stored (JSON, never ``pickle``: whoever can write the store could
otherwise run code in every gateway process)."""

from __future__ import annotations

import json

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
