"""cadaver (Debian package), the command-line WebDAV client, scripted against the real
server: an agent's session with umlauts, locks and dead properties; a contact's
read-only session."""

from __future__ import annotations

import subprocess

import pytest

from tests.factories import AGENT_PASSWORD, make_agent, make_contact, make_grant, make_property
from tests.tools import require_tool

pytestmark = pytest.mark.server


@pytest.fixture
def cadaver(tmp_path, server):
    """``cadaver(share, user, password, commands)`` → its transcript."""
    executable = require_tool("cadaver")

    def run(share, user, password, commands):
        home = tmp_path / f"home-{user}"
        home.mkdir(exist_ok=True)
        netrc = home / ".netrc"
        netrc.write_text(f"machine 127.0.0.1\nlogin {user}\npassword {password}\n")
        netrc.chmod(0o600)
        result = subprocess.run(
            [executable, f"{server.url}/{share}/"],
            input="\n".join(commands + ["quit"]) + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        )
        return result.stdout + result.stderr

    return run


def test_agent_session(cadaver, config, tmp_path):
    make_agent()
    make_property(config, "obj-1", "Musterstraße 5")
    local = tmp_path / "expose.pdf"
    local.write_bytes(b"%PDF-1.7 expose")
    back = tmp_path / "back.pdf"
    transcript = cadaver(
        "dav",
        "anna",
        AGENT_PASSWORD,
        [
            "cd obj-1",
            f"put {local} Exposé.pdf",
            "lock Exposé.pdf",
            "unlock Exposé.pdf",
            "mkcol Grundrisse",
            "propset Exposé.pdf note geprüft",
            "propget Exposé.pdf note",
            "ls",
            f"get Exposé.pdf {back}",
            "delete Exposé.pdf",
        ],
    )
    assert transcript.count("succeeded") >= 8, transcript
    assert "Value of note is: geprüft" in transcript
    assert "Grundrisse" in transcript and "Exposé.pdf" in transcript
    assert back.read_bytes() == b"%PDF-1.7 expose"
    folder = config.properties_dir / "obj-1"
    assert (folder / "Grundrisse").is_dir() and not (folder / "Exposé.pdf").exists()


def test_contact_session_is_read_only(cadaver, config, tmp_path):
    make_property(config, "obj-1", "Musterstraße 5", files={"Exposé.pdf": b"%PDF-expose"})
    make_property(config, "obj-2", "Geheimweg 9", files={"secret.pdf": b"%PDF-secret"})
    make_contact("4711")
    granted = make_grant(config, "obj-1", "4711")
    local = tmp_path / "x.pdf"
    local.write_bytes(b"x")
    back = tmp_path / "back.pdf"
    transcript = cadaver(
        "view",
        granted.username,
        granted.password,
        [
            "ls",
            "cd obj-1",
            "ls",
            f"get Exposé.pdf {back}",
            f"put {local} x.pdf",
            "mkcol neu",
            "lock Exposé.pdf",
            "delete Exposé.pdf",
            "cd ../obj-2",
            "ls",
        ],
    )
    assert "obj-1" in transcript and "obj-2" not in transcript.split("cd ../obj-2")[0]
    assert "secret.pdf" not in transcript
    assert back.read_bytes() == b"%PDF-expose"
    assert transcript.count("failed") >= 4, transcript
    assert sorted(p.name for p in (config.properties_dir / "obj-1").iterdir()) == ["Exposé.pdf"]
