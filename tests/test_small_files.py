"""Small files kept in memory are served only while they are unchanged, and
never where a fresh confined open would refuse them."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
import requests

from gateway.serving import small_files
from gateway.serving.small_files import SETTLED_SECONDS, SmallFiles
from gateway.shares import ConfinedFiles
from tests.factories import make_contact, make_grant, make_property
from tests.tools import wait_until_unchanged_for

PLAN = b"%PDF-1.7 Grundriss EG " * 100


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "properties"
    (root / "obj-1" / "Pläne").mkdir(parents=True)
    (root / "obj-1" / "Pläne" / "EG.pdf").write_bytes(PLAN)
    (root / "obj-1" / "klein.txt").write_bytes(b"eins")
    (tmp_path / "secret.txt").write_bytes(b"outside!" * 275)
    return root


def settled_files(root, **limits) -> SmallFiles:
    """Files count as settled at once: the tests need not wait for the clock."""
    return SmallFiles(ConfinedFiles(os.path.realpath(root)), settled_seconds=0, **limits)


def read_whole(files: SmallFiles, parts: list[str]) -> tuple[bytes | None, bool]:
    """The file's bytes and whether they came from memory (no descriptor opened)."""
    opened = files.open(parts)
    if opened is None:
        return None, False
    from_memory = opened.fd is None
    try:
        return opened.read(0, opened.info.st_size), from_memory
    finally:
        opened.close()


def rewrite_keeping_size_and_mtime(path, data: bytes) -> None:
    """What a careless sync tool does: new bytes, same length, old mtime put back."""
    before = os.stat(path)
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_read_file_is_served_from_memory_the_next_time(folder):
    files = settled_files(folder)
    assert read_whole(files, ["obj-1", "Pläne", "EG.pdf"]) == (PLAN, False)
    assert read_whole(files, ["obj-1", "Pläne", "EG.pdf"]) == (PLAN, True)


def test_a_rewrite_with_the_same_size_and_mtime_is_seen(folder):
    files = settled_files(folder)
    read_whole(files, ["obj-1", "klein.txt"])
    rewrite_keeping_size_and_mtime(folder / "obj-1" / "klein.txt", b"zwei")
    assert read_whole(files, ["obj-1", "klein.txt"]) == (b"zwei", False)


def test_a_freshly_changed_file_is_not_kept(folder):
    files = SmallFiles(ConfinedFiles(os.path.realpath(folder)))
    assert SETTLED_SECONDS >= 1
    read_whole(files, ["obj-1", "klein.txt"])  # written a moment ago
    assert read_whole(files, ["obj-1", "klein.txt"]) == (b"eins", False)


def test_a_folder_swapped_for_a_link_out_of_the_share_is_refused(folder, tmp_path):
    files = settled_files(folder)
    read_whole(files, ["obj-1", "Pläne", "EG.pdf"])
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.link(tmp_path / "secret.txt", outside / "EG.pdf")  # same size as PLAN
    os.rename(folder / "obj-1" / "Pläne", tmp_path / "moved-away")
    os.symlink(outside, folder / "obj-1" / "Pläne")
    assert read_whole(files, ["obj-1", "Pläne", "EG.pdf"]) == (None, False)


def test_a_file_swapped_for_a_link_is_refused(folder, tmp_path):
    files = settled_files(folder)
    read_whole(files, ["obj-1", "klein.txt"])
    os.unlink(folder / "obj-1" / "klein.txt")
    os.symlink(tmp_path / "secret.txt", folder / "obj-1" / "klein.txt")
    assert read_whole(files, ["obj-1", "klein.txt"]) == (None, False)


def test_a_file_that_gets_a_second_hard_link_is_refused(folder, tmp_path):
    files = settled_files(folder)
    read_whole(files, ["obj-1", "klein.txt"])
    os.link(folder / "obj-1" / "klein.txt", tmp_path / "twin.txt")
    assert read_whole(files, ["obj-1", "klein.txt"]) == (None, False)


def test_a_removed_file_is_gone(folder):
    files = settled_files(folder)
    read_whole(files, ["obj-1", "klein.txt"])
    os.unlink(folder / "obj-1" / "klein.txt")
    assert read_whole(files, ["obj-1", "klein.txt"]) == (None, False)


def test_memory_is_bounded_the_oldest_file_makes_room(folder):
    files = settled_files(folder, max_total_bytes=len(PLAN) + 2)
    read_whole(files, ["obj-1", "klein.txt"])
    read_whole(files, ["obj-1", "Pläne", "EG.pdf"])
    assert read_whole(files, ["obj-1", "Pläne", "EG.pdf"]) == (PLAN, True)
    assert read_whole(files, ["obj-1", "klein.txt"]) == (b"eins", False)


def test_larger_files_are_not_kept(folder):
    files = settled_files(folder, max_file_bytes=len(PLAN) - 1)
    read_whole(files, ["obj-1", "Pläne", "EG.pdf"])
    assert read_whole(files, ["obj-1", "Pläne", "EG.pdf"]) == (PLAN, False)


def test_nothing_is_kept_where_the_share_may_be_on_the_network(folder):
    files = SmallFiles(ConfinedFiles(os.path.realpath(folder)), settled_seconds=0, remember=False)
    read_whole(files, ["obj-1", "klein.txt"])
    assert read_whole(files, ["obj-1", "klein.txt"]) == (b"eins", False)


@pytest.mark.each_database
def test_files_are_kept_on_sqlite_only(config, database_url):
    """Several hosts (PostgreSQL) share files over NFS, whose stat may be cached."""
    files = small_files.for_share(os.path.realpath(config.properties_dir))
    assert files.remember == (database_url is None)


@pytest.mark.server
def test_the_server_never_sends_a_changed_file_s_old_bytes(server, config):
    """Over HTTP, WebDAV and the personal link: a file read while settled, then
    rewritten in place with its size and mtime kept, comes back new at once."""
    make_property(config, "obj-1", "Musterstraße 5", files={"expose.txt": b"Preis 450.000"})
    make_contact("4711")
    granted = make_grant(config, "obj-1", "4711")
    contact = (granted.username, granted.password)
    dav_url = server.url + "/view/obj-1/expose.txt"
    web_url = server.url + urlsplit(granted.link).path + "/download/expose.txt"
    path = config.properties_dir / "obj-1" / "expose.txt"
    wait_until_unchanged_for([path], SETTLED_SECONDS)  # settled: now it is kept once read
    for _ in range(2):
        assert requests.get(dav_url, auth=contact).content == b"Preis 450.000"
        assert requests.get(web_url).content == b"Preis 450.000"
    rewrite_keeping_size_and_mtime(path, b"Preis 399.000")
    assert requests.get(dav_url, auth=contact).content == b"Preis 399.000"
    assert requests.get(web_url).content == b"Preis 399.000"
