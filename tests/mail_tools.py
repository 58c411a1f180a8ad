"""Helpers for tests of the mails to contacts: the consent form over plain HTTP, a
mail's text and attachments, a PDF's text by ``pdftotext``, the settings of a home
that mails."""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
from email.message import EmailMessage
from pathlib import Path

import requests

from tests.tools import require_tool

SENDER = "unterlagen@muster-immobilien.de"


def add_settings(home: Path, **settings) -> None:
    """Append settings to the home's ``immoshare.yaml`` (later lines win)."""
    with open(home / "immoshare.yaml", "a", encoding="utf-8") as fh:
        for name, value in settings.items():
            fh.write(f"{name}: {value}\n")


def smtp_settings(home: Path, port: int) -> None:
    """The home mails through the test SMTP server on ``port``; consent needs mail."""
    add_settings(
        home,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from=SENDER,
        consent_requires_mail="true",
    )


def consent_form_fields(page: str) -> dict:
    """The hidden fields of the consent form on ``page``."""
    return dict(re.findall(r'name="(csrf|widerruf_version|agb_version)" value="([^"]*)"', page))


def submit_consent(session: requests.Session, url: str, *, agb: bool = False) -> requests.Response:
    """Open the personal link ``url``, tick every statement and submit; the answer to
    the POST, not followed."""
    page = session.get(url)
    fields = consent_form_fields(page.text)
    fields.update(early_start="yes", widerruf="yes")
    if agb:
        fields["agb"] = "yes"
    return session.post(url + "/consent", data=fields, allow_redirects=False)


def parse_mail(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def plain_text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def attachments(message: EmailMessage) -> list[tuple[str, str, bytes]]:
    """(file name, content type, bytes) of each attachment."""
    return [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_attachments()
    ]


#: A complete Widerrufsbelehrung of the agency the tests play (no sample marks).
WIDERRUF_TEXT = (
    "Widerrufsbelehrung der Muster Immobilien GmbH, Musterstraße 1, 90402 Nürnberg\n\n"
    "Widerrufsrecht\n\n"
    "Sie haben das Recht, binnen vierzehn Tagen ohne Angabe von Gründen diesen Vertrag zu "
    "widerrufen. Die Widerrufsfrist beträgt vierzehn Tage ab dem Tag des "
    "Vertragsabschlusses.\n\n" + "Folgen des Widerrufs. " * 120 + "\n\n"
    "Muster-Widerrufsformular\n\n"
    "An Muster Immobilien GmbH, Musterstraße 1, 90402 Nürnberg, widerruf@muster.de"
)


def install_texts() -> None:
    """The agency's own Widerrufsbelehrung, set as ``immoshare consent set`` does."""
    from gateway.services import consent

    consent.add_text("widerruf", consent.parse_text(WIDERRUF_TEXT.encode(), "widerruf.txt"))


_FOOTER = re.compile(r"(Seite|Page) \d+ (von|of) \d+\s*$")


def pdf_text(data: bytes, *, footers: bool = True) -> str:
    """The text of a PDF as ``pdftotext`` reads it, lines joined by blanks; without
    the page footers when ``footers`` is false, so that a text broken across pages
    reads as one."""
    pdftotext = require_tool("pdftotext")
    result = subprocess.run(
        [pdftotext, "-layout", "-enc", "UTF-8", "-", "-"],
        input=data,
        capture_output=True,
        check=True,
        timeout=60,
    )
    lines = result.stdout.decode("utf-8").splitlines()
    if not footers:
        lines = [line for line in lines if not _FOOTER.search(line)]
    return " ".join(" ".join(lines).split())
