"""rclone (Debian package) against the real server: an agent copies a folder with
umlauts and a large file up and back, a contact lists and cannot write."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.factories import AGENT_PASSWORD, make_agent, make_contact, make_grant, make_property

pytestmark = [pytest.mark.server, pytest.mark.slow]

LARGE = 64 * 1024 * 1024


def _digests(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture
def shares(config, server, rclone):
    make_agent()
    make_property(config, "obj-1", "Musterstraße 5")
    make_property(config, "obj-2", "Geheimweg 9", files={"secret.pdf": b"%PDF-secret"})
    make_contact("4711")
    granted = make_grant(config, "obj-1", "4711")
    rclone.configure("agent", server.url + "/dav/", "anna", AGENT_PASSWORD)
    rclone.configure("contact", server.url + "/view/", granted.username, granted.password)
    return granted


def test_agent_copies_up_and_back(tmp_path, config, shares, rclone):
    local = tmp_path / "unterlagen"
    (local / "Grundrisse Übersicht").mkdir(parents=True)
    (local / "Grundrisse Übersicht" / "Küche ä ö ü ß.pdf").write_bytes(b"%PDF-kueche")
    (local / "Energieausweis (2024).pdf").write_bytes(b"%PDF-energie")
    (local / "Fotos groß").mkdir()
    (local / "Fotos groß" / "Garten.jpg").write_bytes(os.urandom(LARGE))
    rclone("copy", str(local), "agent:obj-1/Unterlagen")
    stored = config.properties_dir / "obj-1" / "Unterlagen"
    assert _digests(stored) == _digests(local)
    rclone("check", str(local), "agent:obj-1/Unterlagen")
    back = tmp_path / "back"
    rclone("copy", "agent:obj-1/Unterlagen", str(back))
    assert _digests(back) == _digests(local)


def test_contact_lists_only_the_granted_share_and_cannot_write(tmp_path, config, shares, rclone):
    folder = config.properties_dir / "obj-1"
    (folder / "Exposé").mkdir()
    (folder / "Exposé" / "Exposé Müller.pdf").write_bytes(b"%PDF-expose")
    (folder / "._Exposé Müller.pdf").write_bytes(b"appledouble")
    (folder / ".DS_Store").write_bytes(b"ds")
    listing = rclone("ls", "contact:").stdout
    assert "obj-1/Exposé/Exposé Müller.pdf" in listing
    for hidden in ("obj-2", "secret.pdf", "._Exposé", ".DS_Store"):
        assert hidden not in listing
    upload = tmp_path / "upload.txt"
    upload.write_text("x")
    assert rclone("copy", str(upload), "contact:obj-1/", check=False).returncode != 0
    # rclone reads MKCOL's 405 as "exists already" and exits 0; nothing is created
    rclone("mkdir", "contact:obj-1/neu", check=False)
    assert rclone("delete", "contact:obj-1/Exposé", check=False).returncode != 0
    assert sorted(p.name for p in folder.iterdir()) == [
        ".DS_Store",
        "._Exposé Müller.pdf",
        "Exposé",
    ]
    back = tmp_path / "back"
    rclone("copy", "contact:obj-1", str(back))
    assert _digests(back) == {
        "Exposé/Exposé Müller.pdf": hashlib.sha256(b"%PDF-expose").hexdigest()
    }
