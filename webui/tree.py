"""What a contact sees of a property folder: entries, search, sort, and safe lookups.

The share rules of ``gateway.shares``, as on the contact WebDAV share: OS junk, upload
temporaries, dot files, symbolic links and hard-linked files are never shown, and a
path that leaves the property folder does not exist.

Reading a big share (one ``lstat`` per entry) is most of a page's or a search's
time, so each folder's listing is kept (``_Listings``) and read again when it may
have changed:

- the folder's own ``lstat`` differs: an entry was added, removed, renamed or
  replaced by rename (WebDAV uploads), by any process or NFS client; checked on
  every walk, one ``lstat`` per folder;
- the catalog watcher reports a change inside it: a file rewritten in place or
  given a new time, by any process on this machine; the report comes from the
  watcher's thread within a millisecond or so (a tenth of a second on a busy one);
- no watcher of this process sees the folder, or the cache does not hear the
  watchers (:func:`watch_listing_cache` was not called);
- the folder changed within ``RECENT_NS``: a second change within its timestamp's
  resolution would not show in its ``lstat``;
- ``TRUST_SECONDS`` passed: changes no watcher here sees (writes on another NFS
  client, a second hard link, a lost inotify queue) show after that at the latest.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re
import stat as stat_module
import threading
import time
import unicodedata

from gateway import watcher
from gateway.shares import (
    confine,
    is_hidden_from_contacts,
    is_served_file,
    listed_members,
    split_share_path,
)

FILE = "file"
FOLDER = "folder"
SORT_KEYS = ("name", "size")
#: How long a folder's listing is trusted while the watcher reports no change in it.
TRUST_SECONDS = 3.0
#: A folder changed this recently may change again within its timestamp's resolution
#: (1 s on some file systems and NFS servers) unseen: read it again.
RECENT_NS = 2_000_000_000
#: Entries kept in all listings together; the least recently used folders go first.
MAX_CACHED_ENTRIES = 100_000  # some 30 MB


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """One file or folder; ``path`` is share-relative, ``/``-separated, no leading ``/``.
    A folder's ``size`` is the total of the files shown inside it.

    Kept listings hold an entry as long as its file does not change, so the folded
    name that every sort and search compares is worked out once, here."""

    name: str
    path: str
    kind: str
    size: int
    mtime: float
    folded: str = dataclasses.field(init=False, repr=False, compare=False)
    #: The folded and, if it differs, the transliterated name, one per line; a folded
    #: search word holds no line break, so it never matches across both.
    haystack: str = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        folded = fold(self.name)
        transliterated = _fold_transliterated(self.name)
        object.__setattr__(self, "folded", folded)
        haystack = folded if transliterated == folded else f"{folded}\n{transliterated}"
        object.__setattr__(self, "haystack", haystack)

    @property
    def folder(self) -> str:
        return self.path.rpartition("/")[0]

    @property
    def is_folder(self) -> bool:
        return self.kind == FOLDER


_SEPARATORS = re.compile(r"[\s_\-.]+")
_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def fold(text: str) -> str:
    """Case-, accent- and separator-insensitive form: "Grundriß_EG" → "grundriss eg"."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFC", text).casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", text).strip()


def _fold_transliterated(text: str) -> str:
    """German transliteration first, so that "mueller" finds "Müller"."""
    return fold(unicodedata.normalize("NFC", text).casefold().translate(_TRANSLIT))


def sort_entries(entries: list[Entry], key: str = "name", descending: bool = False) -> list[Entry]:
    """Folders first, then files; each group by name or size, reversed on request."""

    def name_key(e: Entry):
        return (e.folded, e.name)

    def size_key(e: Entry):
        return (e.size, e.folded, e.name)

    order = size_key if key == "size" else name_key
    folders = sorted((e for e in entries if e.is_folder), key=order, reverse=descending)
    files = sorted((e for e in entries if not e.is_folder), key=order, reverse=descending)
    return folders + files


