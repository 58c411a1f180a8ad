"""The "download all shown" button: one streamed zip of exactly the entries on the page.

Members are stored (no compression: PDFs and JPEGs do not shrink), so the length is
known before the first byte and browsers show progress; names are UTF-8, and ZIP64
records appear where a size or an offset needs them. Every member file is opened
before the response starts: a file that an agent replaces meanwhile (WebDAV writes a
new file and renames it) still comes out in the version that was shown. A file
rewritten in place while it is being read is cut or padded to its planned length,
so the zip stays valid; its member then counts as incomplete.

Speed (issue 6): on plain TCP the server hands the body its socket (``send_some``),
and a member whose opened file is still the catalogued version goes out by
``os.sendfile`` with the catalog's CRC-32, never read into Python. Any other member
(changed since cataloguing, never catalogued, or the body iterated, as over TLS) is
read and CRC'd as it goes out. Every member has a data descriptor, so which way a
member goes is decided when it is reached and the length is the same either way.
A file that changes while the kernel sends it leaves a CRC nobody can vouch for:
the connection is dropped, as for a file that shrinks during a plain download, and
the member counts as incomplete.

The zip records are written here because zipstream-ng, which wrote them before,
CRCs every byte in Python and takes no CRC known in advance.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import socket
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator

from gateway.delivery import FileBlocks
from webui.tree import Entry

_DATA_DESCRIPTOR = 0x08
_UTF8_NAME = 0x800
_UNIX = 3
_FILE_MODE = 0o600 << 16  # -rw-------, as zipstream-ng wrote it
_DOS_RANGE = ((1980, 1, 1, 0, 0, 0), (2107, 12, 31, 23, 59, 58))
_LIMIT = zipfile.ZIP64_LIMIT


class MemberChanged(ConnectionAbortedError):
    """Ends a zip whose member file changed while ``sendfile`` sent it: the catalog's
    CRC no longer vouches for the bytes that went out, so the connection is dropped
    rather than the zip finished with a wrong CRC."""

    def __init__(self):
        super().__init__(errno.ECONNABORTED, "a zip member changed while it was sent")


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


@dataclasses.dataclass
class _Slot:
    """A member's place in the zip: its open file, offset, header and CRC."""

    member: Member
    fd: int
    name: bytes
    flags: int
    dos: tuple[int, int]
    offset: int = 0
    #: From the catalog until the data goes out, then the CRC of what went out.
    crc: int | None = None

    @property
    def size(self) -> int:
        return self.member.entry.size

    @property
    def zip64(self) -> bool:
        return self.size > _LIMIT


class ZipDownload:
    """A sized zip stream over opened files; ``close()`` releases them.

    Iterate it for the bytes, or let it send itself: ``send_some`` (see
    ``gateway.delivery.CountingBody``). Both give the same bytes.
    ``known_crc(path, stat)`` is the catalog's CRC-32 of that version, or None.
    """

    def __init__(
        self,
        members: list[Member],
        block_size: int,
        known_crc: Callable[[str, os.stat_result], int | None],
    ):
        self.members = members
        self._block_size = block_size
        self._slots: list[_Slot] = []
        try:
            for member in members:
                self._slots.append(_open(member, known_crc))
        except BaseException:
            self.close()
            raise
        offset = 0
        for slot in self._slots:
            slot.offset = offset
            offset += len(_local_header(slot)) + slot.size + len(_descriptor(slot))
        self._data_end = offset
        self._length = offset + len(self._directory())  # CRC values do not change it
        self._cursor: Iterator | None = None
        self._out = memoryview(b"")
        self._sending: tuple[_Slot, FileBlocks] | None = None

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        return self._pieces(by_kernel=False)

    def _pieces(self, *, by_kernel: bool) -> Iterator:
        """Bytes, or (``by_kernel``) a slot whose data ``send_some`` sends itself."""
        for slot in self._slots:
            yield _local_header(slot)
            if by_kernel and slot.crc is not None and self._unchanged(slot):
                yield slot
            else:
                yield from self._read(slot)
            yield _descriptor(slot)  # runs once the data is out: the CRC is final
        yield self._directory()

    def send_some(self, sock: socket.socket, limit: int) -> int:
        """Send up to ``limit`` of the next bytes to ``sock``; the bytes sent, 0 at the
        end. Catalogued members go by ``sendfile``, the rest by ``send``."""
        if self._cursor is None:
            self._cursor = self._pieces(by_kernel=True)
        while True:
            if self._out:
                sent = sock.send(self._out[:limit])  # waits within the socket's timeout
                self._out = self._out[sent:]
                return sent
            if self._sending is not None:
                sent = self._send_data(sock, limit)
                if sent:
                    return sent
                continue
            piece = next(self._cursor, None)
            if piece is None:
                return 0
            if isinstance(piece, _Slot):
                piece.member.started = True
                # never closed: the descriptor stays ours (see close())
                self._sending = (piece, FileBlocks(piece.fd, 0, piece.size, self._block_size))
            else:
                self._out = memoryview(piece)

    def _send_data(self, sock: socket.socket, limit: int) -> int:
        slot, blocks = self._sending
        sent = blocks.send_some(sock, limit)  # FileShrank when the file got shorter
        slot.member.sent += sent
        if slot.member.sent == slot.size:
            self._sending = None
            if not self._unchanged(slot):
                raise MemberChanged()
            slot.member.complete = True
        return sent

    def _unchanged(self, slot: _Slot) -> bool:
        """The opened file is still the version it was opened as (the catalog's)."""
        now, then = os.fstat(slot.fd), slot.member.stat
        return (now.st_size, now.st_mtime_ns, now.st_ctime_ns) == (
            then.st_size,
            then.st_mtime_ns,
            then.st_ctime_ns,
        )

    def _read(self, slot: _Slot) -> Iterator[bytes]:
        member = slot.member
        member.started = True
        size, offset, crc, padded = slot.size, 0, 0, False
        while offset < size:
            chunk = os.pread(slot.fd, min(self._block_size, size - offset), offset)
            if not chunk:  # the file shrank while we read it: pad to the planned length
                chunk = bytes(min(self._block_size, size - offset))
                padded = True
            crc = zlib.crc32(chunk, crc)
            offset += len(chunk)
            yield chunk
            member.sent += len(chunk)  # runs once the server asked for the next chunk
        slot.crc = crc
        member.complete = not padded

    def _directory(self) -> bytes:
        """Central directory and end records (ZIP64 ones where needed)."""
        entries = b"".join(_central_header(slot) for slot in self._slots)
        start, count, size = self._data_end, len(self._slots), len(entries)
        tail = b""
        if count >= zipfile.ZIP_FILECOUNT_LIMIT or start > _LIMIT or size > _LIMIT:
            tail = struct.pack(
                zipfile.structEndArchive64,
                zipfile.stringEndArchive64,
                44,  # the size of the rest of this record
                zipfile.ZIP64_VERSION,
                zipfile.ZIP64_VERSION,
                0,
                0,
                count,
                count,
                size,
                start,
            ) + struct.pack(
                zipfile.structEndArchive64Locator,
                zipfile.stringEndArchive64Locator,
                0,
                start + size,
                1,
            )
            count, size, start = min(count, 0xFFFF), min(size, 0xFFFFFFFF), min(start, 0xFFFFFFFF)
        end = struct.pack(
            zipfile.structEndArchive, zipfile.stringEndArchive, 0, 0, count, count, size, start, 0
        )
        return entries + tail + end

    def close(self) -> None:
        for slot in self._slots:
            os.close(slot.fd)
        self._slots = []


