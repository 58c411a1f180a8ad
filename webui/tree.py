"""What a contact sees of a property folder: entries, search, sort, and safe lookups.

The same rules as the contact WebDAV share (``dav_provider.paths``): OS junk, upload
temporaries, dot files, symbolic links and hard-linked files are never shown, and a
path that leaves the property folder does not exist.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import stat as stat_module
import unicodedata

from dav_provider.paths import confine, is_hidden_from_contacts, split_share_path

FILE = "file"
FOLDER = "folder"
SORT_KEYS = ("name", "size")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One file or folder; ``path`` is share-relative, ``/``-separated, no leading ``/``.
    A folder's ``size`` is the total of the files shown inside it."""

    name: str
    path: str
    kind: str
    size: int
    mtime: float

    @property
    def folder(self) -> str:
        return self.path.rpartition("/")[0]

    @property
    def is_folder(self) -> bool:
        return self.kind == FOLDER


_SEPARATORS = re.compile(r"[\s_\-.]+")
_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


@functools.lru_cache(maxsize=65536)  # pure; a search folds every name of the share
def fold(text: str) -> str:
    """Case-, accent- and separator-insensitive form: "Grundriß_EG" → "grundriss eg"."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFC", text).casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", text).strip()


@functools.lru_cache(maxsize=65536)
def _fold_transliterated(text: str) -> str:
    """German transliteration first, so that "mueller" finds "Müller"."""
    return fold(unicodedata.normalize("NFC", text).casefold().translate(_TRANSLIT))


def matches(name: str, query: str) -> bool:
    """Every word of ``query`` occurs in ``name`` (folded, or transliterated)."""
    words = fold(query).split()
    if not words:
        return True
    plain, transliterated = fold(name), _fold_transliterated(name)
    return all(w in plain or w in transliterated for w in words)


def _visible(name: str) -> bool:
    return not is_hidden_from_contacts(name) and split_share_path(name) is not None


def sort_entries(entries: list[Entry], key: str = "name", descending: bool = False) -> list[Entry]:
    """Folders first, then files; each group by name or size, reversed on request."""

    def name_key(e: Entry):
        return (fold(e.name), e.name)

    def size_key(e: Entry):
        return (e.size, fold(e.name), e.name)

    order = size_key if key == "size" else name_key
    folders = sorted((e for e in entries if e.is_folder), key=order, reverse=descending)
    files = sorted((e for e in entries if not e.is_folder), key=order, reverse=descending)
    return folders + files


class ShareTree:
    """The visible tree below one property folder."""

    def __init__(self, root: str):
        self.root = os.path.realpath(root)

    def locate(self, path: str, kind: str) -> tuple[str, list[str]] | None:
        """Absolute path and segments of a visible ``kind`` at share path ``path``;
        None for anything hidden, outside, linked or of the other kind."""
        parts = split_share_path(path)
        if parts is None or any(is_hidden_from_contacts(p) for p in parts):
            return None
        if kind == FILE and not parts:
            return None
        absolute = confine(self.root, parts)
        if absolute is None:
            return None
        try:
            info = os.lstat(absolute)
        except OSError:
            return None
        if kind == FOLDER and not stat_module.S_ISDIR(info.st_mode):
            return None
        if kind == FILE and not (stat_module.S_ISREG(info.st_mode) and info.st_nlink == 1):
            return None
        return absolute, parts

    def walk(self, parts: list[str]) -> list[Entry]:
        """Every visible entry below the folder ``parts`` (depth first), folder sizes
        totalled. The folder itself must have been located first."""
        entries: list[Entry] = []
        self._walk(os.path.join(self.root, *parts), "/".join(parts), entries)
        return entries

    def _walk(self, absolute: str, relative: str, out: list[Entry]) -> int:
        total = 0
        try:
            with os.scandir(absolute) as listing:
                items = list(listing)
        except OSError:
            return 0
        for item in items:
            if not _visible(item.name):
                continue
            path = f"{relative}/{item.name}" if relative else item.name
            try:
                info = item.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat_module.S_ISDIR(info.st_mode):
                index = len(out)
                out.append(Entry(item.name, path, FOLDER, 0, info.st_mtime))
                size = self._walk(item.path, path, out)
                out[index] = dataclasses.replace(out[index], size=size)
                total += size
            elif stat_module.S_ISREG(info.st_mode) and info.st_nlink == 1:
                out.append(Entry(item.name, path, FILE, info.st_size, info.st_mtime))
                total += info.st_size
        return total


def children(entries: list[Entry], folder: str) -> list[Entry]:
    return [e for e in entries if e.folder == folder]


def search(entries: list[Entry], query: str) -> list[Entry]:
    return [e for e in entries if matches(e.name, query)]


def expand(shown: list[Entry], everything: list[Entry]) -> list[Entry]:
    """The files of ``shown``: files themselves, folders with every file inside them,
    each once, in share order."""
    folders = tuple(e.path + "/" for e in shown if e.is_folder)
    files = {e.path for e in shown if not e.is_folder}
    return [
        e for e in everything if not e.is_folder and (e.path in files or e.path.startswith(folders))
    ]
