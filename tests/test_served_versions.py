"""Every file version that goes out to a contact is kept by its sha256, and
``immoshare evidence get`` returns its exact bytes after the agent replaced or
deleted the file."""

from __future__ import annotations

import datetime
import io
import os
import zipfile
from urllib.parse import quote

import pytest
import requests

from gateway.services import served_versions
from tests.factories import AGENT_PASSWORD, make_agent, make_contact, make_grant, make_property
from tests.tools import sha, wait_until

pytestmark = pytest.mark.server

FILES = {
    "Exposé.pdf": b"%PDF-1.7 Expose v1 " + b"e" * 300_000,  # web download, in blocks
    "notizen.txt": "Schlüssel beim Hausmeister, v1".encode(),  # web open, from memory
    "Grundrisse/EG.pdf": b"%PDF-1.7 EG v1 " + b"g" * 120_000,  # WebDAV GET
    "Pläne/Lageplan.pdf": b"%PDF-1.7 Lageplan v1 " + b"l" * 2_000,  # small zip member
    "Pläne/Karte.pdf": b"%PDF-1.7 Karte v1 " + b"k" * 200_000,  # big zip member
}
AGENT = ("anna", AGENT_PASSWORD)


@pytest.fixture
def granted(config):
    make_agent()
    make_property(config, "obj-1", files=FILES)
    make_contact("4711")
    return make_grant(config, "obj-1", "4711")


@pytest.fixture
def link(server, granted):
    return server.url + "/s/" + granted.link.split("/s/", 1)[1]


def evidence_files(home) -> dict[str, os.stat_result]:
    folder = home / "evidence"
    return {
        path.name: path.stat()
        for path in folder.glob("??/*")
        if path.is_file() and len(path.name) == 64
    }


def evidence_get(cli, tmp_path, digest: str):
    out = tmp_path / f"out-{digest[:12]}-{len(list(tmp_path.iterdir()))}"
    result = cli("evidence", "get", digest, "--out", str(out))
    return result, out


def test_downloaded_versions_survive_overwrite_and_delete(server, granted, link, cli, tmp_path):
    auth = (granted.username, granted.password)
    received = {}
    with requests.Session() as web:
        received["Exposé.pdf"] = web.get(f"{link}/download/{quote('Exposé.pdf')}").content
        received["notizen.txt"] = web.get(f"{link}/open/notizen.txt").content
        zipped = web.get(f"{link}/zip", params={"dir": "Pläne"}).content
    received["Grundrisse/EG.pdf"] = requests.get(
        server.url + "/view/obj-1/Grundrisse/EG.pdf", auth=auth
    ).content
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        received["Pläne/Lageplan.pdf"] = archive.read("Lageplan.pdf")
        received["Pläne/Karte.pdf"] = archive.read("Karte.pdf")
    assert received == FILES

    # right away, the agent replaces every file over WebDAV, then deletes it
    for path in FILES:
        url = f"{server.url}/dav/obj-1/{quote(path)}"
        replaced = requests.put(url, data=b"v2 of " + path.encode(), auth=AGENT)
        assert replaced.status_code in (200, 204), path
        assert requests.get(url, auth=AGENT).content == b"v2 of " + path.encode()
        assert requests.delete(url, auth=AGENT).status_code == 204, path
        assert requests.get(url, auth=AGENT).status_code == 404

    for path, content in received.items():
        result, out = evidence_get(cli, tmp_path, sha(content))
        assert result.exit_code == 0, (path, result.output)
        assert out.read_bytes() == content, path
        assert sha(out.read_bytes()) == sha(FILES[path])


def test_an_unchanged_file_served_twice_is_stored_once(server, granted, link, home, config):
    auth = (granted.username, granted.password)
    content = FILES["Grundrisse/EG.pdf"]
    digest = sha(content)
    assert requests.get(server.url + "/view/obj-1/Grundrisse/EG.pdf", auth=auth).content == content
    kept = wait_until(lambda: evidence_files(home).get(digest), message="the version kept")
    assert requests.get(f"{link}/download/Grundrisse/EG.pdf").content == content
    assert requests.get(server.url + "/view/obj-1/Grundrisse/EG.pdf", auth=auth).content == content
    assert served_versions.wait_idle()
    again = evidence_files(home)
    assert list(again) == [digest]  # one copy, the same file as before
    assert (again[digest].st_ino, again[digest].st_nlink) == (kept.st_ino, 1)
    assert (home / "evidence" / digest[:2] / digest).read_bytes() == content
    # the share's file is untouched: still one link, so contacts still get it
    original = config.properties_dir / "obj-1" / "Grundrisse" / "EG.pdf"
    assert original.stat().st_nlink == 1


def test_a_replaced_file_is_kept_in_each_version_served(server, granted, home):
    auth = (granted.username, granted.password)
    url = server.url + "/view/obj-1/Grundrisse/EG.pdf"
    first = requests.get(url, auth=auth).content
    new = b"%PDF-1.7 EG v2 " + b"x" * 5_000
    assert requests.put(server.url + "/dav/obj-1/Grundrisse/EG.pdf", data=new, auth=AGENT).ok
    assert requests.get(url, auth=auth).content == new
    assert served_versions.wait_idle()
    assert sorted(evidence_files(home)) == sorted([sha(first), sha(new)])


