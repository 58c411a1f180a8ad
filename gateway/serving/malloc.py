"""Fewer glibc malloc arenas for the server process (README, "Speed").

glibc gives threads that contend for the heap their own arena (up to eight per CPU)
and keeps what a request freed inside it. With 200 worker threads, each big request
(a PROPFIND of 10,000 files builds about 70 MB of tree and strings) lands on another
thread and leaves another arena at that size: RSS grew by 766 MiB over ten such
requests, without any leak. Two arenas cap that at the high-water mark of two.

``MALLOC_ARENA_MAX`` in the environment (read by glibc at start-up) wins; otherwise
``mallopt(M_ARENA_MAX, 2)`` is called before the server starts its threads. Other
C libraries (musl) have no arenas, and nothing is done there.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2


def limit_arenas(count: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas; True if it was set here."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False  # not glibc
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(M_ARENA_MAX, count) == 1