def _stamp(info: os.stat_result) -> tuple[int, int, int]:
    """What changes when a folder's entries do: ctime also moves when a tool (rsync,
    a Windows copy) sets the folder's mtime back."""
    return (info.st_ino, info.st_mtime_ns, info.st_ctime_ns)


@dataclasses.dataclass(frozen=True)
class _Contents:
    """The visible entries directly in one folder, in ``scandir`` order: files
    complete, subfolders with size 0 (their totals are summed per walk)."""

    entries: list[Entry]
    file_bytes: int  # the files' sizes added up
    has_folders: bool


@dataclasses.dataclass(eq=False)
class _Listing:
    """A folder's contents as read once, and what says whether they still hold."""

    relative: str  # the folder's share path, which the entries' paths start with
    stamp: tuple[int, int, int]
    trusted_until: float  # time.monotonic(); 0 for a listing that is not to be trusted
    contents: _Contents | None = None  # None while being read

    def holds(self, info: os.stat_result) -> bool:
        """The folder has the same ``lstat`` and no watcher report has dropped us yet."""
        return (
            self.contents is not None
            and self.stamp == _stamp(info)
            and time.monotonic() < self.trusted_until
        )


class _Listings:
    """Listings by absolute folder path, least recently used first.

    A listing is registered before its folder is read, so a change the watcher
    reports while it is read drops it (``forget``) instead of being lost."""

    def __init__(self, max_entries: int):
        self._max_entries = max_entries
        self._by_folder: collections.OrderedDict[str, _Listing] = collections.OrderedDict()
        self._count = 0
        self._lock = threading.Lock()

    def kept(self, absolute: str, relative: str) -> _Listing | None:
        with self._lock:
            listing = self._by_folder.get(absolute)
            if listing is None or listing.relative != relative:
                return None
            self._by_folder.move_to_end(absolute)
            return listing

    def begin(self, absolute: str, relative: str, info: os.stat_result, trust: bool) -> _Listing:
        """Register a listing about to be read, replacing any kept one. It is trusted
        only if a watcher sees the folder from now on and the folder did not change
        just now."""
        settled = max(info.st_mtime_ns, info.st_ctime_ns) < time.time_ns() - RECENT_NS
        until = time.monotonic() + TRUST_SECONDS if trust and settled else 0.0
        listing = _Listing(relative, _stamp(info), until)
        with self._lock:
            self._drop(absolute)
            self._by_folder[absolute] = listing
        return listing

    def finish(self, absolute: str, listing: _Listing, contents: _Contents) -> None:
        """Keep ``contents`` unless the listing was forgotten while they were read."""
        with self._lock:
            if self._by_folder.get(absolute) is not listing:
                return
            listing.contents = contents
            self._count += len(contents.entries)
            while self._count > self._max_entries and len(self._by_folder) > 1:
                self._drop(next(iter(self._by_folder)))

    def forget(self, path: str) -> None:
        """A watcher saw ``path`` change: its folder (and the folder it is) must be
        read again. Names no contact sees change no listing."""
        if is_hidden_from_contacts(os.path.basename(path)):
            return
        with self._lock:
            self._drop(path)
            self._drop(os.path.dirname(path))

    def _drop(self, absolute: str) -> None:
        """Forget a listing; a request that already holds it no longer trusts it."""
        listing = self._by_folder.pop(absolute, None)
        if listing is None:
            return
        listing.trusted_until = 0.0
        if listing.contents is not None:
            self._count -= len(listing.contents.entries)


_listings = _Listings(MAX_CACHED_ENTRIES)
_heard = threading.Event()  # set once the watchers report changes to ``_listings``


def watch_listing_cache(watchers=watcher) -> None:
    """Let the catalog watchers of this process (``gateway.watcher``) report changes to
    the kept listings; until this is called no listing is trusted without reading its
    folder again. Called once where the web app is built; calling it again does
    nothing."""
    if not _heard.is_set():
        _heard.set()
        watchers.add_change_listener(_listings.forget)


