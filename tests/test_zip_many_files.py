"""A zip of a folder with 100,000 files: every member arrives, and the server opens
them one at a time (its descriptors stay few, under a limit of 1,024), with bounded
memory. Files that vanish or turn into links before their turn leave a valid zip."""

from __future__ import annotations

import io
import os
import zipfile
from urllib.parse import urlsplit

import pytest
import requests

from gateway.models import AccessEvent, CatalogEntry
from tests.contact_page import find
from tests.factories import make_contact, make_grant, make_property
from tests.tools import HEAVY, PeakMemory, Sampler, ServerProcess, rss_bytes, wait_until
from webui.tree import Entry
from webui.zipping import ZipDownload, plan

pytestmark = pytest.mark.server

FILES = 100_000
OPEN_FILES_LIMIT = 1024
#: Descriptors a zip may add to the server's: the member being sent and the like.
MAX_EXTRA_FILES = 16
#: The plan of 100,000 members: some 600 bytes each (the file name thrice, sizes, CRC),
#: about 57 MiB, plus the allocator's slack: the same bound as every other memory test.
MAX_GROWTH = 100 * 1024 * 1024
#: A deadline that only catches hangs: hashing 100,000 files on a busy CI machine.
SCAN_SECONDS = 600
#: The whole test's hang deadline (pytest-timeout's 300 s is too short for it on a
#: loaded machine: it took 290 s there).
TEST_SECONDS = 2 * SCAN_SECONDS


def content(number: int) -> bytes:
    return bytes([65 + number % 26])


def write_files(folder) -> None:
    """``Beleg 000000.txt`` … in ``folder``, each of one byte: names relative to the
    open folder, so the kernel does not walk the long path 100,000 times."""
    contents = [content(number) for number in range(26)]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for number in range(FILES):
            fd = os.open(f"Beleg {number:06d}.txt", flags, 0o644, dir_fd=folder_fd)
            try:
                os.write(fd, contents[number % 26])
            finally:
                os.close(fd)
    finally:
        os.close(folder_fd)


def catalogued(key: str) -> int:
    return CatalogEntry.select().where(CatalogEntry.property == key).count()


def downloads(key: str, **match) -> int:
    query = AccessEvent.select().where(
        (AccessEvent.property == key) & (AccessEvent.action == "download")
    )
    for name, value in match.items():
        query = query.where(getattr(AccessEvent, name) == value)
    return query.count()


@pytest.mark.slow
@pytest.mark.timeout(TEST_SECONDS)
@HEAVY
def test_a_zip_of_100000_files_opens_one_at_a_time(config, home, tmp_path):
    make_property(config, "viele", "Viele Dateien")
    folder = config.properties_dir / "viele" / "Belege"
    folder.mkdir()
    write_files(folder)
    make_contact("4711")
    link = urlsplit(make_grant(config, "viele", "4711").link).path
    server = ServerProcess(home, open_files=OPEN_FILES_LIMIT)
    saved = tmp_path / "belege.zip"
    try:
        # the start-up scan catalogues them first: the zip runs alone
        wait_until(
            lambda: catalogued("viele") == FILES,
            timeout=SCAN_SECONDS,
            message="the start-up scan never catalogued every file",
            interval=0.5,
        )
        with requests.Session() as http:
            page = http.get(server.url + link)
            assert page.status_code == 200
            [button] = find(page.text, "zip")  # the one folder shown: everything
            baseline = server.open_files
            memory_before = rss_bytes(server.proc.pid)
            with Sampler(lambda: server.open_files, 0.01) as descriptors:
                with PeakMemory(server.proc.pid) as memory:
                    with http.get(server.url + button.attrs["href"], stream=True) as r:
                        assert r.status_code == 200, r.text[:500]
                        length = int(r.headers["Content-Length"])
                        with open(saved, "wb") as out:
                            for chunk in r.iter_content(1024 * 1024):
                                out.write(chunk)
        assert server.proc.poll() is None
        wait_until(  # recorded once the zip closed
            lambda: downloads("viele") == FILES,
            timeout=SCAN_SECONDS,
            message="not every member was recorded",
            interval=0.5,
        )
    finally:
        server.stop()
    assert saved.stat().st_size == length
    with zipfile.ZipFile(saved) as archive:
        infos = archive.infolist()
        assert len(infos) == FILES
        assert {info.filename for info in infos} == {
            f"Belege/Beleg {number:06d}.txt" for number in range(FILES)
        }
        for number in (0, 1, 25, 26, FILES // 2, FILES - 1):
            assert archive.read(f"Belege/Beleg {number:06d}.txt") == content(number)
        assert archive.testzip() is None  # every member's CRC
    growth = memory.peak - memory_before
    print(
        f"{FILES} members: descriptors {baseline} → at most {descriptors.peak}, "
        f"RSS growth {growth / 1024**2:.1f} MiB"
    )
    assert descriptors.peak - baseline <= MAX_EXTRA_FILES
    assert growth < MAX_GROWTH
    [zipped] = AccessEvent.select().where(AccessEvent.action == "zip")
    assert (zipped.bytes, zipped.complete) == (length, True)
    assert downloads("viele", complete=True, bytes=1) == FILES


def own_open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_members_are_opened_in_turn_and_changes_before_it_stay_valid(tmp_path):
    folder = tmp_path / "share"
    folder.mkdir()
    names = [f"{number:02d}.pdf" for number in range(20)]
    for name in names:
        (folder / name).write_bytes(name.encode() * 1000)
    (tmp_path / "secret.txt").write_bytes(b"SECRET" * 1000)
    entries = [Entry(name, name, "file", 0, 0.0) for name in names]
    download = ZipDownload(plan(entries, "", lambda path: str(folder / path)), 4096, no_crc)
    before = own_open_files()
    (folder / "05.pdf").unlink()  # gone before its turn
    (folder / "06.pdf").unlink()  # a link out of the share in its place
    (folder / "06.pdf").symlink_to(tmp_path / "secret.txt")
    (folder / "07.pdf").write_bytes(b"shorter")  # rewritten in place
    body, most_open = b"", before
    for piece in download:
        body += piece
        most_open = max(most_open, own_open_files())
    download.close()
    assert len(body) == len(download)
    assert most_open - before <= 1 and own_open_files() == before
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    assert archive.namelist() == names
    assert archive.read("04.pdf") == b"04.pdf" * 1000
    assert archive.read("05.pdf") == archive.read("06.pdf") == bytes(6000)  # never followed
    assert archive.read("07.pdf") == b"shorter".ljust(6000, b"\0")
    state = {m.entry.name: (m.started, m.complete, m.sent) for m in download.members}
    assert state["04.pdf"] == (True, True, 6000)
    assert state["05.pdf"] == state["06.pdf"] == (False, False, 0)  # no download recorded
    assert state["07.pdf"][:2] == (True, False)


def no_crc(path, stat):
    return None
