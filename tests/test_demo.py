"""``make demo`` on this checkout serves and prints working logins and the agent's
preview link, and a newcomer can click through the consent and find the confirmation
with its PDF in the demo's mailbox folder."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from gateway import demo_texts
from gateway.services import consent
from tests.contact_page import find
from tests.mail_tools import attachments, parse_mail, pdf_text, plain_text, submit_consent
from tests.tools import REPO, free_port, require_tool, wait_until

pytestmark = [pytest.mark.server, pytest.mark.slow]


def read_until(proc, pattern: re.Pattern, timeout: float) -> str:
    """Collect stdout until ``pattern`` matches, or fail after ``timeout`` seconds."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    text = ""
    deadline = time.monotonic() + timeout
    while not pattern.search(text):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"demo did not print its logins in time:\n{text}"
        if selector.select(remaining):
            chunk = os.read(proc.stdout.fileno(), 65536).decode()
            assert chunk, f"demo exited early:\n{text}"
            text += chunk
    return text


def test_make_demo_serves_and_prints_working_logins():
    require_tool("make")
    port = free_port()
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "demo", f"PORT={port}"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        text = read_until(proc, re.compile(r"Contact Max Mustermann.*\n.*password: \S+\n"), 30)
        agent = re.search(r"Agent WebDAV:\s+(\S+)\s+user: (\S+)\s+password: (\S+)", text)
        contacts = re.findall(
            r"link (\S+)\n\s+WebDAV \(read-only\): (\S+)\s+user: (\S+)\s+"
            r"password: (\S+)",
            text,
        )
        assert agent and len(contacts) == 2, text
        preview = re.search(r"Agent preview: (\S+)", text)
        assert preview, text
        # every printed URL names the port the demo listens on
        for url in re.findall(r"https?://\S+", text):
            assert url.startswith(f"http://127.0.0.1:{port}/"), url
        page = requests.get(preview.group(1))
        assert page.status_code == 200 and "Vorschau" in page.text
        assert "Musterstraße 5" in page.text
        dav_url, user, password = agent.groups()
        listing = requests.request(
            "PROPFIND", dav_url + "musterstrasse-5/", auth=(user, password), headers={"Depth": "1"}
        )  # infinity is refused
        assert listing.status_code == 207
        for name in ("Grundrisse", "Energieausweis", "Lageplan", "Fotos"):
            assert name in listing.text
        plans = requests.request(
            "PROPFIND",
            dav_url + "musterstrasse-5/Grundrisse/",
            auth=(user, password),
            headers={"Depth": "1"},
        )
        assert "Grundriss%20EG.pdf" in plans.text
        for link, view_url, username, contact_password in contacts:
            page = requests.get(link)
            assert page.status_code == 200 and "Musterstraße 5" in page.text
            r = requests.request(
                "PROPFIND", view_url, auth=(username, contact_password), headers={"Depth": "1"}
            )
            assert r.status_code == 207
        photo = requests.get(dav_url + "musterstrasse-5/Fotos/Garten.jpg", auth=(user, password))
        assert photo.content[:2] == b"\xff\xd8"
        plan = requests.get(
            dav_url + "musterstrasse-5/Grundrisse/Grundriss%20EG.pdf", auth=(user, password)
        )
        assert plan.content[:5] == b"%PDF-"
        mailbox = re.search(r"Demo mailbox: (\S+)", text)
        assert mailbox, text
        consent_and_find_the_confirmation(contacts[0][0], Path(mailbox.group(1)))
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(20)


def consent_and_find_the_confirmation(link: str, mailbox: Path) -> None:
    """Erika's consent on the demo property, as a browser submits it; then her
    confirmation in the mailbox folder, with the demo texts as a PDF."""
    with requests.Session() as session:
        form = session.get(link).text
        assert find(form, "consent-form") and find(form, "consent-agb")
        assert "DEMO" in form and "[Name der Maklerfirma]" not in form
        answer = submit_consent(session, link, agb=True)
        assert answer.status_code == 303, answer.text[:300]
        page = session.get(requests.compat.urljoin(link, answer.headers["Location"])).text
    assert "e***@example.de" in find(page, "consent-confirmation")[0].text
    assert find(page, "entry")

    mails = wait_until(lambda: sorted(mailbox.glob("*.eml")), message="no mail in the mailbox")
    message = parse_mail(mails[0].read_bytes())
    assert message["To"].addresses[0].addr_spec == "erika@example.de"
    assert "Ihre Bestätigung" in message["Subject"]
    assert "DEMO" in plain_text(message)
    [(name, kind, pdf)] = attachments(message)
    assert kind == "application/pdf" and name.endswith(".pdf")
    widerruf = consent.parse_text(demo_texts.WIDERRUF.encode(), "demo")
    text = pdf_text(pdf)
    assert consent.text_sha256(widerruf) in text and "DEMO" in text
