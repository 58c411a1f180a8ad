"""The consent confirmation e-mail: the contact's copy on a durable medium.

A page alone is weak evidence that the instruction reached the contact (BGH I ZR
169/19), so right after consent the contact gets the accepted texts and statements
by e-mail. Sending never blocks access: records are queued (``mail_state``
``pending``) and a worker thread delivers them, retrying with growing pauses. The
Message-ID and the sha256 of the exact bytes handed to the SMTP server are recorded.
"""

from __future__ import annotations

import email.policy
import hashlib
import threading
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from gateway.clock import utc_now
from gateway.config import Config
from gateway.db import database
from gateway.models import ConsentRecord, Contact, Grant, Property
from gateway.services import branding, consent, leases, mail_transport

# Pause after the 1st, 2nd, ... failed attempt; after the last one the state is
# "failed" and the agent sees it in `immoshare users`.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
# While one worker sends, the record is leased so no other process sends it too.
LEASE = timedelta(minutes=2)
DUE_STATES = ("pending", "retrying")


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
        "Sie die Texte, denen Sie zugestimmt haben, im Wortlaut.",
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
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = f"Ihre Bestätigung: Widerrufsbelehrung und Erklärungen – {prop.title}"
    message["From"] = formataddr((agency, config.smtp_from)) if agency else config.smtp_from
    message["To"] = formataddr((contact.name, contact.email))
    message["Date"] = format_datetime(utc_now())
    message["Message-ID"] = mail_transport.new_message_id(config)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_body(config, record, prop, contact))
    return message


def _claim(record_id: int, now) -> bool:
    """Lease a due record, so that of several processes only one sends it."""
    due = (ConsentRecord.id == record_id) & ConsentRecord.mail_state.in_(DUE_STATES)
    return (
        leases.claim(ConsentRecord, due, until=ConsentRecord.mail_next_at, now=now, lease=LEASE)
        == 1
    )


def deliver(config: Config, record_id: int, now=None) -> str:
    """Try to send one record's confirmation now; return its new ``mail_state``."""
    now = now or utc_now()
    if not _claim(record_id, now):
        return ConsentRecord.get_by_id(record_id).mail_state
    record = ConsentRecord.get_by_id(record_id)
    attempts = record.mail_attempts + 1
    try:
        message = build_message(config, record)
        data = mail_transport.send(config, message)
    except mail_transport.DELIVERY_ERRORS as exc:
        gave_up = attempts > len(RETRY_DELAYS)
        (
            ConsentRecord.update(
                mail_state="failed" if gave_up else "retrying",
                mail_attempts=attempts,
                mail_error=f"{type(exc).__name__}: {exc}"[:300],
                mail_next_at=None if gave_up else now + RETRY_DELAYS[attempts - 1],
            )
            .where(ConsentRecord.id == record_id)
            .execute()
        )
        return "failed" if gave_up else "retrying"
    (
        ConsentRecord.update(
            mail_state="sent",
            mail_attempts=attempts,
            mail_error=None,
            mail_next_at=None,
            mail_message_id=message["Message-ID"],
            mail_sha256=hashlib.sha256(data).hexdigest(),
        )
        .where(ConsentRecord.id == record_id)
        .execute()
    )
    return "sent"


def deliver_due(config: Config, now=None) -> int:
    """Send every confirmation that is due at ``now``; return how many were tried."""
    now = now or utc_now()
    due = [
        r.id
        for r in ConsentRecord.select(ConsentRecord.id)
        .where(ConsentRecord.mail_state.in_(DUE_STATES) & (ConsentRecord.mail_next_at <= now))
        .order_by(ConsentRecord.mail_next_at)
    ]
    for record_id in due:
        deliver(config, record_id, now)
    return len(due)


def next_due():
    """When the next queued confirmation is due, or None when nothing is queued."""
    row = (
        ConsentRecord.select(ConsentRecord.mail_next_at)
        .where(ConsentRecord.mail_state.in_(DUE_STATES))
        .order_by(ConsentRecord.mail_next_at)
        .first()
    )
    return row.mail_next_at if row else None


def _target() -> tuple[str, str]:
    """Which database is open (kind and name), however often it was reopened."""
    return type(database.obj).__name__, str(database.obj.database)


class ConfirmationWorker:
    """A thread that runs while confirmations are queued and ends when none are.

    ``kick()`` after each consent (and once at start, to resume after a restart).
    The worker ends too when another database has been opened in this process.
    """

    def __init__(self, config: Config):
        self.config = config
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._database = _target()

    def kick(self) -> None:
        if not mail_transport.mail_configured(self.config):
            return
        with self._lock:
            self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="immoshare-mail", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while _target() == self._database:
            self._wake.clear()
            with database.connection_context():
                deliver_due(self.config)
                due = next_due()
            if due is None:
                with self._lock:
                    if not self._wake.is_set():
                        self._thread = None
                        return
                continue
            if due.tzinfo is None:
                due = due.replace(tzinfo=utc_now().tzinfo)
            self._wake.wait(max(0.0, (due - utc_now()).total_seconds()))
