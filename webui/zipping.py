"""The "download all shown" button: one streamed zip of exactly the entries on the page.

Members are stored (no compression: PDFs and JPEGs do not shrink), so the length is
known before the first byte and browsers show progress; zipstream-ng writes ZIP64
and UTF-8 names. Every member file is opened before the response starts: a file
that an agent replaces meanwhile (WebDAV writes a new file and renames it) still
comes out in the version that was shown. A file rewritten in place while it is
being read is cut or padded to its planned length, so the zip stays valid; its
member then counts as incomplete.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator

from zipstream import ZipStream

from webui.tree import Entry


@dataclasses.dataclass
class Member:
    """One file of the zip and how much of it went out."""

    entry: Entry
    arcname: str
    absolute: str
    stat: os.stat_result | None = None
    sent: int = 0
    started: bool = False
    complete: bool = False


class ZipDownload:
    """A sized zip stream over opened files; ``close()`` releases them."""

    def __init__(self, members: list[Member], block_size: int):
        self.members = members
        self._block_size = block_size
        self._files = []
        self._stream = ZipStream(sized=True)
        try:
            for member in members:
                handle = open(member.absolute, "rb", buffering=0)  # noqa: SIM115 - see close()
                self._files.append(handle)
                info = member.stat = os.fstat(handle.fileno())
                member.entry = dataclasses.replace(member.entry, size=info.st_size)
                self._stream.add(self._read(member, handle), member.arcname, size=info.st_size)
        except BaseException:
            self.close()
            raise

    def __len__(self) -> int:
        return len(self._stream)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def _read(self, member: Member, handle) -> Iterator[bytes]:
        member.started = True
        remaining = member.entry.size
        changed = False
        while remaining > 0:
            chunk = handle.read(min(self._block_size, remaining))
            if not chunk:  # the file shrank while we read it: pad to the planned length
                chunk = bytes(min(self._block_size, remaining))
                changed = True
            remaining -= len(chunk)
            yield chunk
            member.sent += len(chunk)  # runs once the server asked for the next chunk
        member.complete = not changed

    def close(self) -> None:
        for handle in self._files:
            handle.close()
        self._files = []


def plan(files: list[Entry], base: str, locate: Callable[[str], str | None]) -> list[Member]:
    """Members for ``files``, named relative to ``base`` (the folder shown; "" for
    search results, which keep their share paths); ``locate`` gives a file's
    absolute path or None when it is gone."""
    prefix = base + "/" if base else ""
    members = []
    for entry in files:
        absolute = locate(entry.path)
        if absolute is None:
            continue
        arcname = entry.path[len(prefix) :] if entry.path.startswith(prefix) else entry.path
        members.append(Member(entry=entry, arcname=arcname, absolute=absolute))
    return members
