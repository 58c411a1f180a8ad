"""An agent's DELETE inside a property goes to the trash: gone for WebDAV clients and
contacts (204, then 404), listed and restored with the same bytes by
``immoshare trash``, purged after ``trash_days``. Overwriting keeps nothing."""

from __future__ import annotations

import datetime
import json
import time
from urllib.parse import quote

import pytest
import requests

from gateway.models import CatalogEntry
from gateway.services import trash
from gateway.services.home import open_home
from tests.contact_page import entry_names, make_share
from tests.factories import AGENT_PASSWORD, make_agent
from tests.tools import ThreadedServer
from tests.trees import tree_hashes

pytestmark = pytest.mark.server

AGENT = ("anna", AGENT_PASSWORD)
FILES = {
    "Exposé.pdf": b"%PDF expose " + bytes(range(256)) * 40,
    "notizen.txt": b"Besichtigung am Montag",
    "._Exposé.pdf": b"finder metadata",
    "Grundrisse/Grundriss EG.pdf": b"%PDF eg " + b"e" * 1200,
    "Grundrisse/Keller/Grundriss UG.pdf": b"%PDF ug " + b"k" * 800,
}
LOCK_BODY = (
    b'<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
    b"</D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"
)
DEADLINE = 20  # seconds; only to catch a hang


@pytest.fixture
def share(config):
    make_agent()
    return make_share(config, files=FILES)


@pytest.fixture
def folder(config):
    return config.properties_dir / "obj-1"


def dav(server, path):
    return f"{server.url}/dav/obj-1/{quote(path)}"


