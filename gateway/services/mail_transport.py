"""Handing a finished e-mail to the agency's SMTP server: the one place that speaks SMTP.

Every mail immoshare sends (consent confirmations, invitations, notifications to
agents) is built by its own service and delivered through :func:`send`, which returns
the exact bytes handed over, so that their sha256 can be kept as evidence. Queueing
and retrying are the callers' business (``gateway.services.outbox``); this module
only delivers or raises.

Instead of an SMTP server, the setting ``mail_dir`` names a pickup folder: each mail
is written there as one ``.eml`` file, which any mail program opens. ``immoshare
demo`` uses it, so that a newcomer sees every mail without a mail server.
"""

from __future__ import annotations

import email.policy
import os
import secrets
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from gateway.clock import utc_now
from gateway.config import Config

SMTP_TIMEOUT = 30

#: What a failed delivery raises; callers retry on these.
DELIVERY_ERRORS = (OSError, smtplib.SMTPException, ValueError, IndexError)


#: The sender when only a pickup folder is set (``mail_dir`` without ``smtp_from``).
LOCAL_SENDER = "immoshare@localhost"


def mail_configured(config: Config) -> bool:
    """True when mail can be sent at all: a server and a sender, or a pickup folder."""
    return bool(config.mail_dir) or bool(config.smtp_host and config.smtp_from)


def pickup_folder(config: Config) -> Path | None:
    """The folder mails are written to instead of sent (``mail_dir``), or None.
    A relative path counts from the home."""
    if not config.mail_dir:
        return None
    return config.home / Path(config.mail_dir).expanduser()


def sender_address(config: Config) -> str:
    """The envelope and ``From`` address of every mail."""
    return config.smtp_from or LOCAL_SENDER


def new_message_id(config: Config) -> str:
    """A fresh Message-ID in the sender's domain."""
    return make_msgid(domain=sender_address(config).rpartition("@")[2] or None)


def send(config: Config, message: EmailMessage) -> bytes:
    """Deliver ``message`` to every address in its ``To`` header; return the bytes sent.

    :raises DELIVERY_ERRORS: the server could not be reached or refused the mail.
    """
    data = message.as_bytes(policy=email.policy.SMTP)
    recipients = [address.addr_spec for address in message["To"].addresses]
    folder = pickup_folder(config)
    if folder is not None:
        _write_pickup(folder, data)
        return data
    with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
        if config.smtp_tls:
            smtp.starttls(context=ssl.create_default_context())
        if config.smtp_user:
            smtp.login(config.smtp_user, config.smtp_password or "")
        smtp.sendmail(config.smtp_from, recipients, data)
    return data


def _write_pickup(folder: Path, data: bytes) -> Path:
    """Write one mail into the pickup folder, complete or not at all: a mail program
    watching the folder never sees half a message."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{utc_now():%Y%m%dT%H%M%S.%f}-{secrets.token_hex(4)}.eml"
    partial = folder / f".{name}.part"
    with open(partial, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    target = folder / name
    os.replace(partial, target)
    return target
