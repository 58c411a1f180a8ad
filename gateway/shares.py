"""The share rules, written once: what a share path may be, which names a share hides,
how a path is kept inside its property folder, what a folder lists, and which files
may be served at all.

WebDAV (``/dav`` for agents, ``/view`` for contacts), the contact pages and their
zips, the catalog and the trash all call these functions; their lean paths call them
too (README, Security). Nothing here knows HTTP: callers decode request paths
(strict UTF-8, so overlong forms and lone surrogates never arrive) and map a refusal
to their own answer, always a 404 for what a share does not show.

- :func:`split_share_path`: the segments of a share path, or None (see its rules);
- :func:`is_hidden_from_contacts` / :func:`hidden_names`: OS junk, Office lock
  files, upload temporaries and dot files never reach contacts; agents only never see
  upload temporaries;
- :func:`confine` and :class:`ConfinedFiles`: no ``..`` and no symbolic link on the
  way, with ``openat2`` (:class:`BeneathOpener`) where Linux has it;
- :func:`is_served_file` (and :func:`is_multi_linked`): only regular files with one
  link are listed or served; a hard link may be a file outside every property
  (``secret.key``, the database);
- :func:`listed_members`: a folder's members as every listing shows them.
"""

from __future__ import annotations

import ctypes
import os
import re
import stat
import weakref
from collections.abc import Callable, Iterator

# ------------------------------------------------------------------------ hidden names

# Files that operating systems and office suites write by themselves. Agents may
# write them (refusing breaks Finder copies); contacts never see them.
OS_JUNK_NAMES = frozenset(
    {
        ".DS_Store",
        "Thumbs.db",
        "desktop.ini",
        ".localized",
        "folder.jpg",
        "autorun.inf",
        ".hidden",
        ".ql_disablethumbnails",
        ".metadata_never_index",
    }
)
# AppleDouble (``._x``), Office lock files (``~$x``), LibreOffice lock files.
OS_JUNK_PREFIXES = ("._", "~$", ".~lock.")
# Where an upload is written before it replaces its target; hidden from everyone.
UPLOAD_PREFIX = ".~immoshare-upload-"


def is_os_junk(name: str) -> bool:
    return name in OS_JUNK_NAMES or name.startswith(OS_JUNK_PREFIXES)


def is_upload_temp(name: str) -> bool:
    return name.startswith(UPLOAD_PREFIX)


def is_hidden_from_contacts(name: str) -> bool:
    """OS junk, Office lock files, upload temporaries and dot files never reach
    contacts; the catalog does not hash them either."""
    return name.startswith(".") or name in OS_JUNK_NAMES or name.startswith(OS_JUNK_PREFIXES)


def hidden_names(readonly: bool) -> Callable[[str], bool]:
    """What a share hides: from contacts (read-only) everything
    :func:`is_hidden_from_contacts` says, from agents only upload temporaries."""
    return is_hidden_from_contacts if readonly else is_upload_temp


# ------------------------------------------------------------------------- share paths

# Control characters (C0 with tab and line breaks, DEL, C1), and what XML 1.0 cannot
# carry (NUL among them, lone surrogates, U+FFFE/U+FFFF): a PROPFIND listing such a
# name would fail for the whole folder, and a line break must never reach a header.
_REFUSED_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\\\\\ud800-\udfff\ufffe\uffff]")


def split_share_path(path: str) -> list[str] | None:
    """Split a decoded share path into its segments; None if any segment is unsafe.

    Empty segments (``a//b``, a trailing slash) are dropped. A segment may not be
    ``.`` or ``..``, hold a backslash (the Windows separator; an encoded ``%2F`` or
    ``%5C`` arrives decoded, so it is a separator or a backslash here), a control
    character or one XML cannot carry (NUL among them), or end in a dot or a space
    (Windows maps ``a.`` onto ``a``).
    """
    parts = [p for p in path.split("/") if p != ""]
    for part in parts:
        if part.endswith((".", " ")) or _REFUSED_CHARACTERS.search(part):
            return None  # ``.`` and ``..`` end in a dot
    return parts


def is_share_name(name: str) -> bool:
    """A directory entry's name that some share path can have."""
    return not (name.endswith((".", " ")) or _REFUSED_CHARACTERS.search(name))


# ----------------------------------------------------------------------- served files