def test_a_range_read_keeps_the_version_an_agent_read_does_not(server, granted, link, home):
    one_byte = requests.get(f"{link}/download/notizen.txt", headers={"Range": "bytes=0-0"})
    assert one_byte.status_code == 206 and one_byte.content == FILES["notizen.txt"][:1]
    agent_read = requests.get(server.url + "/dav/obj-1/Exposé.pdf", auth=AGENT)
    assert agent_read.content == FILES["Exposé.pdf"]
    assert served_versions.wait_idle()
    assert list(evidence_files(home)) == [sha(FILES["notizen.txt"])]


def test_nothing_is_kept_for_the_preview(server, granted, home, cli):
    preview = cli("preview", "obj-1").stdout.strip()
    page = requests.get(server.url + "/p/" + preview.split("/p/", 1)[1])
    assert page.status_code == 200
    refused = requests.get(server.url + "/p/" + preview.split("/p/", 1)[1] + "/open/notizen.txt")
    assert refused.status_code == 403
    assert served_versions.wait_idle()
    assert evidence_files(home) == {}


@pytest.mark.parametrize(
    ("digest", "exit_code", "says"),
    [
        ("0" * 64, 1, "no served version with sha256"),
        ("A" * 64, 1, "no served version with sha256"),  # case ignored, still unknown
        ("abc", 2, "is not a sha256 digest"),
        ("../../secret.key", 2, "is not a sha256 digest"),
        ("g" * 64, 2, "is not a sha256 digest"),
        ("0" * 63 + "/", 2, "is not a sha256 digest"),
        ("0" * 65, 2, "is not a sha256 digest"),
    ],
)
def test_evidence_get_refuses_unknown_and_malformed_digests(
    cli, tmp_path, home, digest, exit_code, says
):
    out = tmp_path / "out.pdf"
    result = cli("evidence", "get", digest, "--out", str(out))
    assert result.exit_code == exit_code, result.output
    [error] = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert says in error and "Traceback" not in result.output
    assert not out.exists()


def test_evidence_get_writes_a_new_file_only(cli, home, tmp_path):
    content = b"kept bytes"
    digest = sha(content)
    kept = home / "evidence" / digest[:2] / digest
    kept.parent.mkdir(parents=True)
    kept.write_bytes(content)
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    existing = outputs / "existing.pdf"
    existing.write_bytes(b"mine")
    result = cli("evidence", "get", digest, "--out", str(existing))
    assert result.exit_code == 1 and "exists" in result.stderr
    assert existing.read_bytes() == b"mine"
    # a kept copy whose bytes changed on disk is refused, not handed out
    kept.write_bytes(b"tampered")
    result = cli("evidence", "get", digest, "--out", str(outputs / "new.pdf"))
    assert result.exit_code == 1 and "damaged" in result.stderr
    assert [p.name for p in outputs.iterdir()] == ["existing.pdf"]  # no partial file


def test_pruning_counts_from_the_end_of_the_year_of_the_last_serve(config, home):
    folder = home / "evidence"
    served = {}
    for content, year in ((b"old version", 2022), (b"newer version", 2023)):
        digest = sha(content)
        path = folder / digest[:2] / digest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        moment = datetime.datetime(year, 6, 30, tzinfo=datetime.UTC).timestamp()
        os.utime(path, (moment, moment))
        served[year] = digest
    end_of_2025 = datetime.datetime(2025, 12, 31, 23, 59, tzinfo=datetime.UTC)
    assert served_versions.prune(config, 3, now=end_of_2025) == []
    new_year = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    assert served_versions.prune(config, 3, now=new_year) == [served[2022]]
    assert sorted(evidence_files(home)) == [served[2023]]


def test_a_change_finishes_the_pending_copies_of_what_it_touches(config, home):
    """The keeper's thread is not started here: only ``before_change`` can copy."""
    make_property(config, "obj-1", files=FILES)
    keeper = served_versions.Keeper(config)
    for path in ("Grundrisse/EG.pdf", "Pläne/Lageplan.pdf", "Pläne/Karte.pdf"):
        keeper.keep("obj-1", path, sha(FILES[path]), None)
    keeper.before_change("obj-1", "Grundrisse/EG.pdf")
    assert list(evidence_files(home)) == [sha(FILES["Grundrisse/EG.pdf"])]
    keeper.before_change("obj-1", "Pläne")  # a folder: everything below it
    assert sorted(evidence_files(home)) == sorted(
        sha(FILES[p]) for p in ("Grundrisse/EG.pdf", "Pläne/Lageplan.pdf", "Pläne/Karte.pdf")
    )
    assert keeper.wait_idle(timeout=0)  # nothing left for the thread


def test_a_version_that_changed_before_its_copy_is_not_stored_under_its_digest(config, home):
    make_property(config, "obj-1", files=FILES)
    keeper = served_versions.Keeper(config)
    served = FILES["Grundrisse/EG.pdf"]
    keeper.keep("obj-1", "Grundrisse/EG.pdf", sha(served), None)
    (config.properties_dir / "obj-1" / "Grundrisse" / "EG.pdf").write_bytes(b"rewritten in place")
    keeper.before_change("obj-1", "Grundrisse/EG.pdf")
    assert evidence_files(home) == {}
    assert [p.name for p in (home / "evidence").iterdir() if p.is_file()] == []  # no leftovers
