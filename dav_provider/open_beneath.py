"""Open a file below a folder in one system call that refuses every way out: Linux's
``openat2`` with ``RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`` (issue 6).

The lean GET paths opened a file and then asked ``/proc/self/fd`` where it had
landed: two system calls, each letting go of the GIL, on every request. ``openat2``
(Linux 5.6) makes the kernel refuse ``..`` above the folder, absolute paths and any
symbolic link on the way in the open itself. Python has no binding for it (3.11),
so it is called through ``ctypes``; where the kernel or a sandbox lacks it, the
opener says so when it is made and callers keep their portable way.
"""

from __future__ import annotations

import ctypes
import os
import weakref

#: The call's number: the same on every Linux architecture (the table was unified
#: before it was added).
SYS_OPENAT2 = 437
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


class Unsupported(Exception):
    """This system cannot ``openat2``."""


class BeneathOpener:
    """Opens paths below one folder, which it holds open as a descriptor.

    :raises Unsupported: this system cannot ``openat2``.
    """

    def __init__(self, folder: str, flags: int):
        try:
            syscall = ctypes.CDLL(None, use_errno=True).syscall
        except (OSError, AttributeError):
            raise Unsupported from None
        syscall.restype = ctypes.c_long
        self._syscall = syscall
        self._how = _OpenHow(
            flags, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
        )
        self._how_size = ctypes.c_size_t(ctypes.sizeof(self._how))
        self._folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        weakref.finalize(self, os.close, self._folder_fd)
        fd = self._call(b".")
        if fd < 0:
            raise Unsupported(os.strerror(ctypes.get_errno()))
        os.close(fd)

    def open(self, relative: str) -> int | None:
        """A descriptor of ``relative`` (``/``-separated), or None where it does not
        exist, cannot be opened or would leave the folder."""
        if "\x00" in relative:
            return None
        fd = self._call(os.fsencode(relative))
        return fd if fd >= 0 else None

    def _call(self, relative: bytes) -> int:
        return self._syscall(
            ctypes.c_long(SYS_OPENAT2),
            ctypes.c_int(self._folder_fd),
            ctypes.c_char_p(relative),
            ctypes.byref(self._how),
            self._how_size,
        )