def _contents(absolute: str, relative: str, info: os.stat_result, trust: bool) -> _Contents:
    """The folder's entries: the kept ones while they hold and a watcher sees the
    folder, otherwise read now (and kept, reusing the entries that did not change)."""
    listing = _listings.kept(absolute, relative)
    if trust and listing is not None and listing.holds(info):
        return listing.contents
    previous = listing.contents if listing is not None else None
    listing = _listings.begin(absolute, relative, info, trust)
    contents = _read_folder(absolute, relative, previous)
    _listings.finish(absolute, listing, contents)
    return contents


def _read_folder(absolute: str, relative: str, previous: _Contents | None) -> _Contents:
    known = {e.name: e for e in previous.entries} if previous else {}
    entries = []
    file_bytes = 0
    has_folders = False
    try:
        for item, info in listed_members(absolute, is_hidden_from_contacts):
            if stat_module.S_ISDIR(info.st_mode):
                entry = _entry(known, relative, item.name, FOLDER, 0, info.st_mtime)
                has_folders = True
            else:
                entry = _entry(known, relative, item.name, FILE, info.st_size, info.st_mtime)
                file_bytes += entry.size
            entries.append(entry)
    except OSError:
        return _Contents([], 0, False)
    return _Contents(entries, file_bytes, has_folders)


def _entry(known: dict[str, Entry], relative: str, name: str, kind: str, size: int, mtime: float):
    """The entry as read, or the equal one read before (its name already folded)."""
    before = known.get(name)
    if before is not None and (before.kind, before.size, before.mtime) == (kind, size, mtime):
        return before
    return Entry(name, f"{relative}/{name}" if relative else name, kind, size, mtime)


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
        if kind == FILE and not is_served_file(info):
            return None
        return absolute, parts

    def walk(self, parts: list[str]) -> list[Entry]:
        """Every visible entry below the folder ``parts`` (depth first), folder sizes
        totalled. The folder itself must have been located first."""
        absolute = os.path.join(self.root, *parts)
        entries: list[Entry] = []
        try:
            info = os.lstat(absolute)
        except OSError:
            return entries
        trust = _heard.is_set() and watcher.watching(self.root)
        self._walk(absolute, "/".join(parts), info, trust, entries)
        return entries

    def _walk(
        self, absolute: str, relative: str, info: os.stat_result, trust: bool, out: list[Entry]
    ) -> int:
        contents = _contents(absolute, relative, info, trust)
        if not contents.has_folders:
            out.extend(contents.entries)
            return contents.file_bytes
        total = 0
        for entry in contents.entries:
            if entry.kind == FILE:
                out.append(entry)
                total += entry.size
                continue
            subfolder = os.path.join(absolute, entry.name)
            try:
                sub_info = os.lstat(subfolder)
            except OSError:
                continue
            if not stat_module.S_ISDIR(sub_info.st_mode):
                continue
            index = len(out)
            out.append(entry)
            size = self._walk(subfolder, entry.path, sub_info, trust, out)
            out[index] = Entry(entry.name, entry.path, FOLDER, size, sub_info.st_mtime)
            total += size
        return total


def children(entries: list[Entry], folder: str) -> list[Entry]:
    return [e for e in entries if e.folder == folder]


def search(entries: list[Entry], query: str) -> list[Entry]:
    """The entries whose name holds every word of ``query`` (folded, or transliterated)."""
    found = entries
    for word in fold(query).split():
        found = [e for e in found if word in e.haystack]
    return list(found)


def expand(shown: list[Entry], everything: list[Entry]) -> list[Entry]:
    """The files of ``shown``: files themselves, folders with every file inside them,
    each once, in share order."""
    folders = tuple(e.path + "/" for e in shown if e.is_folder)
    files = {e.path for e in shown if not e.is_folder}
    if not folders:  # a search's usual answer; spares a prefix test per entry
        return [e for e in everything if e.kind == FILE and e.path in files]
    return [
        e for e in everything if e.kind == FILE and (e.path in files or e.path.startswith(folders))
    ]