def is_served_file(info: os.stat_result) -> bool:
    """The link-count rule: a file is listed or served only if it is a regular file
    with one link. A second hard link may be the same inode as a file outside every
    property (``secret.key``, the database)."""
    return stat.S_ISREG(info.st_mode) and info.st_nlink == 1


def is_multi_linked(file_path: str) -> bool:
    """A regular file with more than one hard link (:func:`is_served_file`'s refusal,
    for a path that need not exist: where a write would land)."""
    try:
        info = os.lstat(file_path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_nlink > 1


# ------------------------------------------------------------------------ confinement


def confine(root: str | os.PathLike, parts: list[str]) -> str | None:
    """Absolute path of ``parts`` below ``root``, or None if it would leave ``root``
    (through ``..``, an absolute segment or a symbolic link anywhere on the way)."""
    real_root = os.path.realpath(root)
    candidate = os.path.normpath(os.path.join(real_root, *parts))
    real = os.path.realpath(candidate)
    if real != candidate:
        return None  # a symlink somewhere on the way
    if os.path.commonpath([real_root, real]) != real_root:
        return None
    return real


#: ``openat2`` (Linux 5.6): the call's number is the same on every Linux architecture
#: (the table was unified before it was added).
SYS_OPENAT2 = 437
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


class Unsupported(Exception):
    """This system cannot ``openat2``."""


class BeneathOpener:
    """Opens paths below one folder, which it holds open as a descriptor, in one
    system call that refuses every way out: ``openat2`` with ``RESOLVE_BENEATH |
    RESOLVE_NO_SYMLINKS`` makes the kernel refuse ``..`` above the folder, absolute
    paths and any symbolic link on the way in the open itself. Python has no binding
    for it, so it is called through ``ctypes``.

    :raises Unsupported: this system (kernel or sandbox) cannot ``openat2``.
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


# O_NONBLOCK: opening a named pipe would wait for a writer and hold the worker; for
# regular files, which are all that is ever served, it changes nothing.
_OPEN_FLAGS = (
    os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
)


class ConfinedFiles:
    """Opens files below one resolved folder for reading, with the guarantee of
    :func:`confine`: no ``..`` and no symbolic link anywhere on the way.

    :func:`confine` resolves the path with an ``lstat`` per component, and each
    system call lets go of the GIL: under load that costs more than serving a small
    file. Where Linux has ``openat2`` the kernel refuses every way out in the open
    itself (:class:`BeneathOpener`). Elsewhere the file is opened (``O_NOFOLLOW`` for
    the last component) and the kernel says where it landed (``/proc/self/fd``): any
    symbolic link on the way, or ``..``, makes that differ from the path asked for;
    without ``/proc``, :func:`confine` decides.
    """

    def __init__(self, real_root: str):
        self.real_root = real_root
        try:
            self._beneath: BeneathOpener | None = BeneathOpener(real_root, _OPEN_FLAGS)
        except (Unsupported, OSError):
            self._beneath = None

    @property
    def in_one_call(self) -> bool:
        return self._beneath is not None

    def open(self, parts: list[str]) -> tuple[int, str] | None:
        """The descriptor and path of ``parts``, or None."""
        candidate = os.path.join(self.real_root, *parts)
        if self._beneath is not None:
            fd = self._beneath.open("/".join(parts))
            return None if fd is None else (fd, candidate)
        try:
            fd = os.open(candidate, _OPEN_FLAGS)
        except (OSError, ValueError):
            return None
        try:
            landed = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            landed = confine(self.real_root, parts)
        if landed != candidate:
            os.close(fd)
            return None
        return fd, candidate


# ---------------------------------------------------------------------------- listing


def listed_members(
    folder: str, hidden: Callable[[str], bool]
) -> Iterator[tuple[os.DirEntry, os.stat_result]]:
    """The entries a share lists in ``folder``, with their ``lstat``, from one
    ``scandir`` in directory order: folders, and files :func:`is_served_file` allows.

    Symbolic links, other file types, hard-linked files, names no share path can
    have (:func:`is_share_name`) and ``hidden`` names are left out. ``folder`` must
    be confined (resolved through :func:`confine`, or a member of such a folder), so
    entries that are not links are inside it: no ``realpath`` per member (a PROPFIND
    of 10,000 files spent a quarter of its time there).
    """
    with os.scandir(folder) as listing:
        for entry in listing:
            name = entry.name
            if hidden(name) or not is_share_name(name):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # removed meanwhile
            if stat.S_ISDIR(info.st_mode) or is_served_file(info):
                yield entry, info
