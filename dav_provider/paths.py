"""Confine share paths to a property folder, and recognise names nobody should see."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator

from dav_provider.open_beneath import BeneathOpener, Unsupported
from gateway.confinement import confine as confine  # re-exported: the adapters' name

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
OS_JUNK_PREFIXES = ("._", "~$", ".~lock.")
# Where an upload is written before it replaces its target; hidden from everyone.
UPLOAD_PREFIX = ".~immoshare-upload-"


# Characters XML 1.0 cannot carry (NUL among them): such a name cannot be listed.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def is_os_junk(name: str) -> bool:
    return name in OS_JUNK_NAMES or name.startswith(OS_JUNK_PREFIXES)


def is_upload_temp(name: str) -> bool:
    return name.startswith(UPLOAD_PREFIX)


def is_hidden_from_contacts(name: str) -> bool:
    """OS junk, upload temporaries and dot files never reach contacts."""
    return is_os_junk(name) or is_upload_temp(name) or name.startswith(".")


def is_multi_linked(file_path: str) -> bool:
    """A regular file with more than one hard link: it may be the same inode as a file
    outside every property (``secret.key``, the database), so nobody is served it."""
    try:
        stat = os.lstat(file_path)
    except OSError:
        return False
    return os.path.isfile(file_path) and stat.st_nlink > 1


def hidden_names(readonly: bool) -> Callable[[str], bool]:
    """What a share hides: from contacts (read-only) everything
    :func:`is_hidden_from_contacts` says, from agents only upload temporaries."""
    return is_hidden_from_contacts if readonly else is_upload_temp


def split_share_path(path: str) -> list[str] | None:
    """Split a share-relative path into segments; None if any segment is unsafe.

    WsgiDAV has already percent-decoded the path. A segment may not be empty, ``.``,
    ``..``, contain a backslash or a character XML cannot carry (a PROPFIND listing
    it would fail for the whole folder), or end in a dot or space (Windows would map
    ``a.`` onto ``a``).
    """
    parts = [p for p in path.split("/") if p != ""]
    for part in parts:
        if part in (".", "..") or "\\" in part or _NOT_IN_XML.search(part):
            return None
        if part.endswith((".", " ")) and part not in (".", ".."):
            return None
    return parts


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
    file (issue 6). Where Linux has ``openat2`` the kernel refuses every way out in
    the open itself (``dav_provider.open_beneath``). Elsewhere the file is opened
    (``O_NOFOLLOW`` for the last component) and the kernel says where it landed
    (``/proc/self/fd``): any symbolic link on the way, or ``..``, makes that differ
    from the path asked for; without ``/proc``, :func:`confine` decides.
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


def listed_members(
    folder: str, hidden: Callable[[str], bool]
) -> Iterator[tuple[os.DirEntry, os.stat_result]]:
    """The entries a share lists in ``folder``, with their ``lstat``, from one
    ``scandir`` in directory order: folders, and regular files with one link.

    Symbolic links, other file types, hard-linked files, names no share path can
    have and ``hidden`` names are left out. ``folder`` must be confined (resolved
    through ``confine``, or a member of such a folder), so entries that are not
    links are inside it: no ``realpath`` per member (issue 6: a PROPFIND of 10,000
    files spent a quarter of its time there).
    """
    with os.scandir(folder) as listing:
        for entry in listing:
            name = entry.name
            if hidden(name) or split_share_path(name) != [name]:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # removed meanwhile
            if stat.S_ISDIR(info.st_mode) or (stat.S_ISREG(info.st_mode) and info.st_nlink == 1):
                yield entry, info
