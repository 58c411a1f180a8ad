"""A contact whose WebDAV drive shows no property finds one text file that says why
(consent pending, or access ended and whom to call), made per request and gone once a
share is visible again (``docs/interface.md``)."""

from __future__ import annotations

import pytest
import requests

from gateway.services import access_notice, branding
from gateway.services.contact_person import set_contact_person
from tests.factories import AGENT_PASSWORD, make_agent, make_contact, make_grant, make_property
from tests.tools import basic

pytestmark = [pytest.mark.server]

NOTICE = access_notice.NOTICE_NAME


def _contact_share(config, server, *, requires_consent=False):
    make_agent()
    make_property(config, "obj-1", "Musterstraße 5", requires_consent=requires_consent)
    set_contact_person("obj-1", "Anna Agent", "+49 911 123456", "anna@example.de")
    make_contact("4711")
    granted = make_grant(config, "obj-1", "4711")
    return granted


def test_a_revoked_contact_finds_the_notice_with_the_agents_phone(config, server, cli, rclone):
    granted = _contact_share(config, server)
    rclone.configure("contact", server.url + "/view", granted.username, granted.password)
    assert rclone("lsf", "contact:").stdout.split() == ["obj-1/"]
    assert cli("revoke", "obj-1", "4711").exit_code == 0
    assert rclone("lsf", "contact:").stdout.split() == [NOTICE]
    text = rclone("cat", f"contact:{NOTICE}").stdout
    assert "Anna Agent, Tel. +49 911 123456, anna@example.de" in text
    assert (
        "Ihr Zugang zu Unterlagen ist beendet" in text and "access to documents has ended" in text
    )
    assert "Musterstraße" not in text  # nothing of the share itself
    assert not (config.properties_dir / NOTICE).exists()  # served, never stored
    assert cli("grant", "obj-1", "4711").exit_code == 0
    assert rclone("lsf", "contact:").stdout.split() == ["obj-1/"]
    assert rclone("cat", f"contact:{NOTICE}", check=False).returncode != 0


def test_consent_pending_says_to_open_the_link(config, server):
    granted = _contact_share(config, server, requires_consent=True)
    branding.set_branding(config, name="Muster Immobilien GmbH")
    auth = {"Authorization": basic(granted.username, granted.password)}
    url = server.url + "/view/" + NOTICE
    got = requests.get(url, headers=auth)
    assert got.status_code == 200
    assert got.headers["Content-Type"].startswith("text/plain")
    assert "„Musterstraße 5“ fehlt noch Ihre Bestätigung" in got.text
    assert "personal link" in got.text and "– Muster Immobilien GmbH" in got.text
    listing = requests.request("PROPFIND", server.url + "/view/", headers={**auth, "Depth": "1"})
    assert listing.status_code == 207 and NOTICE in listing.text


def test_the_notice_cannot_be_written_and_agents_never_see_it(config, server, cli):
    granted = _contact_share(config, server)
    assert cli("revoke", "obj-1", "4711").exit_code == 0
    auth = {"Authorization": basic(granted.username, granted.password)}
    url = server.url + "/view/" + NOTICE
    for method in ("PUT", "DELETE", "MOVE", "PROPPATCH", "LOCK"):
        answer = requests.request(
            method, url, headers={**auth, "Destination": server.url + "/view/x.txt"}, data=b"x"
        )
        assert answer.status_code in (403, 405), (method, answer.status_code)
    assert requests.get(url, headers=auth).status_code == 200
    agent = {"Authorization": basic("anna", AGENT_PASSWORD)}
    assert requests.get(server.url + "/dav/" + NOTICE, headers=agent).status_code in (401, 404)
    assert not (config.properties_dir / NOTICE).exists()
