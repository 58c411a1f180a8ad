"""The "download all shown" button: one streamed zip of exactly the entries on the page.

Members are stored (no compression: PDFs and JPEGs do not shrink), so the length is
known before the first byte and browsers show progress; names are UTF-8, and ZIP64
records appear where a size or an offset needs them. The sizes are taken by one
``lstat`` per member when the zip starts; each member file is opened only when its
turn comes and closed before the next one is opened, so a zip of 100,000 files
holds one descriptor, not 100,000. A member file that changes before or while it
is sent (rewritten in place, or replaced by a new file as WebDAV does it) is cut or
padded with zeros to its announced length, so the zip stays valid; that member
then counts as incomplete. One replaced by a file of the same size goes out in its
new version, and the tracking records that version's hash. A member that is gone
by its turn is all zeros and not recorded as downloaded.

Speed: on plain TCP the server hands the body its socket (``send_some``),
and a member of at least ``CATALOG_CRC_FROM`` whose opened file is still the
catalogued version goes out by ``os.sendfile`` with the catalog's CRC-32, never read
into Python. Any other member (changed since cataloguing, never catalogued, or the
body iterated, as over TLS) is read and CRC'd as it goes out; a small one is read
at once, hashed for its tracking event and sent with its header and descriptor in
one piece, so 100,000 small files cost no query and one send each. Every member
has a data descriptor, so which way a member goes is decided when it is reached and
the length is the same either way. A file that changes while the kernel sends it
leaves a CRC nobody can vouch for: the connection is dropped, as for a file that
shrinks during a plain download, and the member counts as incomplete.

The zip records are written here because zipstream-ng, which wrote them before,
CRCs every byte in Python and takes no CRC known in advance.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import socket
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator

from gateway.serving.delivery import FileBlocks
from gateway.shares import is_served_file
from webui.tree import Entry

_DATA_DESCRIPTOR = 0x08
_UTF8_NAME = 0x800
_UNIX = 3
_FILE_MODE = 0o600 << 16  # -rw-------, as zipstream-ng wrote it
_DOS_RANGE = ((1980, 1, 1, 0, 0, 0), (2107, 12, 31, 23, 59, 58))
_LIMIT = zipfile.ZIP64_LIMIT
#: Members this big ask the catalog for their CRC, and may go out by ``sendfile``;
#: smaller ones are read, CRC'd and hashed for less than the catalog query costs.
CATALOG_CRC_FROM = 64 * 1024
_CENTRAL_HEADER_SIZE = struct.calcsize(zipfile.structCentralDir)
#: Central directory entries sent in one piece (some 80 bytes each).
_DIRECTORY_BATCH = 1024
_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK


class MemberChanged(ConnectionAbortedError):
    """Ends a zip whose member file changed while ``sendfile`` sent it: the catalog's
    CRC no longer vouches for the bytes that went out, so the connection is dropped
    rather than the zip finished with a wrong CRC."""

    def __init__(self):
        super().__init__(errno.ECONNABORTED, "a zip member changed while it was sent")


@dataclasses.dataclass(slots=True)
class Member:
    """One file of the zip and how much of it went out."""

    entry: Entry
    arcname: str
    absolute: str
    size: int = 0  # as announced: the file's size when the zip started
    stat: os.stat_result | None = None  # the version sent: the file as it was opened
    sha256: str | None = None  # of a small member that went out whole, hashed on the way
    sent: int = 0
    started: bool = False
    complete: bool = False


@dataclasses.dataclass(slots=True)
class _Slot:
    """A member's place in the zip: its offset, header, CRC and, during its turn
    only, its open file."""

    member: Member
    name: bytes
    flags: int
    dos: tuple[int, int]
    offset: int = 0
    #: From the catalog until the data goes out, then the CRC of what went out.
    crc: int | None = None
    fd: int = -1

    @property
    def size(self) -> int:
        return self.member.size

    @property
    def zip64(self) -> bool:
        return self.size > _LIMIT


class ZipDownload:
    """A sized zip stream over files opened one at a time; ``close()`` releases the
    one open now.

    Iterate it for the bytes, or let it send itself: ``send_some`` (see
    ``gateway.serving.delivery.CountingBody``). Both give the same bytes.
    ``known_crc(path, stat)`` is the catalog's CRC-32 of that version, or None.
    ``before_send(member)`` runs in a member's turn before any of its bytes go out,
    with its ``stat`` or, for a small member read whole, its ``sha256`` (its version
    is kept then: ``served_versions``).
    ``members`` are those still there when the zip started.
    """

    def __init__(
        self,
        members: list[Member],
        block_size: int,
        known_crc: Callable[[str, os.stat_result], int | None],
        before_send: Callable[[Member], None] | None = None,
    ):
        self._block_size = block_size
        self._known_crc = known_crc
        self._before_send = before_send
        self._slots = [slot for slot in map(_planned, members) if slot is not None]
        self.members = [slot.member for slot in self._slots]
        offset = 0
        for slot in self._slots:
            slot.offset = offset
            offset += len(_local_header(slot)) + slot.size + len(_descriptor(slot))
        self._data_end = offset
        self._directory_size = sum(map(_central_size, self._slots))
        self._length = offset + self._directory_size + len(self._end_records())
        self._cursor: Iterator | None = None
        self._out = memoryview(b"")
        self._sending: tuple[_Slot, FileBlocks] | None = None
        self._current: _Slot | None = None

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        return self._pieces(by_kernel=False)

    def _pieces(self, *, by_kernel: bool) -> Iterator:
        """Bytes, or (``by_kernel``) a slot whose data ``send_some`` sends itself."""
        for slot in self._slots:
            self._open(slot)
            member = slot.member
            member.started = slot.fd >= 0
            try:
                if slot.size < CATALOG_CRC_FROM:  # header, data and descriptor at once
                    data = b"".join(self._data(slot))
                    if member.complete:  # its version named: the stat is not needed
                        member.sha256 = hashlib.sha256(data).hexdigest()
                        member.stat = None  # some 600 bytes, times 100,000 members
                    self._announce(member)
                    yield _local_header(slot) + data + _descriptor(slot)
                    member.sent = len(data) if member.started else 0
                    continue
                self._announce(member)
                yield _local_header(slot)
                if by_kernel and slot.crc is not None:
                    yield slot
                else:
                    for chunk in self._data(slot):
                        yield chunk
                        if member.started:  # once the server asked for the next chunk
                            member.sent += len(chunk)
            finally:
                self._close(slot)
            yield _descriptor(slot)  # runs once the data is out: the CRC is final
        for first in range(0, len(self._slots), _DIRECTORY_BATCH):
            yield b"".join(map(_central_header, self._slots[first : first + _DIRECTORY_BATCH]))
        yield self._end_records()

    def _announce(self, member: Member) -> None:
        if member.started and self._before_send is not None:
            self._before_send(member)

    def _open(self, slot: _Slot) -> None:
        """Open the member's file for its turn; the CRC from the catalog when the
                opened version is the catalogued one and has the announced size. A file
                that is gone, or no longer a file the share serves (``is_served_file``: a regular
        file with one link), stays closed (zeros go out)."""
        member = slot.member
        try:
            # no link followed, and a FIFO put in its place cannot block the open
            fd = os.open(member.absolute, _OPEN_FLAGS)
        except OSError:
            return
        try:
            info = os.fstat(fd)
        except BaseException:
            os.close(fd)
            raise
        if not is_served_file(info):
            os.close(fd)
            return
        slot.fd, member.stat, self._current = fd, info, slot  # close() reaches it now
        if info.st_size == slot.size >= CATALOG_CRC_FROM:
            slot.crc = self._known_crc(member.entry.path, info)

    def _close(self, slot: _Slot) -> None:
        fd, slot.fd = slot.fd, -1
        if self._current is slot:
            self._current = None
        if fd >= 0:
            os.close(fd)

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
                # never closed by itself: the descriptor is the slot's (see _close)
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

    def _data(self, slot: _Slot) -> Iterator[bytes]:
        """The member's announced length in blocks: its file cut there, or padded
        with zeros where it is shorter (or gone). Once through: its CRC, and whether
        the whole file went out unchanged."""
        member = slot.member
        size, offset, crc, padded = slot.size, 0, 0, slot.fd < 0
        while offset < size:
            length = min(self._block_size, size - offset)
            chunk = b"" if padded else os.pread(slot.fd, length, offset)
            if not chunk:  # the file shrank while we read it: pad to the planned length
                chunk = bytes(length)
                padded = True
            crc = zlib.crc32(chunk, crc)
            offset += len(chunk)
            yield chunk
        slot.crc = crc
        member.complete = (
            member.started and not padded and member.stat.st_size == size and self._unchanged(slot)
        )

    def _end_records(self) -> bytes:
        """The end of the central directory (ZIP64 records where needed)."""
        start, count, size = self._data_end, len(self._slots), self._directory_size
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
        return tail + end

    def close(self) -> None:
        """Close the member file open now, if any (a client that hung up)."""
        if self._current is not None:
            self._close(self._current)


def _planned(member: Member) -> _Slot | None:
    """The member's slot, sized by an ``lstat`` now; None if it is gone or no longer
    a file the share serves (``is_served_file``)."""
    try:
        info = os.lstat(member.absolute)
    except OSError:
        return None
    if not is_served_file(info):
        return None
    member.size = info.st_size
    try:
        name, flags = member.arcname.encode("ascii"), _DATA_DESCRIPTOR
    except UnicodeEncodeError:
        name, flags = member.arcname.encode("utf-8"), _DATA_DESCRIPTOR | _UTF8_NAME
    return _Slot(member, name, flags, _dos_time(info.st_mtime))


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


def _zip64_values(slot: _Slot) -> list[int]:
    """What the central header's ZIP64 extra field holds for ``slot``."""
    values = [slot.size, slot.size] if slot.zip64 else []
    if slot.offset > _LIMIT:
        values.append(slot.offset)
    return values


def _central_size(slot: _Slot) -> int:
    """``len(_central_header(slot))``, without building it."""
    values = len(_zip64_values(slot))
    return _CENTRAL_HEADER_SIZE + len(slot.name) + (4 + 8 * values if values else 0)


def _central_header(slot: _Slot) -> bytes:
    values = _zip64_values(slot)
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