def trash_list(cli, *args):
    r = cli("trash", "list", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def contact_sees(server, share, path: str) -> bool:
    """The contact finds ``path`` on their page, downloads it and reads it over WebDAV."""
    folder, _, name = path.rpartition("/")
    page = requests.get(server.url + share.link + (f"/browse/{quote(folder)}" if folder else ""))
    download = requests.get(server.url + share.link + "/download/" + quote(path))
    auth = (share.grant.username, share.grant.password)
    over_dav = requests.get(f"{server.url}/view/obj-1/{quote(path)}", auth=auth)
    shown = [page.status_code == 200 and name in entry_names(page.text)]
    shown += [download.status_code == 200, over_dav.status_code == 200]
    assert len(set(shown)) == 1, (path, shown)  # the page, the download and WebDAV agree
    if shown[0]:
        assert download.content == over_dav.content == FILES[path]
    return shown[0]


def catalogued(path: str) -> bool:
    return CatalogEntry.select().where(CatalogEntry.path == path).exists()


def wait_until(condition, what):
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_deleted_file_is_gone_for_everyone_and_comes_back_with_its_bytes(
    server, share, folder, cli
):
    assert contact_sees(server, share, "Exposé.pdf")
    wait_until(lambda: catalogued("Exposé.pdf"), "the start-up scan catalogues the file")

    r = requests.delete(dav(server, "Exposé.pdf"), auth=AGENT)
    assert r.status_code == 204
    assert requests.get(dav(server, "Exposé.pdf"), auth=AGENT).status_code == 404
    listing = requests.request(
        "PROPFIND", f"{server.url}/dav/obj-1/", auth=AGENT, headers={"Depth": "1"}
    )
    assert "Expos" not in listing.text.replace("._Expos", "")
    assert not (folder / "Exposé.pdf").exists()
    assert not contact_sees(server, share, "Exposé.pdf")
    wait_until(lambda: not catalogued("Exposé.pdf"), "the catalog forgets the file")

    [entry] = trash_list(cli, "obj-1")
    assert {k: entry[k] for k in ("property", "path", "kind", "size", "files", "agent")} == {
        "property": "obj-1",
        "path": "Exposé.pdf",
        "kind": "file",
        "size": len(FILES["Exposé.pdf"]),
        "files": 1,
        "agent": "anna",
    }
    deleted = datetime.datetime.fromisoformat(entry["deleted_at"])
    assert datetime.datetime.fromisoformat(entry["expires_at"]) - deleted == datetime.timedelta(
        days=30
    )
    # the trash is no share: not in the agent's root, not among the property's files
    root = requests.request("PROPFIND", f"{server.url}/dav/", auth=AGENT, headers={"Depth": "1"})
    assert "trash" not in root.text

    r = cli("trash", "restore", "obj-1", "Exposé.pdf")
    assert r.exit_code == 0, r.output
    assert "Restored obj-1/Exposé.pdf" in r.stdout
    assert (folder / "Exposé.pdf").read_bytes() == FILES["Exposé.pdf"]
    assert requests.get(dav(server, "Exposé.pdf"), auth=AGENT).content == FILES["Exposé.pdf"]
    assert contact_sees(server, share, "Exposé.pdf")
    wait_until(lambda: catalogued("Exposé.pdf"), "the catalog sees the restored file")
    assert trash_list(cli) == []


def test_deleted_folder_with_nested_files_round_trips(server, share, folder, cli):
    before = tree_hashes(folder)
    nested = ["Grundrisse/Grundriss EG.pdf", "Grundrisse/Keller/Grundriss UG.pdf"]
    assert all(contact_sees(server, share, p) for p in nested)

    r = requests.delete(f"{server.url}/dav/obj-1/Grundrisse/", auth=AGENT)
    assert r.status_code == 204
    assert requests.get(dav(server, "Grundrisse/Grundriss EG.pdf"), auth=AGENT).status_code == 404
    assert not (folder / "Grundrisse").exists()
    assert not any(contact_sees(server, share, p) for p in nested)
    page = requests.get(server.url + share.link)
    assert "Grundrisse" not in entry_names(page.text)

    [entry] = trash_list(cli)
    assert (entry["path"], entry["kind"], entry["files"]) == ("Grundrisse", "folder", 2)
    assert entry["size"] == sum(len(FILES[p]) for p in nested)
    # a file inside a deleted folder: the message names the folder to restore
    r = cli("trash", "restore", "obj-1", "Grundrisse/Keller/Grundriss UG.pdf")
    assert r.exit_code == 1
    assert "deleted folder 'Grundrisse'" in r.output and len(r.output.strip().splitlines()) == 1

    r = cli("trash", "restore", "obj-1", "Grundrisse/", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["path"] == "Grundrisse"
    assert tree_hashes(folder) == before
    assert all(contact_sees(server, share, p) for p in nested)
    wait_until(lambda: all(catalogued(p) for p in nested), "the catalog sees the folder again")
    assert trash_list(cli) == []


def test_restore_refuses_when_something_is_there_again(server, share, folder, cli):
    assert requests.delete(dav(server, "notizen.txt"), auth=AGENT).status_code == 204
    assert requests.put(dav(server, "notizen.txt"), data=b"neu", auth=AGENT).status_code == 201
    r = cli("trash", "restore", "obj-1", "notizen.txt")
    assert r.exit_code == 1
    assert "exists again" in r.output and len(r.output.strip().splitlines()) == 1
    assert (folder / "notizen.txt").read_bytes() == b"neu"
    assert [e["path"] for e in trash_list(cli, "obj-1")] == ["notizen.txt"]


def test_the_newest_deletion_of_a_path_is_restored(server, share, folder, cli):
    assert requests.delete(dav(server, "notizen.txt"), auth=AGENT).status_code == 204
    assert requests.put(dav(server, "notizen.txt"), data=b"zweite", auth=AGENT).status_code == 201
    assert requests.delete(dav(server, "notizen.txt"), auth=AGENT).status_code == 204
    assert [e["size"] for e in trash_list(cli, "obj-1")] == [6, len(FILES["notizen.txt"])]
    assert cli("trash", "restore", "obj-1", "notizen.txt").exit_code == 0
    assert (folder / "notizen.txt").read_bytes() == b"zweite"
    assert [e["size"] for e in trash_list(cli, "obj-1")] == [len(FILES["notizen.txt"])]


@pytest.mark.parametrize(
    "args,message",
    [
        (("list", "obj-9"), "property 'obj-9' not found"),
        (("restore", "obj-9", "notizen.txt"), "property 'obj-9' not found"),
        (("restore", "obj-1", "notizen.txt"), "nothing in the trash of 'obj-1' at 'notizen.txt'"),
        (("restore", "obj-1", "../secret.key"), "is not a path inside a property"),
        (("restore", "obj-1", "a/" * 3000), "longer than 4096 characters"),
    ],
)
def test_trash_errors_are_one_line_and_change_nothing(share, folder, cli, args, message):
    before = tree_hashes(folder)
    r = cli("trash", *args)
    assert r.exit_code == 1
    assert message in r.output and len(r.output.strip().splitlines()) == 1
    assert "Traceback" not in r.output
    assert tree_hashes(folder) == before


def test_overwriting_keeps_nothing_in_the_trash(server, share, folder, cli):
    assert requests.put(dav(server, "notizen.txt"), data=b"neu", auth=AGENT).status_code == 204
    moved = requests.request(
        "MOVE",
        dav(server, "notizen.txt"),
        auth=AGENT,
        headers={"Destination": dav(server, "Exposé.pdf"), "Overwrite": "T"},
    )
    assert moved.status_code == 204
    copied = requests.request(
        "COPY",
        dav(server, "Exposé.pdf"),
        auth=AGENT,
        headers={"Destination": dav(server, "Grundrisse/Grundriss EG.pdf"), "Overwrite": "T"},
    )
    assert copied.status_code == 204
    assert (folder / "Grundrisse" / "Grundriss EG.pdf").read_bytes() == b"neu"
    assert trash_list(cli) == []


def test_os_junk_is_deleted_without_the_trash(server, share, folder, cli):
    assert requests.delete(dav(server, "._Exposé.pdf"), auth=AGENT).status_code == 204
    assert not (folder / "._Exposé.pdf").exists()
    assert trash_list(cli) == []


def test_a_locked_file_is_neither_deleted_nor_trashed(server, share, folder, cli):
    lock = requests.request(
        "LOCK",
        dav(server, "Grundrisse/Keller/Grundriss UG.pdf"),
        auth=AGENT,
        headers={"Timeout": "Second-60"},
        data=LOCK_BODY,
    )
    assert lock.status_code == 200
    token = lock.headers["Lock-Token"]
    before = tree_hashes(folder)
    for path in ("Grundrisse/Keller/Grundriss UG.pdf", "Grundrisse/Keller/", "Grundrisse/"):
        url = f"{server.url}/dav/obj-1/{quote(path)}"
        assert requests.delete(url, auth=AGENT).status_code == 423, path
    assert tree_hashes(folder) == before
    assert trash_list(cli) == []
    # with its lock token the agent deletes it, and the lock goes with the file
    r = requests.delete(
        dav(server, "Grundrisse/Keller/Grundriss UG.pdf"), auth=AGENT, headers={"If": f"({token})"}
    )
    assert r.status_code == 204
    assert [e["path"] for e in trash_list(cli)] == ["Grundrisse/Keller/Grundriss UG.pdf"]
    assert cli("trash", "restore", "obj-1", "Grundrisse/Keller/Grundriss UG.pdf").exit_code == 0
    r = requests.put(dav(server, "Grundrisse/Keller/Grundriss UG.pdf"), data=b"x", auth=AGENT)
    assert r.status_code == 204


def test_purge_removes_entries_older_than_trash_days(config, share, folder):
    bin_ = trash.trash_bin(config)
    now = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)
    old = trash.move_to_trash(
        bin_, "obj-1", "notizen.txt", agent="anna", now=now - datetime.timedelta(days=31)
    )
    young = trash.move_to_trash(
        bin_, "obj-1", "Grundrisse", agent="anna", now=now - datetime.timedelta(days=29)
    )
    assert trash.purge_trash(bin_, 0, now=now) == []  # 0 keeps everything
    assert [e.id for e in trash.purge_trash(bin_, 30, now=now)] == [old.id]
    assert [e.id for e in trash.list_trash(bin_)] == [young.id]
    assert not list(config.trash_dir.rglob("notizen.txt"))
    assert len(list(config.trash_dir.rglob("*.pdf"))) == 2


def test_trash_list_purges_what_is_past_trash_days(config, share, cli):
    bin_ = trash.trash_bin(config)
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=31)
    trash.move_to_trash(bin_, "obj-1", "notizen.txt", agent="anna", now=long_ago)
    trash.move_to_trash(bin_, "obj-1", "Exposé.pdf", agent="anna")
    assert [e["path"] for e in trash_list(cli)] == ["Exposé.pdf"]
    assert not list(config.trash_dir.rglob("notizen.txt"))


def test_trash_days_zero_keeps_entries_until_restored(home, share, cli):
    (home / "immoshare.yaml").write_text("trash_days: 0\n")
    bin_ = trash.trash_bin(open_home(home))
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=3650)
    trash.move_to_trash(bin_, "obj-1", "notizen.txt", agent="anna", now=long_ago)
    [entry] = trash_list(cli)
    assert entry["path"] == "notizen.txt" and entry["expires_at"] is None


def test_the_server_purges_old_entries_daily(home, config, share):
    bin_ = trash.trash_bin(config)
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=31)
    trash.move_to_trash(bin_, "obj-1", "notizen.txt", agent="anna", now=long_ago)
    trash.move_to_trash(bin_, "obj-1", "Exposé.pdf", agent="anna")
    server = ThreadedServer(config)
    try:
        wait_until(lambda: len(trash.list_trash(bin_)) == 1, "the daily clean-up purges")
    finally:
        server.stop()
    assert [e.path for e in trash.list_trash(bin_)] == ["Exposé.pdf"]
