"""A CRM drives immoshare end to end through HTTP only, as in the seed's offer process:
it creates the property and the contact, grants with ``"send": true`` (the contact gets
the invitation by mail), the contact opens the documents, signed webhooks tell the CRM,
it reads who has access and revokes. Every API response is checked against
``/api/v1/openapi.json``; a read-only key may change nothing."""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

import pytest
import requests

from gateway.models import OutboxMail
from gateway.services.home import open_home
from tests.api_client import CheckedApi
from tests.factories import AGENT_PASSWORD, make_agent
from tests.mail_tools import parse_mail, plain_text, smtp_settings
from tests.tools import ThreadedServer, wait_until
from tests.webhook_receiver import Receiver, receiving

pytestmark = [pytest.mark.server]

PROPERTY = {"key": "obj-17", "title": "Musterstraße 5, 90402 Nürnberg", "consent": False}
CONTACT = {"ref": "4711", "name": "Erika Muster", "email": "erika@example.de"}
EXPOSE = b"%PDF-1.4 Expose Musterstrasse " + b"x" * 5000


def _key(cli, name: str, scope: str) -> str:
    result = cli("apikey", "create", name, "--scope", scope, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["key"]


def test_a_crm_provisions_invites_hears_and_revokes_over_http(home, smtp_port, inbox, cli):
    smtp_settings(home, smtp_port)
    server = ThreadedServer(open_home(home))
    try:
        write, read = _key(cli, "crm", "write"), _key(cli, "crm-read", "read")
        make_agent()
        receiver = Receiver()
        with receiving(receiver) as url, CheckedApi(server.url) as api:
            hook = cli("webhook", "add", url, "--json")
            assert hook.exit_code == 0, hook.output
            receiver.secret = json.loads(hook.stdout)["secret"]

            assert api.post("/properties", key=write, json=PROPERTY).status_code == 201
            upload = requests.put(
                server.url + "/dav/obj-17/" + quote("Exposé.pdf"),
                data=EXPOSE,
                auth=("anna", AGENT_PASSWORD),
                timeout=30,
            )
            assert upload.status_code in (201, 204)
            assert api.post("/contacts", key=write, json=CONTACT).status_code == 201
            refused = api.post("/contacts", key=read, json={**CONTACT, "ref": "4712"})
            assert refused.status_code == 403

            granted = api.post(
                "/grants", key=write, json={"property": "obj-17", "contact": "4711", "send": True}
            )
            assert granted.status_code == 201
            link = granted.json()["link"]

            # The server's mail worker sends the invitation with the personal link.
            wait_until(
                lambda: inbox.messages,
                message=lambda: (
                    "no invitation arrived; queued: "
                    + str([(m.mail_state, m.mail_error) for m in OutboxMail.select()])
                ),
            )
            [(recipients, raw)] = inbox.messages
            assert recipients == ["erika@example.de"]
            assert link in plain_text(parse_mail(raw))

            # The contact opens the link and downloads the exposé.
            page = requests.get(server.url + urlsplit(link).path, timeout=30)
            assert page.status_code == 200 and "Exposé.pdf" in page.text
            got = requests.get(
                server.url + urlsplit(link).path + "/download/" + quote("Exposé.pdf"), timeout=30
            )
            assert got.content == EXPOSE

            wait_until(
                lambda: {"first-open", "download"} <= {d["type"] for d in receiver.deliveries},
                message=lambda: f"webhooks so far: {[d['type'] for d in receiver.deliveries]}",
            )
            assert receiver.signatures_ok and all(receiver.signatures_ok)
            assert len(receiver.ids()) == len(set(receiver.ids()))
            download = next(d for d in receiver.deliveries if d["type"] == "download")
            assert download["event"]["path"] == "Exposé.pdf"
            assert download["event"]["contact"] == "4711" and download["event"]["complete"]

            [user] = api.get("/properties/obj-17/users", key=read).json()["users"]
            assert (user["contact"], user["active"], user["invitation"]) == ("4711", True, "sent")
            assert user["last_access"] is not None

            assert api.delete("/grants/obj-17/4711", key=write).status_code == 204
            assert requests.get(server.url + urlsplit(link).path, timeout=30).status_code == 404
            [user] = api.get("/properties/obj-17/users", key=read).json()["users"]
            assert user["active"] is False
            assert api.checked >= 7
    finally:
        server.stop()
