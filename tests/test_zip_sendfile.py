"""The contact page's zip sends catalogued members by ``sendfile`` with the catalog's
CRC-32, reads and CRCs the rest (and small ones, for which reading costs
less than asking the catalog), and gives the same bytes when iterated (TLS);
hang-ups, ZIP64 and files changed after cataloguing stay correct."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from urllib.parse import urlsplit

import pytest
import requests

from gateway.services import catalog, tracking
from gateway.services.home import open_home
from tests.factories import make_contact, make_grant, make_property
from tests.tools import HEAVY, ThreadedServer, certificate
from tests.tracking_tools import read_part_and_hang_up, stored_events, wait_for_events
from webui.zipping import CATALOG_CRC_FROM

pytestmark = pytest.mark.server

MiB = 1024 * 1024
FILES = {
    "Exposé Musterstraße 5.pdf": os.urandom(3 * MiB + 17),
    "Grundrisse/EG mit Garten.pdf": os.urandom(5 * MiB + 3),
    "Grundrisse/Küche & Bad.jpg": os.urandom(MiB),
    "leer.txt": b"",
    "notiz.txt": b"klein",
}


class FileCalls:
    """Bytes the server moved by ``os.sendfile`` and read by ``os.pread``."""

    def __init__(self, monkeypatch):
        self.sendfile = self.pread = 0
        real_sendfile, real_pread = os.sendfile, os.pread

        def sendfile(out_fd, in_fd, offset, count):
            sent = real_sendfile(out_fd, in_fd, offset, count)
            self.sendfile += sent
            return sent

        def pread(fd, count, offset):
            data = real_pread(fd, count, offset)
            self.pread += len(data)
            return data

        monkeypatch.setattr(os, "sendfile", sendfile)
        monkeypatch.setattr(os, "pread", pread)

    def clear(self):
        self.sendfile = self.pread = 0


@pytest.fixture
def calls(monkeypatch):
    return FileCalls(monkeypatch)


@pytest.fixture
def link(config):
    make_property(config, "obj-1", files=FILES)
    make_contact("4711")
    return urlsplit(make_grant(config, "obj-1", "4711").link).path


def fetch_zip(url: str, **kwargs) -> bytes:
    r = requests.get(url, **kwargs)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    assert int(r.headers["Content-Length"]) == len(r.content)
    return r.content


def members(body: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    return {name: archive.read(name) for name in archive.namelist()}


def big(files: dict[str, bytes]) -> int:
    """Bytes of the members that can go by ``sendfile``."""
    return sum(len(data) for data in files.values() if len(data) >= CATALOG_CRC_FROM)


def small(files: dict[str, bytes]) -> int:
    return sum(len(data) for data in files.values() if len(data) < CATALOG_CRC_FROM)


def test_catalogued_members_go_out_by_sendfile_without_being_read(server, config, link, calls):
    catalog.scan_all(config)
    calls.clear()
    body = fetch_zip(server.url + link + "/zip")
    assert members(body) == FILES  # umlauts, spaces and "&" survive
    assert calls.sendfile == big(FILES) > 0
    assert calls.pread == small(FILES) == len(b"klein")
    info = zipfile.ZipFile(io.BytesIO(body)).getinfo("Exposé Musterstraße 5.pdf")
    assert info.flag_bits & 0x800 and info.CRC == zlib.crc32(FILES["Exposé Musterstraße 5.pdf"])


def test_a_member_changed_after_cataloguing_is_read_and_crcd(server, config, link, calls):
    catalog.scan_all(config)
    folder = config.properties_dir / "obj-1"
    changed = folder / "Grundrisse" / "EG mit Garten.pdf"
    before = os.stat(changed)
    new = os.urandom(before.st_size)
    with open(changed, "r+b") as fh:  # same size, rewritten in place
        fh.write(new)
    os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old mtime
    (folder / "neu.pdf").write_bytes(b"never catalogued")
    calls.clear()
    got = members(fetch_zip(server.url + link + "/zip"))
    assert got == {**FILES, "Grundrisse/EG mit Garten.pdf": new, "neu.pdf": b"never catalogued"}
    assert calls.pread == len(new) + len(b"never catalogued") + small(FILES)
    assert calls.sendfile == big(FILES) - len(new)


def test_the_iterated_zip_over_tls_has_the_same_bytes(server, home, config, link, calls):
    catalog.scan_all(config)
    plain = fetch_zip(server.url + link + "/zip")
    cert, key = certificate(home.parent)
    tls_server = ThreadedServer(open_home(home, {"tls_cert": str(cert), "tls_key": str(key)}))
    calls.clear()
    try:
        tls = fetch_zip(tls_server.url + link + "/zip", verify=tls_server.verify)
    finally:
        tls_server.stop()
    assert tls == plain
    assert calls.sendfile == 0 and calls.pread == sum(map(len, FILES.values()))


def test_a_client_hanging_up_mid_zip_leaves_the_events_it_had(server, config, calls):
    size = 12 * MiB + 5
    files = {f"Film {n}.mp4": os.urandom(size) for n in range(4)}
    make_property(config, "obj-1", files=files)
    make_contact("4711")
    link = urlsplit(make_grant(config, "obj-1", "4711").link).path
    catalog.scan_all(config)
    received = read_part_and_hang_up(server.port, link + "/zip", {}, keep=14 * MiB)
    [zipped] = wait_for_events(1, action="zip")
    tracking.flush()
    downloads = stored_events(action="download")
    assert calls.pread == 0  # by sendfile, then cut
    assert zipped["complete"] is False and received <= zipped["bytes"] < zipped["size"]
    # in the order of the zip: the first member whole, the second cut, no others
    assert [(e["bytes"] == size, e["complete"]) for e in downloads] == [
        (True, True),
        (False, False),
    ]
    assert downloads[1]["bytes"] > 0 and downloads[0]["path"] != downloads[1]["path"]
    headers = zipped["bytes"] - sum(e["bytes"] for e in downloads)
    assert 0 < headers < 200  # two local headers and one data descriptor


@pytest.mark.slow
@HEAVY
def test_zip64_for_a_member_over_4_gib_by_sendfile(server, config, calls, tmp_path):
    big = 4 * 1024 * MiB + 7
    make_property(config, "obj-1", files={"zz nach dem Film.txt": b"danach"})
    with open(config.properties_dir / "obj-1" / "Rundgang 4K.mp4", "wb") as fh:
        fh.truncate(big)  # sparse: zeros that take no disk
    make_contact("4711")
    link = urlsplit(make_grant(config, "obj-1", "4711").link).path
    catalog.scan_all(config)
    calls.clear()
    saved = tmp_path / "download.zip"
    with requests.get(server.url + link + "/zip", stream=True) as r, open(saved, "wb") as out:
        assert r.status_code == 200
        length = int(r.headers["Content-Length"])
        for chunk in r.iter_content(MiB):
            if chunk == bytes(len(chunk)):
                out.seek(len(chunk), os.SEEK_CUR)  # keep the copy sparse too
            else:
                out.write(chunk)
        out.truncate()
    assert saved.stat().st_size == length
    assert calls.sendfile == big and calls.pread == len(b"danach")
    with zipfile.ZipFile(saved) as archive:
        film = archive.getinfo("Rundgang 4K.mp4")
        after = archive.getinfo("zz nach dem Film.txt")
        assert film.file_size == big and after.header_offset > big
        assert archive.read(after) == b"danach"  # its CRC checked too
        assert film.compress_type == zipfile.ZIP_STORED and film.compress_size == big
    with open(saved, "rb") as fh:  # the film's local header: its data follows it
        fh.seek(film.header_offset)
        header = struct.unpack(zipfile.structFileHeader, fh.read(zipfile.sizeFileHeader))
    assert header[0] == zipfile.stringFileHeader
    start = film.header_offset + zipfile.sizeFileHeader + header[-2] + header[-1]
    # What testzip() checks for the film, without reading 4 GiB of holes back through
    # the page cache (that took 10 s): the bytes received have the CRC the zip names.
    assert sparse_crc32(saved, start, big) == film.CRC


def sparse_crc32(path, start: int, length: int) -> int:
    """CRC-32 of ``length`` bytes of ``path`` from ``start``: the written parts are
    read, the holes of the sparse file count as the zeros they read as."""
    zeros = memoryview(bytes(64 * MiB))
    crc, position, end = 0, start, start + length
    with open(path, "rb") as fh:
        while position < end:
            try:
                data = min(os.lseek(fh.fileno(), position, os.SEEK_DATA), end)
            except OSError:  # ENXIO: nothing but a hole up to the end of the file
                data = end
            while position < data:
                step = min(len(zeros), data - position)
                crc = zlib.crc32(zeros[:step], crc)
                position += step
            if position == end:
                break
            hole = min(os.lseek(fh.fileno(), position, os.SEEK_HOLE), end)
            fh.seek(position)
            while position < hole:
                chunk = fh.read(min(64 * MiB, hole - position))
                assert chunk, "the file ended early"
                crc = zlib.crc32(chunk, crc)
                position += len(chunk)
    return crc
