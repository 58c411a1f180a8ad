"""Handing a finished e-mail to the agency's SMTP server: the one place that speaks SMTP.

Every mail immoshare sends (consent confirmations, invitations, notifications to
agents) is built by its own service and delivered through :func:`send`, which returns
the exact bytes handed over, so that their sha256 can be kept as evidence. Queueing
and retrying are the callers' business; this module only delivers or raises.
"""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from gateway.config import Config

SMTP_TIMEOUT = 30

#: What a failed delivery raises; callers retry on these.
DELIVERY_ERRORS = (OSError, smtplib.SMTPException, ValueError, IndexError)


def mail_configured(config: Config) -> bool:
    """True when mail can be sent at all: a server and a sender are set."""
    return bool(config.smtp_host and config.smtp_from)


def new_message_id(config: Config) -> str:
    """A fresh Message-ID in the sender's domain."""
    return make_msgid(domain=(config.smtp_from or "").rpartition("@")[2] or None)


def send(config: Config, message: EmailMessage) -> bytes:
    """Deliver ``message`` to every address in its ``To`` header; return the bytes sent.

    :raises DELIVERY_ERRORS: the server could not be reached or refused the mail.
    """
    data = message.as_bytes(policy=email.policy.SMTP)
    recipients = [address.addr_spec for address in message["To"].addresses]
    with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
        if config.smtp_tls:
            smtp.starttls(context=ssl.create_default_context())
        if config.smtp_user:
            smtp.login(config.smtp_user, config.smtp_password or "")
        smtp.sendmail(config.smtp_from, recipients, data)
    return data