def _open(member: Member, known_crc: Callable[[str, os.stat_result], int | None]) -> _Slot:
    fd = os.open(member.absolute, os.O_RDONLY | os.O_CLOEXEC)
    try:
        info = member.stat = os.fstat(fd)
        member.entry = dataclasses.replace(member.entry, size=info.st_size)
        try:
            name, flags = member.arcname.encode("ascii"), _DATA_DESCRIPTOR
        except UnicodeEncodeError:
            name, flags = member.arcname.encode("utf-8"), _DATA_DESCRIPTOR | _UTF8_NAME
        crc = known_crc(member.entry.path, info)
        return _Slot(member, fd, name, flags, _dos_time(info.st_mtime), crc=crc)
    except BaseException:
        os.close(fd)
        raise


def _dos_time(mtime: float) -> tuple[int, int]:
    """(date, time) of ``mtime`` as zip stores it: local time, within 1980 to 2107."""
    try:
        when = min(max(time.localtime(mtime)[:6], _DOS_RANGE[0]), _DOS_RANGE[1])
    except (OverflowError, OSError, ValueError):
        when = _DOS_RANGE[0]
    return (
        (when[0] - 1980) << 9 | when[1] << 5 | when[2],
        when[3] << 11 | when[4] << 5 | when[5] // 2,
    )


def _local_header(slot: _Slot) -> bytes:
    """CRC and sizes follow in the data descriptor; a ZIP64 member announces the
    8-byte sizes of its descriptor with an (empty) ZIP64 extra field."""
    extra = struct.pack("<HHQQ", 1, 16, 0, 0) if slot.zip64 else b""
    sizes = 0xFFFFFFFF if slot.zip64 else 0
    header = struct.pack(
        zipfile.structFileHeader,
        zipfile.stringFileHeader,
        zipfile.ZIP64_VERSION if slot.zip64 else zipfile.DEFAULT_VERSION,
        0,
        slot.flags,
        zipfile.ZIP_STORED,
        slot.dos[1],
        slot.dos[0],
        0,
        sizes,
        sizes,
        len(slot.name),
        len(extra),
    )
    return header + slot.name + extra


def _descriptor(slot: _Slot) -> bytes:
    crc = slot.crc or 0  # 0 only while the length is worked out
    return struct.pack(
        "<4sLQQ" if slot.zip64 else "<4sLLL", b"PK\x07\x08", crc, slot.size, slot.size
    )


def _central_header(slot: _Slot) -> bytes:
    values = [slot.size, slot.size] if slot.zip64 else []
    if slot.offset > _LIMIT:
        values.append(slot.offset)
    extra = struct.pack(f"<HH{len(values)}Q", 1, 8 * len(values), *values) if values else b""
    version = zipfile.ZIP64_VERSION if values else zipfile.DEFAULT_VERSION
    size = 0xFFFFFFFF if slot.zip64 else slot.size
    header = struct.pack(
        zipfile.structCentralDir,
        zipfile.stringCentralDir,
        version,
        _UNIX,
        version,
        0,
        slot.flags,
        zipfile.ZIP_STORED,
        slot.dos[1],
        slot.dos[0],
        slot.crc or 0,
        size,
        size,
        len(slot.name),
        len(extra),
        0,
        0,
        0,
        _FILE_MODE,
        min(slot.offset, 0xFFFFFFFF),
    )
    return header + slot.name + extra


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
