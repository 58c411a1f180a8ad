"""The invitation: the mail that brings a contact their personal link.

``immoshare grant --send`` (and the provisioning API's ``"send": true``) mail the
contact the link, the property's title, the expiry date if any and how to reach the
agency, German first, then English. Each invitation is an ``OutboxMail`` row,
delivered and retried like the consent confirmation (``outbox``), recorded with its
Message-ID and the sha256 of the bytes sent; ``immoshare users`` shows its state.
The link itself is never stored: the mail is built again at each attempt.
"""

from __future__ import annotations

import email.policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from gateway.clock import utc_now
from gateway.config import Config
from gateway.db import database
from gateway.errors import AccessDenied, InvalidInput
from gateway.models import Contact, Grant, OutboxMail
from gateway.services import branding, durable_medium, grants, mail_transport, outbox

KIND = outbox.INVITATION


def _build(config: Config, row: OutboxMail) -> EmailMessage:
    return build_message(config, row.grant, row.recipient)


#: Invitations waiting to go out, delivered by ``outbox.MailWorker``.
QUEUE = outbox.MailQueue("invitations", OutboxMail, _build)


def _body(config: Config, grant: Grant, agency: str | None) -> str:
    prop, contact = grant.property, grant.contact
    link = grants.personal_link(config, grant)
    sender = mail_transport.sender_address(config)
    de_until = en_until = ""
    if grant.expires is not None:
        de_until = f"Der Link gilt bis einschließlich {grant.expires:%d.%m.%Y}.\n"
        en_until = f"The link works until {grant.expires:%d %B %Y} inclusive.\n"
    signature = f"{agency}\n{sender}" if agency else sender
    return (
        f"Guten Tag {contact.name},\n\n"
        f"Ihre Unterlagen zu „{prop.title}“ stehen für Sie bereit. Ihr persönlicher Link:\n\n"
        f"{link}\n\n"
        f"{de_until}"
        "Der Link ist nur für Sie bestimmt; bitte geben Sie ihn nicht weiter.\n"
        f"Bei Fragen antworten Sie einfach auf diese E-Mail ({sender}).\n\n"
        f"Mit freundlichen Grüßen\n{signature}\n\n"
        "----- English -----\n\n"
        f"Hello {contact.name},\n\n"
        f"your documents for “{prop.title}” are ready. Your personal link:\n\n"
        f"{link}\n\n"
        f"{en_until}"
        "The link is for you only; please do not pass it on.\n"
        f"If you have any questions, simply reply to this e-mail ({sender}).\n\n"
        f"Kind regards\n{signature}\n"
    )


def build_message(config: Config, grant: Grant, recipient: str) -> EmailMessage:
    """The invitation for ``grant``, addressed to ``recipient``."""
    agency = branding.get_branding(config).name
    sender = mail_transport.sender_address(config)
    title = grant.property.title
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = f"Ihre Unterlagen: {title} / Your documents"
    message["From"] = formataddr((agency, sender)) if agency else sender
    message["To"] = formataddr((grant.contact.name, recipient))
    message["Date"] = format_datetime(utc_now())
    message["Message-ID"] = mail_transport.new_message_id(config)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_body(config, grant, agency))
    return message


def require_invitable(config: Config, contact: Contact) -> None:
    """Check that an invitation to ``contact`` can be mailed, before anything changes.

    :raises InvalidInput: no mail is set up, or the contact has no address.
    """
    blocker = durable_medium.mail_blocker(config, contact)
    if blocker == durable_medium.MAIL_NOT_CONFIGURED:
        raise InvalidInput(
            "invitations are mailed, but no mail is set up — set smtp_host, smtp_port and "
            "smtp_from (or mail_dir) in immoshare.yaml"
        )
    if blocker == durable_medium.NO_ADDRESS:
        raise InvalidInput(
            f"contact '{contact.ref}' has no e-mail address for the invitation — add it "
            f"with `immoshare contact set {contact.ref} --email ADDRESS`"
        )


def queue_invitation(config: Config, grant: Grant) -> OutboxMail:
    """Queue an invitation for ``grant`` and wake this process's mail worker.

    :raises InvalidInput: no mail is set up, or the contact has no address.
    :raises AccessDenied: the grant is revoked or expired: its link would not work.
    """
    require_invitable(config, grant.contact)
    problem = grants.grant_problem(grant)
    if problem is not None:
        raise AccessDenied(f"no invitation: {problem}")
    now = utc_now()
    with database.atomic():
        row = OutboxMail.create(
            kind=KIND,
            grant=grant,
            recipient=grant.contact.email,
            created_at=now,
            mail_state=outbox.PENDING,
            mail_next_at=now,
        )
    return row


def send_invitation(config: Config, grant: Grant) -> OutboxMail:
    """Queue an invitation for ``grant`` and get it on its way: a running mail worker
    of this process (the server) sends it; without one (the CLI) it is sent at once.
    A failed attempt stays queued and is retried by the server's worker. Returns the
    row as it stands.

    :raises InvalidInput: no mail is set up, or the contact has no address.
    :raises AccessDenied: the grant is revoked or expired.
    """
    row = queue_invitation(config, grant)
    if not outbox.wake_workers():
        outbox.deliver(config, QUEUE, row.id)
    return OutboxMail.get_by_id(row.id)
