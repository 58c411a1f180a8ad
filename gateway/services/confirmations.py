"""The consent confirmation e-mail: the contact's copy on a durable medium.

A page alone is weak evidence that the instruction reached the contact (BGH I ZR
169/19), so right after consent the contact gets the accepted texts and statements
by e-mail, in the body and as a PDF attachment (``consent_pdf``). Sending never
blocks access: records are queued (``mail_state`` ``pending``) and the mail worker
delivers them, retrying with growing pauses (``outbox``). The Message-ID and the
sha256 of the exact bytes handed to the SMTP server are recorded.
"""

from __future__ import annotations

import email.policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from gateway.clock import utc_now
from gateway.config import Config
from gateway.models import ConsentRecord, Contact, Grant, Property
from gateway.services import branding, consent, consent_pdf, mail_transport, outbox


def _body(config: Config, record: ConsentRecord, prop: Property, contact: Contact) -> str:
    at = record.at if record.at.tzinfo else record.at.replace(tzinfo=utc_now().tzinfo)
    agency = branding.get_branding(config).name
    widerruf = consent.text_version("widerruf", record.widerruf_version)
    agb = consent.text_version("agb", record.agb_version)
    lines = [
        f"Guten Tag {contact.name},",
        "",
        f"Sie haben am {at:%d.%m.%Y} um {at:%H:%M} Uhr (UTC) über Ihren persönlichen Link "
        f"zu den Unterlagen „{prop.title}“ folgende Erklärungen abgegeben:",
        "",
    ]
    for statement in consent.statements_of(record):
        lines += [f"[x] {statement['text']}", ""]
    lines += [
        "Diese E-Mail ist Ihre Bestätigung auf einem dauerhaften Datenträger. Unten finden "
        "Sie die Texte, denen Sie zugestimmt haben, im Wortlaut; die angehängte PDF-Datei "
        "enthält dieselben Texte zum Speichern und Ausdrucken.",
        "",
        "Mit freundlichen Grüßen",
        agency or "",
        "",
        f"===== Widerrufsbelehrung und Muster-Widerrufsformular (Fassung "
        f"{record.widerruf_version}, SHA-256 {record.widerruf_sha256}) =====",
        "",
        widerruf.body if widerruf else "",
        "",
    ]
    if agb is not None:
        lines += [
            f"===== Allgemeine Geschäftsbedingungen (Fassung {record.agb_version}, "
            f"SHA-256 {record.agb_sha256}) =====",
            "",
            agb.body,
            "",
        ]
    return "\n".join(lines)


def build_message(config: Config, record: ConsentRecord) -> EmailMessage:
    """The confirmation for ``record``, addressed to its contact."""
    grant = Grant.get_by_id(record.grant_id)
    prop, contact = grant.property, grant.contact
    agency = branding.get_branding(config).name
    sender = mail_transport.sender_address(config)
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = f"Ihre Bestätigung: Widerrufsbelehrung und Erklärungen – {prop.title}"
    message["From"] = formataddr((agency, sender)) if agency else sender
    message["To"] = formataddr((contact.name, contact.email))
    message["Date"] = format_datetime(utc_now())
    message["Message-ID"] = mail_transport.new_message_id(config)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_body(config, record, prop, contact))
    lang = record.language or "de"
    pdf = consent_pdf.consent_texts_pdf(
        consent.text_version("widerruf", record.widerruf_version),
        consent.text_version("agb", record.agb_version),
        lang=lang,
        agency=agency,
    )
    message.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=consent_pdf.filename(lang)
    )
    return message


#: The confirmations waiting to go out, delivered by ``outbox.MailWorker``.
QUEUE = outbox.MailQueue("confirmations", ConsentRecord, build_message)


def deliver(config: Config, record_id: int, now=None) -> str:
    """Try to send one record's confirmation now; return its new ``mail_state``."""
    return outbox.deliver(config, QUEUE, record_id, now)


def deliver_due(config: Config, now=None) -> int:
    """Send every confirmation that is due at ``now``; return how many were tried."""
    return outbox.deliver_due(config, QUEUE, now)
