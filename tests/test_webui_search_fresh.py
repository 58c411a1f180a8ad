"""The contact page and its search keep each folder's listing between requests,
yet show the changes an agent makes: added, removed, renamed, replaced and
rewritten files, in the top folder and in subfolders, by this process or another
one, while the listing is warm.

A change of a folder's entries (add, remove, rename, replace by rename: what WebDAV
uploads do) changes the folder's own ``lstat``, which every page load checks: it
shows on the very next load. A file rewritten in place, or given a new time, leaves
its folder as it was; the catalog watcher reports it after a thread hand-over, so
those tests wait for it to show. The trust period is an hour here, on a clock the
tests move themselves, so that only the ``lstat`` or the watcher can make a change
show, and the trust period ends when a test says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from tests.contact_page import entries, entry_names, make_share
from tests.tools import wait_until, wait_until_unchanged_for
from webui import tree

pytestmark = pytest.mark.server

#: What counts as changed just now here, instead of two seconds.
RECENT_NS = 100_000_000
FILES = {
    "Exposé.pdf": b"%PDF expose " + b"x" * 3000,
    "notizen.txt": b"Besichtigung am Montag",
    "Grundrisse/Grundriss EG.pdf": b"%PDF eg " + b"e" * 1200,
    "Grundrisse/Keller/Grundriss Keller.pdf": b"%PDF keller " + b"k" * 800,
}


@pytest.fixture(autouse=True)
def recent_is_a_tenth_of_a_second(monkeypatch):
    """A folder changed within RECENT_NS is read again on every load; the tests wait
    out a tenth of a second (many clock ticks) instead of two, then run warm."""
    monkeypatch.setattr(tree, "RECENT_NS", RECENT_NS)


class TrustClock:
    """The monotonic clock of ``webui.tree``, moved only by the test; the wall clock
    (which the folders' timestamps are compared with) stays the real one."""

    def __init__(self):
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    @staticmethod
    def time_ns() -> int:
        return time.time_ns()

    def pass_trust_period(self) -> None:
        self.now += tree.TRUST_SECONDS + 1


@pytest.fixture(autouse=True)
def trust_clock(monkeypatch) -> TrustClock:
    """A trust period of an hour that ends only when the test moves the clock."""
    clock = TrustClock()
    monkeypatch.setattr(tree, "TRUST_SECONDS", 3_600.0)
    monkeypatch.setattr(tree, "time", clock)
    return clock


@pytest.fixture
def share(config):
    return make_share(config, files=FILES)


@pytest.fixture
def folder(config):
    return config.properties_dir / "obj-1"


def page(server, share, path="", **params) -> str:
    r = requests.get(server.url + share.link + path, params=params, timeout=30)
    assert r.status_code == 200
    return r.text


def search(server, share, query: str) -> list[str]:
    return [e.attrs["data-path"] for e in entries(page(server, share, q=query))]


def sizes(html: str) -> dict[str, int]:
    return {
        e.attrs["data-name"]: int(e.attrs["data-size"])
        for e in entries(html)
        if "data-size" in e.attrs
    }


def entry_text(html: str, name: str) -> str:
    (entry,) = [e for e in entries(html) if e.attrs["data-name"] == name]
    return " ".join(entry.text.split())


def settled(folder) -> None:
    """Wait until no folder of the share changed within RECENT_NS: then it is kept."""
    folders = [folder, *(p for p in folder.rglob("*") if p.is_dir())]
    wait_until_unchanged_for(folders, RECENT_NS / 1e9)


def warm(server, share, folder) -> None:
    """The top folder, a subfolder and a search, each twice: every listing is kept."""
    settled(folder)
    for _ in range(2):
        page(server, share)
        page(server, share, "/browse/Grundrisse")
        page(server, share, q="grundriss")


def shows(read, expected):
    """``read()`` until it gives ``expected``: a watcher report on its way."""
    wait_until(lambda: read() == expected, message=lambda: f"{read()!r}, not {expected!r}")
    return read()


def count_reads(monkeypatch) -> list:
    reads = []
    real_read = tree._read_folder
    monkeypatch.setattr(tree, "_read_folder", lambda *a: reads.append(a) or real_read(*a))
    return reads


# --- kept, and checked on every load ------------------------------------------------


def test_a_warm_listing_is_reused_without_reading_the_folder(server, share, folder, monkeypatch):
    warm(server, share, folder)
    reads = count_reads(monkeypatch)
    assert search(server, share, "grundriss") == [
        "Grundrisse",
        "Grundrisse/Grundriss EG.pdf",
        "Grundrisse/Keller/Grundriss Keller.pdf",
    ]
    page(server, share)
    assert reads == []


def test_a_folder_changed_just_now_is_read_on_every_load(server, share, folder, monkeypatch):
    """A folder's timestamp may not tell apart two changes within one clock tick."""
    monkeypatch.setattr(tree, "RECENT_NS", 3_600 * 10**9)
    warm(server, share, folder)
    reads = count_reads(monkeypatch)
    page(server, share)
    assert reads


# --- a folder's entries change: the next load -----------------------------------------


def test_an_added_file_shows_on_the_next_load_and_search(server, share, folder):
    warm(server, share, folder)
    (folder / "Energieausweis.pdf").write_bytes(b"%PDF energie")
    assert "Energieausweis.pdf" in entry_names(page(server, share))
    assert search(server, share, "energie") == ["Energieausweis.pdf"]


def test_a_removed_file_is_gone_on_the_next_load_and_search(server, share, folder):
    warm(server, share, folder)
    (folder / "notizen.txt").unlink()
    assert "notizen.txt" not in entry_names(page(server, share))
    assert search(server, share, "notizen") == []


def test_a_renamed_file_shows_under_its_new_name_only(server, share, folder):
    warm(server, share, folder)
    os.rename(folder / "notizen.txt", folder / "Protokoll.txt")
    names = entry_names(page(server, share))
    assert "Protokoll.txt" in names and "notizen.txt" not in names
    assert search(server, share, "protokoll") == ["Protokoll.txt"]
    assert search(server, share, "notizen") == []


def test_a_file_replaced_as_webdav_does_shows_its_new_size(server, share, folder):
    warm(server, share, folder)
    temporary = folder / ".~immoshare-upload-1"
    temporary.write_bytes(b"%PDF neu " + b"n" * 5000)
    os.replace(temporary, folder / "Exposé.pdf")
    html = page(server, share)
    assert sizes(html)["Exposé.pdf"] == 5009
    assert ".~immoshare" not in html


def test_a_file_added_in_a_subfolder_shows_there_in_search_and_in_the_folder_size(
    server, share, folder
):
    warm(server, share, folder)
    assert "2,0 KB" in entry_text(page(server, share), "Grundrisse")
    (folder / "Grundrisse" / "Keller" / "Heizung.pdf").write_bytes(b"h" * 3000)
    assert "5,0 KB" in entry_text(page(server, share), "Grundrisse")
    assert "Heizung.pdf" in entry_names(page(server, share, "/browse/Grundrisse/Keller"))
    assert search(server, share, "heizung") == ["Grundrisse/Keller/Heizung.pdf"]


def test_a_removed_subfolder_is_gone_from_page_and_search(server, share, folder):
    warm(server, share, folder)
    (folder / "Grundrisse" / "Keller" / "Grundriss Keller.pdf").unlink()
    (folder / "Grundrisse" / "Keller").rmdir()
    assert search(server, share, "keller") == []
    (folder / "Grundrisse" / "Grundriss EG.pdf").unlink()
    (folder / "Grundrisse").rmdir()
    assert "Grundrisse" not in entry_names(page(server, share))
    assert search(server, share, "grundriss") == []


def test_hidden_names_stay_hidden_in_a_warm_listing(server, share, folder):
    warm(server, share, folder)
    (folder / ".DS_Store").write_bytes(b"junk")
    (folder / "~$Exposé.docx").write_bytes(b"lock")
    assert entry_names(page(server, share)) == ["Grundrisse", "Exposé.pdf", "notizen.txt"]
    assert search(server, share, "expos") == ["Exposé.pdf"]


def test_an_entry_added_by_another_nfs_client_shows_without_any_watcher_report(
    config, share, folder, monkeypatch
):
    """No watcher here sees the change, as on another NFS client: the folder's lstat
    on the next walk does."""
    monkeypatch.setattr(tree.watcher, "watching", lambda path: True)
    tree.watch_listing_cache()
    share_tree = tree.ShareTree(str(folder))
    settled(folder)
    share_tree.walk([])
    reads = count_reads(monkeypatch)
    share_tree.walk([])
    assert reads == []
    (folder / "Grundrisse" / "Lageplan.pdf").write_bytes(b"%PDF lageplan")
    assert "Grundrisse/Lageplan.pdf" in [e.path for e in share_tree.walk([])]


# --- a file changes in place: the watcher's report ----------------------------------


def test_a_file_rewritten_in_place_shows_its_new_size(server, share, folder):
    warm(server, share, folder)
    inode = (folder / "notizen.txt").stat().st_ino
    new = b"Besichtigung verschoben auf Dienstag, 10 Uhr"
    (folder / "notizen.txt").write_bytes(new)
    assert (folder / "notizen.txt").stat().st_ino == inode  # same file, same name
    assert shows(lambda: sizes(page(server, share))["notizen.txt"], len(new)) == len(new)
    assert sizes(page(server, share, q="notizen"))["notizen.txt"] == len(new)


def test_a_new_modification_time_shows_as_the_new_date(server, share, folder):
    warm(server, share, folder)
    os.utime(folder / "notizen.txt", (1_000_000_000, 1_000_000_000))  # 9 September 2001

    def shown_date():
        return "09.09.2001" in entry_text(page(server, share), "notizen.txt")

    assert shows(shown_date, True)


def test_a_file_rewritten_in_a_subfolder_changes_the_folder_size(server, share, folder):
    warm(server, share, folder)
    (folder / "Grundrisse" / "Keller" / "Grundriss Keller.pdf").write_bytes(b"k" * 10)

    def folder_size_shown():
        return "Ordner · 1,2 KB" in entry_text(page(server, share), "Grundrisse")  # 1208 + 10

    assert shows(folder_size_shown, True)
    assert sizes(page(server, share, q="keller"))["Grundriss Keller.pdf"] == 10


def test_a_change_made_by_another_process_shows(server, share, folder):
    warm(server, share, folder)
    script = (
        "import sys; from pathlib import Path\n"
        "Path(sys.argv[1]).write_bytes(b'z' * 7000)\n"
        "Path(sys.argv[2]).write_bytes(b'%PDF anderer Prozess')\n"
    )
    target = folder / "Grundrisse" / "Grundriss EG.pdf"
    subprocess.run([sys.executable, "-c", script, target, folder / "Lageplan.pdf"], check=True)
    assert search(server, share, "lageplan") == ["Lageplan.pdf"]  # a new entry: at once

    def rewritten_size():
        return sizes(page(server, share, "/browse/Grundrisse"))["Grundriss EG.pdf"]

    assert shows(rewritten_size, 7000) == 7000


def test_a_file_hard_linked_elsewhere_is_refused_at_once_and_unlisted_soon(
    server, share, folder, tmp_path, trust_clock
):
    """A second link changes neither the folder nor anything inotify reports on a
    folder watch: the download refuses the file at once (it checks every time), the
    listing drops it when its trust period ends."""
    warm(server, share, folder)
    os.link(folder / "notizen.txt", tmp_path / "outside.txt")
    download = requests.get(server.url + share.link + "/download/notizen.txt", timeout=30)
    assert download.status_code == 404
    trust_clock.pass_trust_period()
    assert "notizen.txt" not in entry_names(page(server, share))
    assert search(server, share, "notizen") == []


# --- no watcher, or no word from it -----------------------------------------------


def test_without_a_watcher_every_walk_reads_the_folders(config, share, folder):
    share_tree = tree.ShareTree(str(folder))
    assert not tree.watcher.watching(share_tree.root)
    share_tree.walk([])
    (folder / "notizen.txt").write_bytes(b"x" * 99)
    (found,) = [e for e in share_tree.walk([]) if e.name == "notizen.txt"]
    assert found.size == 99


def test_a_kept_listing_is_read_again_after_the_trust_period(
    config, share, folder, monkeypatch, trust_clock
):
    """Writes no watcher here can see (another NFS client) show within TRUST_SECONDS."""
    monkeypatch.setattr(tree.watcher, "watching", lambda path: True)
    tree.watch_listing_cache()
    share_tree = tree.ShareTree(str(folder))
    settled(folder)
    share_tree.walk([])
    (folder / "notizen.txt").write_bytes(b"x" * 99)
    assert [e.size for e in share_tree.walk([]) if e.name == "notizen.txt"] == [22]
    trust_clock.pass_trust_period()
    assert [e.size for e in share_tree.walk([]) if e.name == "notizen.txt"] == [99]


def test_the_watcher_tells_listeners_at_once_and_whether_it_sees_a_folder(config, share, folder):
    """Listeners hear of a change long before the catalog's debounce; a stopped
    watcher sees nothing, so nothing may trust it."""
    heard = []
    tree.watcher.add_change_listener(heard.append)
    running = tree.watcher.CatalogWatcher(config, debounce=60)
    running.start()
    try:
        assert tree.watcher.watching(str(folder.resolve()))
        assert not tree.watcher.watching(str(config.home.resolve()))
        (folder / "notizen.txt").write_bytes(b"neu")
        changed = str((folder / "notizen.txt").resolve())
        assert shows(lambda: changed in heard, True)
    finally:
        running.stop()
        tree.watcher._listeners.remove(heard.append)
    assert not tree.watcher.watching(str(folder.resolve()))
