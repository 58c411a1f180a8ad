"""At most :data:`MAX_LOCKS_PER_RESOURCE` WebDAV locks on one resource, with owners of
at most :data:`MAX_OWNER_BYTES`, whatever the lock storage.

RFC 4918 lets any number of clients share a lock on one file, and every PROPFIND of
its ``lockdiscovery`` lists them all, each with the owner XML its client sent: a few
thousand shared locks made one PROPFIND answer 40 MB. :class:`CappedLockStorage`
wraps the in-process storage or ``dav_provider.locks.RedisLockStorage`` and refuses
a lock beyond the cap with 423 Locked and the ``no-conflicting-lock`` condition
(RFC 4918 §9.10.6: the client sees the file as locked by others, as it is), and an
owner above the limit with 400. Within a process WsgiDAV's lock manager holds its
write lock around count and create; between processes (Redis) the count is read,
then written, so LOCKs racing on several nodes may pass the cap by one each, never
without bound.
"""

from __future__ import annotations

from wsgidav.dav_error import (
    HTTP_BAD_REQUEST,
    HTTP_LOCKED,
    DAVError,
    DAVErrorCondition,
    PRECONDITION_CODE_LockConflict,
)

#: Locks on one resource (shared ones: an exclusive lock is alone anyway).
MAX_LOCKS_PER_RESOURCE = 32
#: The ``<owner>`` XML a client may store with a lock (Office sends under 200 bytes).
MAX_OWNER_BYTES = 4096


class CappedLockStorage:
    """A WsgiDAV lock storage (``lock_storage``) that refuses locks beyond the caps;
    every other call goes to ``storage`` unchanged."""

    def __init__(self, storage):
        self._storage = storage

    def __repr__(self):
        return f"{self.__class__.__name__}({self._storage!r})"

    def __getattr__(self, name):
        return getattr(self._storage, name)

    def create(self, path: str, lock: dict) -> dict:
        """Store a new lock on ``path`` (see ``LockStorageDict.create``).

        :raises DAVError: 400 for an oversized owner, 423 for a lock beyond the cap.
        """
        if len(lock.get("owner") or b"") > MAX_OWNER_BYTES:
            raise DAVError(HTTP_BAD_REQUEST, "lock owner too large")
        held = self._storage.get_lock_list(
            path, include_root=True, include_children=False, token_only=True
        )
        if len(held) >= MAX_LOCKS_PER_RESOURCE:
            condition = DAVErrorCondition(PRECONDITION_CODE_LockConflict)
            condition.add_href(path)
            raise DAVError(HTTP_LOCKED, err_condition=condition)
        return self._storage.create(path, lock)
